/**
 * The audit log on both databases (SQLite embedded default and a throw-away PostgreSQL database):
 * an event for each action with the right outcome, a hash chain that verifies, names the row
 * someone modified or the row after one someone deleted, survives two replicas writing at once, and
 * still verifies after retention pruned its beginning.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EventEmitter2 } from '@nestjs/event-emitter';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { DomainEvents } from '../../src/common/events/domain-events';
import { anchorHash, GENESIS_HASH } from '../../src/modules/audit/audit-hash';
import { AuditWriter } from '../../src/modules/audit/audit-writer.service';
import { AuditService } from '../../src/modules/audit/audit.service';
import { createPgDatabase, startApp, type TestApp } from '../e2e/security-harness';

const ENV_KEY = 'audit-chain-admin-key-0123456789abcdef';
type Driver = 'sqlite' | 'postgres';

interface Env {
  database: Record<string, unknown>;
  dir: string;
  drop(): Promise<void>;
}

/** A fresh database (and working dir) per case: tampering in one case cannot leak into another. */
async function freshEnv(driver: Driver): Promise<Env | null> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-audit-'));
  if (driver === 'sqlite') {
    return { database: {}, dir, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const db = await createPgDatabase();
  if (!db) return null;
  return {
    database: { url: db.url },
    dir,
    drop: async () => {
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Raw SQL with `?` placeholders on both drivers (PostgreSQL wants `$n`). */
function q(
  driver: Driver,
  ds: DataSource,
  text: string,
  params: unknown[] = [],
): Promise<Array<Record<string, unknown>>> {
  let n = 0;
  return ds.query(driver === 'postgres' ? text.replace(/\?/g, () => `$${++n}`) : text, params);
}

describe.each(['sqlite', 'postgres'] as const)('Audit chain (%s)', (driver) => {
  let env: Env | null;
  let t: TestApp | null = null;
  let extra: TestApp | null = null;

  beforeEach(async () => {
    env = await freshEnv(driver);
    t = env ? await startApp({ api_key: ENV_KEY, database: env.database }, env.dir) : null;
  });
  afterEach(async () => {
    await extra?.close();
    extra = null;
    await t?.close();
    await env?.drop();
  });

  it('writes an event for each action with the right outcome', async () => {
    if (!t) return;
    const created = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', ENV_KEY)
      .send({ name: 'u' });
    await request(t.server).get('/v1/admin/audit').set('X-API-KEY', created.body.key); // 403
    await request(t.server).delete(`/v1/admin/api-keys/${created.body.id}`).set('X-API-KEY', ENV_KEY);
    await request(t.server).get('/v1/auth/me').set('X-API-KEY', created.body.key); // revoked → 401
    const events = t.app.get(EventEmitter2);
    const principal = { id: 'apikey:0123456789abcdef', role: 'user' as const, method: 'api-key' as const };
    events.emit(DomainEvents.SeparationQueued, {
      jobId: 'job-1',
      principal,
      model: 'builtin:center',
      audioSeconds: 12.5,
    });
    events.emit(DomainEvents.SeparationSucceeded, {
      jobId: 'job-1',
      principal,
      model: 'builtin:center',
      durationMs: 812,
    });
    events.emit(DomainEvents.SeparationFailed, {
      jobId: 'job-2',
      principal,
      model: 'x',
      errorCode: 'CORRUPT_AUDIO',
    });
    events.emit(DomainEvents.ModelInstalled, {
      name: 'spleeter:2stems',
      version: '1',
      principal: { ...principal, role: 'admin' },
    });
    events.emit(DomainEvents.ModelInstallFailed, { name: 'mdx', errorCode: 'MODEL_CHECKSUM_MISMATCH' });
    events.emit(DomainEvents.CacheCleared, { tier: 'all' });
    events.emit(DomainEvents.SeparationProgress, { jobId: 'job-1', model: 'm', progress: 0.5 }); // not audited

    const audit = t.app.get(AuditService);
    expect((await audit.verify()).valid).toBe(true);
    const rows = await q(
      driver,
      t.app.get(DataSource),
      'SELECT action, outcome, http_status, resource_id, principal_id FROM audit_events ORDER BY id',
    );
    const has = (action: string, outcome: string, extra: Record<string, unknown> = {}) =>
      expect(rows).toContainEqual(expect.objectContaining({ action, outcome, ...extra }));
    has('apikey.create', 'success', { http_status: 201, resource_id: created.body.id });
    has('apikey.created', 'success', { resource_id: created.body.id, principal_id: 'apikey:env' });
    has('audit.query', 'denied', { http_status: 403, principal_id: `apikey:${created.body.id}` });
    has('apikey.revoke', 'success', { http_status: 200 });
    has('apikey.revoked', 'success');
    has('auth.failed', 'denied', { resource_id: created.body.id });
    has('auth.whoami', 'denied', { http_status: 401, principal_id: null });
    has('separation.queued', 'success', { resource_id: 'job-1', principal_id: principal.id });
    has('separation.succeeded', 'success', { resource_id: 'job-1' });
    has('separation.failed', 'failure', { resource_id: 'job-2' });
    has('model.installed', 'success', { resource_id: 'spleeter:2stems' });
    has('model.install.failed', 'failure', { resource_id: 'mdx' });
    has('cache.cleared', 'success');
    expect(rows.some((r) => r.action === 'separation.progress')).toBe(false);
  });

  it('verifies, then names a modified row and the row after a deleted one', async () => {
    if (!t) return;
    const writer = t.app.get(AuditWriter);
    for (let i = 0; i < 30; i++) writer.record({ action: 'test.event', outcome: 'success', details: { i } });
    const audit = t.app.get(AuditService);
    const ok = await audit.verify();
    expect(ok).toMatchObject({ valid: true, checkedEvents: 30, brokenAt: null });
    const ds = t.app.get(DataSource);
    const [victim] = await q(
      driver,
      ds,
      'SELECT id, details FROM audit_events WHERE details LIKE \'%"i":17%\'',
    );
    const id = Number(victim.id);

    await q(driver, ds, 'UPDATE audit_events SET outcome = ? WHERE id = ?', ['failure', id]);
    const modified = await audit.verify();
    expect(modified.valid).toBe(false);
    expect(modified.brokenAt).toMatchObject({ id, reason: 'hash_mismatch' });

    await q(driver, ds, 'UPDATE audit_events SET outcome = ? WHERE id = ?', ['success', id]);
    expect((await audit.verify()).valid).toBe(true);

    // Editing details and re-hashing the row does not help: the next row still points at the old hash.
    await q(driver, ds, 'DELETE FROM audit_events WHERE id = ?', [id]);
    const deleted = await audit.verify();
    expect(deleted.brokenAt).toMatchObject({ reason: 'prev_hash_mismatch' });
    expect(deleted.brokenAt!.id).toBeGreaterThan(id);
    const [next] = await q(driver, ds, 'SELECT MIN(id) AS id FROM audit_events WHERE id > ?', [id]);
    expect(deleted.brokenAt!.id).toBe(Number(next.id));
  });

  it('keeps one unbroken chain when two replicas write at the same time', async () => {
    if (!t || !env) return;
    extra = await startApp({ api_key: ENV_KEY, database: env.database }, env.dir);
    const writers = [t.app.get(AuditWriter), extra.app.get(AuditWriter)];
    const started = Date.now();
    await Promise.all(
      writers.map(async (w, n) => {
        for (let round = 0; round < 10; round++) {
          for (let i = 0; i < 40; i++)
            w.record({ action: 'test.replica', outcome: 'success', details: { n, round, i } });
          await w.flush();
        }
      }),
    );
    const elapsed = Date.now() - started;
    const report = await t.app.get(AuditService).verify();
    expect(report).toMatchObject({ valid: true, checkedEvents: 800 });
    process.stderr.write(
      `[audit ${driver}] 800 events from 2 replicas in ${elapsed} ms; verify ${report.durationMs} ms\n`,
    );
  });

  it('prunes a prefix for retention and still verifies from the anchor; a forged anchor is caught', async () => {
    if (!t) return;
    const writer = t.app.get(AuditWriter);
    const old = new Date(Date.now() - 10 * 86400_000);
    for (let i = 0; i < 20; i++)
      writer.record({ action: 'test.old', outcome: 'success', occurredAt: old, details: { i } });
    await writer.flush();
    for (let i = 0; i < 5; i++) writer.record({ action: 'test.new', outcome: 'success', details: { i } });
    const audit = t.app.get(AuditService);
    const pruned = await audit.prune(5);
    expect(pruned.deleted).toBe(20);
    const report = await audit.verify();
    expect(report).toMatchObject({
      valid: true,
      checkedEvents: 6,
      anchor: { lastDeletedId: 20, deletedCount: 20 },
    });
    const ds = t.app.get(DataSource);
    const prune = await q(driver, ds, "SELECT details FROM audit_events WHERE action = 'audit.prune'");
    expect(JSON.parse(String(prune[0].details))).toMatchObject({
      deleted: 20,
      anchorHash: pruned.anchor!.hash,
    });
    // Nothing left to prune: a second run is a no-op.
    expect((await audit.prune(5)).deleted).toBe(0);

    await q(driver, ds, 'UPDATE audit_anchors SET deleted_count = 3');
    expect((await audit.verify()).brokenAt).toMatchObject({ reason: 'anchor_hash_mismatch' });
    await q(driver, ds, 'UPDATE audit_anchors SET deleted_count = 20');
    expect((await audit.verify()).valid).toBe(true);
  });

  it('catches events deleted outside retention behind a self-made anchor', async () => {
    if (!t) return;
    const writer = t.app.get(AuditWriter);
    for (let i = 0; i < 10; i++) writer.record({ action: 'test.event', outcome: 'success', details: { i } });
    const audit = t.app.get(AuditService);
    expect((await audit.verify()).valid).toBe(true);
    const ds = t.app.get(DataSource);
    const [third] = await q(driver, ds, 'SELECT id, hash FROM audit_events ORDER BY id LIMIT 1 OFFSET 2');
    await q(driver, ds, 'DELETE FROM audit_events WHERE id <= ?', [Number(third.id)]);
    const content = {
      createdAt: new Date().toISOString(),
      lastDeletedId: Number(third.id),
      lastDeletedHash: String(third.hash),
      deletedCount: 3,
    };
    await q(
      driver,
      ds,
      'INSERT INTO audit_anchors (created_at, last_deleted_id, last_deleted_hash, deleted_count, prev_anchor_hash, hash) VALUES (?, ?, ?, ?, ?, ?)',
      [
        content.createdAt,
        content.lastDeletedId,
        content.lastDeletedHash,
        3,
        GENESIS_HASH,
        anchorHash(GENESIS_HASH, content),
      ],
    );
    const report = await audit.verify();
    expect(report.valid).toBe(false);
    expect(report.brokenAt).toMatchObject({ reason: 'anchor_unreferenced' });
  });
});
