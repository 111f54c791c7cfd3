/**
 * Issue 10 item 6, cluster faults, as real processes (the API entry, src/main.ts): with Redis
 * unreachable SIGTERM still ends the process within server.shutdown_timeout_s, and with PostgreSQL
 * unreachable at start every retry is one JSON line and the last error names database.url with
 * the password masked. "Unreachable" is a port with nothing listening; the shared Redis and
 * PostgreSQL are never touched.
 */
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { makeTempDir } from '../factories/audio';
import { parseJsonLines } from '../support/json-lines';

jest.setTimeout(150_000);

const ROOT = path.resolve(__dirname, '..', '..');

interface Running {
  lines: () => string[];
  kill: (signal: NodeJS.Signals) => void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function startMain(env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', path.join('src', 'main.ts')], {
    cwd: ROOT,
    env: { ...process.env, SPLEETER_ENV: 'production', SPLEETER_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 140_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, at: Date.now() });
      });
    },
  );
  return {
    lines: () => out.split('\n').filter((l) => l.trim() !== ''),
    kill: (signal) => child.kill(signal),
    exited,
  };
}

const parsed = parseJsonLines;

const text = (r: Record<string, unknown>) => String(r.msg ?? r.message ?? '');

async function until(what: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!what()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('dependency faults, real processes (e2e)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('dependency-faults-');
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const dataEnv = (name: string): NodeJS.ProcessEnv => ({
    SPLEETER_STORAGE_DIR: path.join(dir, name, 'storage'),
    SPLEETER_CACHE_DIR: path.join(dir, name, 'cache'),
    SPLEETER_MODELS_DIR: path.join(dir, name, 'models'),
    SPLEETER_SQLITE_PATH: path.join(dir, name, 'db.sqlite'),
    SPLEETER_PORT: '0',
    SPLEETER_HOST: '127.0.0.1',
  });

  it('Redis unreachable: a few JSON lines about it, and SIGTERM exits within shutdown_timeout_s', async () => {
    const shutdownTimeoutS = 3;
    const p = startMain({
      ...dataEnv('redis-down'),
      SPLEETER_API_KEY: 'test-key-0123456789abcdef0123456789',
      SPLEETER_QUEUE_DRIVER: 'redis',
      SPLEETER_REDIS_URL: 'redis://127.0.0.1:1',
      SPLEETER_SERVER__SHUTDOWN_TIMEOUT_S: String(shutdownTimeoutS),
    });
    await until(() => p.lines().some((l) => l.includes('listening on')), 120_000);
    // Several reconnect attempts (≤ 2 s apart) happen while it runs.
    await new Promise((r) => setTimeout(r, 5000));
    const signalledAt = Date.now();
    p.kill('SIGTERM');
    const res = await p.exited;
    const exitMs = res.at - signalledAt;
    process.stderr.write(
      `SIGTERM with Redis unreachable: exited in ${exitMs} ms (${res.code ?? res.signal})\n`,
    );
    expect(exitMs).toBeLessThan(shutdownTimeoutS * 1000);
    // Nest closes the app and re-raises the signal: a clean exit is "killed by SIGTERM" (or 0).
    expect(res.code === 0 || res.signal === 'SIGTERM').toBe(true);
    const records = parsed(p.lines());
    // One line from each client that uses Redis (queue, shared client, rate limiter, cache tier)
    // when it goes down, none per reconnect attempt: the same line never repeats.
    const redis = records.filter((r) => r.context !== 'InstanceLoader' && /redis/i.test(text(r))).map(text);
    expect(redis.length).toBeGreaterThanOrEqual(1);
    expect(redis.length).toBeLessThanOrEqual(5);
    expect(new Set(redis.map((m) => m.replace(/\d+/g, '#'))).size).toBe(redis.length);
    expect(records.some((r) => typeof r.stack === 'string' || /\n\s+at /.test(text(r)))).toBe(false);
  });

  it('PostgreSQL unreachable at start: one JSON line per retry, a clear final error, exit 1', async () => {
    const started = Date.now();
    const p = startMain({
      ...dataEnv('pg-down'),
      SPLEETER_QUEUE_DRIVER: 'memory',
      SPLEETER_DATABASE_URL: 'postgres://spleeter:s3cret-pw@127.0.0.1:1/test',
      SPLEETER_DATABASE__CONNECT_RETRIES: '3',
      SPLEETER_DATABASE__CONNECT_RETRY_DELAY_S: '0.5',
    });
    const res = await p.exited;
    const elapsed = Date.now() - started;
    expect(res.code).toBe(1);
    expect(elapsed).toBeLessThan(30_000);
    const all = p.lines();
    expect(all.join('\n')).not.toContain('s3cret-pw');
    const records = parsed(all);
    const retries = records.filter((r) => r.context === 'Database' && /not reachable/.test(text(r)));
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3]);
    const fatal = records.filter((r) => r.level === 60);
    expect(fatal).toHaveLength(1);
    expect(text(fatal[0])).toContain('database.url=postgres://spleeter:***@127.0.0.1:1/test');
    expect(text(fatal[0])).toContain('after 4 attempt(s)');
  });
});
