/**
 * The admin audit API over HTTP, on SQLite and PostgreSQL: filters, cursor pagination, NDJSON
 * export, and the verify endpoint naming a row modified directly in the database.
 */
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createPgDatabase, startApp, type TestApp } from './security-harness';

const ENV_KEY = 'audit-e2e-admin-key-0123456789abcdef';

describe.each(['sqlite', 'postgres'] as const)('Audit API (e2e, %s)', (driver) => {
  let t: TestApp | null = null;
  let drop: (() => Promise<void>) | null = null;
  let userId: string;
  const admin = () => ({ 'X-API-KEY': ENV_KEY });

  beforeAll(async () => {
    let database: Record<string, unknown> = {};
    if (driver === 'postgres') {
      const db = await createPgDatabase();
      if (!db) return;
      drop = db.drop;
      database = { url: db.url };
    }
    t = await startApp({ api_key: ENV_KEY, database });
    const user = await request(t.server).post('/v1/admin/api-keys').set(admin()).send({ name: 'u' });
    userId = user.body.id;
    for (let i = 0; i < 3; i++)
      await request(t.server).get('/v1/admin/api-keys').set('X-API-KEY', user.body.key); // 403
    for (let i = 0; i < 4; i++) await request(t.server).get('/v1/auth/me'); // 401
    await request(t.server).delete(`/v1/admin/api-keys/${userId}`).set(admin());
  });
  afterAll(async () => {
    await t?.close();
    await drop?.();
  });

  const get = (url: string) => request(t!.server).get(url).set(admin());

  it('filters by principal, action prefix, outcome, resource and time range', async () => {
    if (!t) return;
    await get('/v1/admin/audit/verify'); // flushes
    const denied = await get(`/v1/admin/audit?outcome=denied&principal=apikey:${userId}`);
    expect(denied.status).toBe(200);
    expect(denied.body.items).toHaveLength(3);
    expect(
      denied.body.items.every(
        (e: { httpStatus: number; action: string }) => e.httpStatus === 403 && e.action === 'apikey.list',
      ),
    ).toBe(true);

    const keys = await get('/v1/admin/audit?action=apikey.*');
    const actions = new Set(keys.body.items.map((e: { action: string }) => e.action));
    expect([...actions].sort()).toEqual([
      'apikey.create',
      'apikey.created',
      'apikey.list',
      'apikey.revoke',
      'apikey.revoked',
    ]);

    const resource = await get(
      `/v1/admin/audit?resourceType=apikey&resourceId=${userId}&action=apikey.revoked`,
    );
    expect(resource.body.items).toHaveLength(1);
    expect(resource.body.items[0]).toMatchObject({
      principalId: 'apikey:env',
      outcome: 'success',
      details: { name: 'u', role: 'user' },
    });

    const future = await get(
      `/v1/admin/audit?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(future.body.items).toEqual([]);
    const past = await get(
      `/v1/admin/audit?to=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`,
    );
    expect(past.body.items).toEqual([]);
    const failed = await get('/v1/admin/audit?action=auth.failed');
    expect(failed.body.items).toHaveLength(4);
    expect(failed.body.items[0].details.reason).toBe('none: no credentials');
  });

  it('pages with a cursor, newest first, without gaps or repeats', async () => {
    if (!t) return;
    const all = (await get('/v1/admin/audit?limit=500')).body.items.map((e: { id: number }) => e.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/v1/admin/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((e: { id: number }) => e.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    // Pages were read after `all`, so newer events may precede; the old ones must match exactly.
    expect(seen.slice(seen.indexOf(all[0]))).toEqual(all);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    expect((await get('/v1/admin/audit?cursor=bm9wZQ')).status).toBe(422);
    expect((await get('/v1/admin/audit?outcome=maybe')).status).toBe(422);
    expect((await get('/v1/admin/audit?limit=100000')).status).toBe(422);
  });

  it('exports NDJSON oldest first with the same filters', async () => {
    if (!t) return;
    const res = await get('/v1/admin/audit/export?outcome=denied');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-ndjson');
    const lines = res.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(3 + 4 + 4);
    expect(lines.every((e) => e.outcome === 'denied')).toBe(true);
    const ids = lines.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(lines[0]).toHaveProperty('hash');
  });

  it('names the row modified directly in the database', async () => {
    if (!t) return;
    const ok = await get('/v1/admin/audit/verify');
    expect(ok.body).toMatchObject({ valid: true, brokenAt: null });
    expect(ok.body.checkedEvents).toBeGreaterThan(10);
    const [victim] = (await get('/v1/admin/audit?action=apikey.revoked')).body.items;
    const ds = t.app.get(DataSource);
    const p = driver === 'postgres' ? ['$1', '$2'] : ['?', '?'];
    await ds.query(`UPDATE audit_events SET principal_id = ${p[0]} WHERE id = ${p[1]}`, [
      'apikey:someone-else',
      victim.id,
    ]);
    const broken = await get('/v1/admin/audit/verify');
    expect(broken.status).toBe(200);
    expect(broken.body.valid).toBe(false);
    expect(broken.body.brokenAt).toMatchObject({
      id: victim.id,
      reason: 'hash_mismatch',
      action: 'apikey.revoked',
    });
    await ds.query(`UPDATE audit_events SET principal_id = ${p[0]} WHERE id = ${p[1]}`, [
      'apikey:env',
      victim.id,
    ]);
    expect((await get('/v1/admin/audit/verify')).body.valid).toBe(true);
  });

  it('prunes on request (nothing is old enough here) and validates input', async () => {
    if (!t) return;
    const res = await request(t.server)
      .post('/v1/admin/audit/prune')
      .set(admin())
      .send({ olderThanDays: 30 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deleted: 0, anchor: null });
    expect(
      (await request(t.server).post('/v1/admin/audit/prune').set(admin()).send({ olderThanDays: -1 })).status,
    ).toBe(422);
  });
});
