/**
 * First run of the embedded default: with no admin credential configured, one bootstrap admin key
 * is created, printed once to stdout (never the log stream) and stored only as a hash; restarts
 * print nothing. `security.auth_enabled=false` is an explicit, loudly warned opt-out.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { Logger } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { startApp, type TestApp } from './security-harness';

function captureStdout(): { text: () => string; restore: () => void } {
  const chunks: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    chunks.push(String(chunk));
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  return { text: () => chunks.join(''), restore: () => (process.stdout.write = original) };
}

describe('First-run bootstrap key', () => {
  let dir: string;
  let t: TestApp | null = null;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-boot-'));
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates one admin key, prints it once, stores only its hash, and prints nothing on restart', async () => {
    const out = captureStdout();
    try {
      t = await startApp({}, dir);
    } finally {
      out.restore();
    }
    const matches = out.text().match(/X-API-KEY: (spl_[0-9a-f]{16}_[A-Za-z0-9_-]{43})/g) ?? [];
    expect(matches).toHaveLength(1);
    const key = matches[0]!.slice('X-API-KEY: '.length);
    // Not a JSON log line: log shippers parse those; the banner is plain text.
    const line = out
      .text()
      .split('\n')
      .find((l) => l.includes(key))!;
    expect(() => JSON.parse(line)).toThrow();

    const me = await request(t.server).get('/v1/auth/me').set('X-API-KEY', key);
    expect(me.body).toMatchObject({ role: 'admin', method: 'api-key' });
    const rows = await t.app.get(DataSource).query('SELECT id, name, role, secret_hash FROM api_keys');
    expect(rows).toEqual([
      {
        id: key.slice(4, 20),
        name: 'bootstrap',
        role: 'admin',
        secret_hash: createHash('sha256').update(key).digest('hex'),
      },
    ]);
    expect((await request(t.server).get('/v1/auth/me')).status).toBe(401);
    await t.close();

    const again = captureStdout();
    try {
      t = await startApp({}, dir);
    } finally {
      again.restore();
    }
    expect(again.text()).not.toContain('X-API-KEY: spl_');
    expect((await request(t.server).get('/v1/auth/me').set('X-API-KEY', key)).status).toBe(200);
    expect(await t.app.get(DataSource).query('SELECT COUNT(*) AS n FROM api_keys')).toEqual([{ n: 1 }]);
  });

  it('creates no bootstrap key when SPLEETER_API_KEY or JWT is configured', async () => {
    const out = captureStdout();
    let other: TestApp | null = null;
    try {
      other = await startApp({ api_key: 'configured-admin-key-0123456789' });
    } finally {
      out.restore();
    }
    expect(out.text()).not.toContain('X-API-KEY: spl_');
    expect(await other.app.get(DataSource).query('SELECT COUNT(*) AS n FROM api_keys')).toEqual([{ n: 0 }]);
    await other.close();
  });
});

describe('security.auth_enabled=false', () => {
  it('makes every caller the anonymous admin, with a loud warning', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const t = await startApp({ security: { auth_enabled: false } });
    try {
      expect(warn.mock.calls.some(([m]) => String(m).includes('AUTHENTICATION IS DISABLED'))).toBe(true);
      const me = await request(t.server).get('/v1/auth/me');
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: 'anonymous', role: 'admin', method: 'anonymous' });
      expect((await request(t.server).get('/v1/admin/api-keys')).status).toBe(200);
      expect(await t.app.get(DataSource).query('SELECT COUNT(*) AS n FROM api_keys')).toEqual([{ n: 0 }]);
    } finally {
      warn.mockRestore();
      await t.close();
    }
  });
});
