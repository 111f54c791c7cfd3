/**
 * The audit log when the database goes away (real PostgreSQL, a throw-away database per case):
 * connections killed mid-run and new ones refused for a while; events recorded meanwhile are kept
 * in order and land once it is back; a full buffer drops (counted, logged, and recorded as
 * `audit.events_dropped`); a shutdown during the outage spools to disk and the next start writes
 * the spool. The chain verifies at the end every time.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuditMetrics } from '../../src/modules/audit/audit-metrics';
import { AuditSpool } from '../../src/modules/audit/audit-spool';
import { AuditWriter } from '../../src/modules/audit/audit-writer.service';
import { AuditService } from '../../src/modules/audit/audit.service';
import { PG_TEST_URL } from '../factories/app';
import { createPgDatabase, eventually, startApp, type TestApp } from '../e2e/security-harness';

const ENV_KEY = 'audit-outage-admin-key-0123456789abcdef';
jest.setTimeout(60_000);

/** Superuser connection to the maintenance database, used to take the test database down and up. */
async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: PG_TEST_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function takeDown(db: string): Promise<number> {
  return admin(async (c) => {
    await c.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
    const r = await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [db],
    );
    return r.rowCount ?? 0;
  });
}

async function bringUp(db: string): Promise<void> {
  await admin((c) => c.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`));
}

async function countMarked(t: TestApp, marker: string): Promise<number> {
  const [row] = await t.app
    .get(DataSource)
    .query('SELECT COUNT(*) AS n FROM audit_events WHERE details LIKE $1', [`%${marker}%`]);
  return Number(row.n);
}

describe('Audit during a PostgreSQL outage', () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  let dir: string;
  const apps: TestApp[] = [];

  beforeEach(async () => {
    db = await createPgDatabase();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-outage-'));
  });
  afterEach(async () => {
    if (db) await bringUp(db.name).catch(() => undefined);
    while (apps.length)
      await apps
        .pop()!
        .close()
        .catch(() => undefined);
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = async (extra: Record<string, unknown> = {}) => {
    const t = await startApp({ api_key: ENV_KEY, database: { url: db!.url }, ...extra }, dir);
    apps.push(t);
    return t;
  };

  it('keeps events recorded while connections are killed and refused, and writes them once it is back', async () => {
    if (!db) return;
    const t = await start();
    const writer = t.app.get(AuditWriter);
    for (let i = 0; i < 20; i++)
      writer.record({ action: 'test.before', outcome: 'success', details: { marker: 'before', i } });
    expect(await writer.flush()).toBe(true);

    const killed = await takeDown(db.name);
    expect(killed).toBeGreaterThan(0);
    const outageStarted = Date.now();
    for (let i = 0; i < 50; i++)
      writer.record({ action: 'test.during', outcome: 'success', details: { marker: 'during', i } });
    // Requests keep being audited too (401s need no database).
    for (let i = 0; i < 5; i++) expect((await request(t.server).get('/v1/auth/me')).status).toBe(401);
    expect(await writer.flush()).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(writer.pending).toBeGreaterThanOrEqual(60); // 50 + 5 × (http + auth.failed)

    await bringUp(db.name);
    await eventually(async () => writer.pending === 0, 40_000, 100);
    const recoveredMs = Date.now() - outageStarted;
    expect(await countMarked(t, '"marker":"during"')).toBe(50);
    const report = await t.app.get(AuditService).verify();
    expect(report.valid).toBe(true);
    // Order kept: the 'during' events follow the 'before' ones, in recording order.
    const rows = await t.app
      .get(DataSource)
      .query("SELECT details FROM audit_events WHERE action = 'test.during' ORDER BY id");
    expect(rows.map((r: { details: string }) => JSON.parse(r.details).i)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    process.stderr.write(
      `[audit outage] 50 buffered events written ${recoveredMs} ms after the outage began\n`,
    );
  });

  it('drops past audit.buffer_size with a metric, a log line and an audit.events_dropped record', async () => {
    if (!db) return;
    const t = await start({ audit: { buffer_size: 10, flush_interval_ms: 50 } });
    const writer = t.app.get(AuditWriter);
    const dropped = t.app.get(AuditMetrics).dropped;
    const before = (await dropped.get()).values[0]?.value ?? 0;
    await takeDown(db.name);
    for (let i = 0; i < 25; i++) writer.record({ action: 'test.flood', outcome: 'success', details: { i } });
    expect(writer.pending).toBe(10);
    expect(((await dropped.get()).values[0]?.value ?? 0) - before).toBe(15);
    await bringUp(db.name);
    await eventually(async () => writer.pending === 0, 40_000, 100);
    const [row] = await t.app
      .get(DataSource)
      .query("SELECT details, outcome FROM audit_events WHERE action = 'audit.events_dropped'");
    expect(row.outcome).toBe('failure');
    expect(JSON.parse(row.details)).toMatchObject({ count: 15 });
    expect((await t.app.get(AuditService).verify()).valid).toBe(true);
  });

  it('spools to disk when shut down during the outage and writes the spool at the next start', async () => {
    if (!db) return;
    const t = await start();
    const writer = t.app.get(AuditWriter);
    const spoolDir = t.app.get(AuditSpool).dir;
    await takeDown(db.name);
    for (let i = 0; i < 30; i++)
      writer.record({ action: 'test.spooled', outcome: 'success', details: { marker: 'spooled', i } });
    apps.pop();
    await t.close();
    const files = fs.readdirSync(spoolDir).filter((f) => f.endsWith('.ndjson'));
    expect(files).toHaveLength(1);
    expect(fs.statSync(path.join(spoolDir, files[0])).mode & 0o077).toBe(0);

    await bringUp(db.name);
    const next = await start();
    await eventually(async () => (await countMarked(next, '"marker":"spooled"')) === 30, 20_000, 100);
    await eventually(async () => fs.readdirSync(spoolDir).length === 0, 5_000, 50);
    expect((await next.app.get(AuditService).verify()).valid).toBe(true);
  });
});
