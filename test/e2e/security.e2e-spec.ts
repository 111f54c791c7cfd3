/**
 * Authentication and authorisation over HTTP on the embedded default (SQLite): every route is
 * closed without credentials, roles hold on every admin route, revocation and expiry act on the
 * next request, secrets are stored only as hashes, and each refusal is in the audit log.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuditService } from '../../src/modules/audit/audit.service';
import { concretePath, listRoutes, startApp, type TestApp } from './security-harness';
import { mixtureWav } from './separations-support';

const ENV_KEY = 'env-admin-key-0123456789abcdef-XYZ';
/** Routes deliberately reachable without credentials (probes, metrics, API docs, the web page's files). */
const PUBLIC_ROUTE =
  /^\/(docs|health|healthz|livez|readyz|metrics)(\/|$)|^\/v1\/(health|metrics)(\/|$)|^\/$|^\/favicon\.svg$|^\/assets\/:file$/;

describe('Security (e2e, SQLite)', () => {
  let t: TestApp;
  let adminKey: string;
  let userKey: string;
  let userKeyId: string;

  beforeAll(async () => {
    t = await startApp({ api_key: ENV_KEY, server: { body_limit_kb: 4 } }, { fakeEngine: true });
    const admin = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', ENV_KEY)
      .send({ name: 'ops', role: 'admin' });
    expect(admin.status).toBe(201);
    adminKey = admin.body.key;
    const user = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', adminKey)
      .send({ name: 'alice' });
    expect(user.status).toBe(201);
    expect(user.body.role).toBe('user');
    userKey = user.body.key;
    userKeyId = user.body.id;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers 401 UNAUTHENTICATED problem JSON on every non-public route without credentials', async () => {
    const routes = listRoutes(t.app).filter((r) => !PUBLIC_ROUTE.test(r.path));
    expect(routes.length).toBeGreaterThan(5);
    const failures: string[] = [];
    for (const r of routes) {
      const res = await request(t.server)
        [r.method.toLowerCase() as 'get'](concretePath(r.path))
        .catch((err: Error) => ({
          status: -1,
          headers: {} as Record<string, string>,
          body: { code: err.message },
        }));
      if (
        res.status !== 401 ||
        !String(res.headers['content-type']).startsWith('application/problem+json') ||
        res.body.code !== 'UNAUTHENTICATED'
      ) {
        failures.push(`${r.method} ${r.path} → ${res.status} ${res.body?.code}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('keeps the public routes public (docs) and nothing else', async () => {
    const docs = await request(t.server).get('/docs/openapi.json');
    expect(docs.status).toBe(200);
    const publicRoutes = listRoutes(t.app).filter((r) => PUBLIC_ROUTE.test(r.path));
    for (const r of publicRoutes) {
      expect(r.path).toMatch(PUBLIC_ROUTE);
    }
  });

  it.each([
    ['an unknown well-formed key', () => `spl_0123456789abcdef_${'A'.repeat(43)}`],
    ['a stored key id with the wrong secret', () => `${userKey.slice(0, 21)}${'B'.repeat(43)}`],
    ['a near-miss of the env key', () => `${ENV_KEY.slice(0, -1)}Q`],
    ['garbage', () => 'not-a-key'],
  ])('refuses %s with 401 and a WWW-Authenticate challenge', async (_label, key) => {
    const res = await request(t.server).get('/v1/auth/me').set('X-API-KEY', key());
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(res.headers['www-authenticate']).toContain('Bearer');
  });

  it('refuses a request that sends both an API key and a bearer token', async () => {
    const res = await request(t.server)
      .get('/v1/auth/me')
      .set('X-API-KEY', userKey)
      .set('Authorization', 'Bearer x.y.z');
    expect(res.status).toBe(401);
  });

  it('resolves the env key, an admin key and a user key to their principals', async () => {
    const env = await request(t.server).get('/v1/auth/me').set('X-API-KEY', ENV_KEY);
    expect(env.body).toMatchObject({ id: 'apikey:env', role: 'admin', method: 'api-key' });
    const user = await request(t.server).get('/v1/auth/me').set('X-API-KEY', userKey);
    expect(user.status).toBe(200);
    expect(user.body).toMatchObject({
      id: `apikey:${userKeyId}`,
      role: 'user',
      method: 'api-key',
      keyId: userKeyId,
    });
    expect(user.body.quota).toMatchObject({ exempt: false, activeJobs: 0 });
  });

  it('answers 403 FORBIDDEN to a user key on every admin route, whatever the path case', async () => {
    const adminRoutes = listRoutes(t.app).filter((r) => r.path.toLowerCase().startsWith('/v1/admin'));
    expect(adminRoutes.length).toBeGreaterThanOrEqual(7);
    const failures: string[] = [];
    for (const r of adminRoutes) {
      for (const p of [concretePath(r.path), concretePath(r.path).toUpperCase()]) {
        const res = await request(t.server)
          [r.method.toLowerCase() as 'get'](p)
          .set('X-API-KEY', userKey)
          .send({});
        if (res.status !== 403 || res.body.code !== 'FORBIDDEN')
          failures.push(`${r.method} ${p} → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers 404 (not 403) when user B touches user A's job; admins see all jobs", async () => {
    const bob = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', adminKey)
      .send({ name: 'bob' });
    const created = await request(t.server)
      .post('/v1/separations')
      .set('X-API-KEY', userKey)
      .attach('file', mixtureWav(1), { filename: 'a.wav', contentType: 'audio/wav' });
    expect([200, 202]).toContain(created.status);
    const id = created.body.id as string;
    expect((await request(t.server).get(`/v1/separations/${id}`).set('X-API-KEY', userKey)).status).toBe(200);
    expect((await request(t.server).get(`/v1/separations/${id}`).set('X-API-KEY', adminKey)).status).toBe(
      200,
    );
    for (const [method, p] of [
      ['get', `/v1/separations/${id}`],
      ['get', `/v1/separations/${id}/stems/vocals`],
      ['get', `/v1/separations/${id}/archive`],
      ['delete', `/v1/separations/${id}`],
    ] as const) {
      const res = await request(t.server)[method](p).set('X-API-KEY', bob.body.key);
      expect({ p, status: res.status, code: res.body.code }).toEqual({
        p,
        status: 404,
        code: 'JOB_NOT_FOUND',
      });
    }
    const list = await request(t.server).get('/v1/separations').set('X-API-KEY', bob.body.key);
    expect(JSON.stringify(list.body)).not.toContain(id);
    expect((await request(t.server).get(`/v1/separations/${id}`).set('X-API-KEY', userKey)).status).toBe(200);
  });

  it('stores only the SHA-256 of a key, never the key itself', async () => {
    const ds = t.app.get(DataSource);
    const [row] = await ds.query('SELECT * FROM api_keys WHERE id = ?', [userKeyId]);
    expect(row.secret_hash).toBe(createHash('sha256').update(userKey).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(userKey.slice(21));
    await t.app.get(AuditService).verify(); // flushes the audit buffer too
    const dbBytes = Buffer.concat(
      fs
        .readdirSync(t.dir)
        .filter((f) => f.startsWith('db.sqlite'))
        .map((f) => fs.readFileSync(path.join(t.dir, f))),
    );
    for (const secret of [userKey, adminKey, ENV_KEY])
      expect(dbBytes.includes(Buffer.from(secret))).toBe(false);
    const list = await request(t.server).get('/v1/admin/api-keys').set('X-API-KEY', adminKey);
    expect(JSON.stringify(list.body)).not.toMatch(/spl_[0-9a-f]{16}_/);
  });

  it('refuses a revoked key on the very next request', async () => {
    const created = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', adminKey)
      .send({ name: 'temp' });
    const key = created.body.key as string;
    expect((await request(t.server).get('/v1/auth/me').set('X-API-KEY', key)).status).toBe(200);
    const revoked = await request(t.server)
      .delete(`/v1/admin/api-keys/${created.body.id}`)
      .set('X-API-KEY', adminKey);
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    expect((await request(t.server).get('/v1/auth/me').set('X-API-KEY', key)).status).toBe(401);
  });

  it('refuses an expired key and rejects an expiry in the past', async () => {
    const past = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', adminKey)
      .send({ name: 'old', expiresAt: '2000-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
    const created = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', adminKey)
      .send({ name: 'short-lived', expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    expect((await request(t.server).get('/v1/auth/me').set('X-API-KEY', created.body.key)).status).toBe(200);
    await t.app
      .get(DataSource)
      .query('UPDATE api_keys SET expires_at = ? WHERE id = ?', [
        new Date(Date.now() - 1000).toISOString(),
        created.body.id,
      ]);
    expect((await request(t.server).get('/v1/auth/me').set('X-API-KEY', created.body.key)).status).toBe(401);
  });

  it('validates key creation input (unknown fields, bad role, oversize body)', async () => {
    const bad = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', adminKey)
      .send({ name: 'x', role: 'root', isAdmin: true });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    const big = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', adminKey)
      .send({ name: 'y'.repeat(8 * 1024) });
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toContain('application/problem+json');
  });

  it('sends helmet security headers', async () => {
    const res = await request(t.server).get('/v1/auth/me').set('X-API-KEY', userKey);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toContain('max-age=');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('puts every refusal and admin action in the audit log with the right outcome', async () => {
    await request(t.server).get('/v1/no-such-route?token=hidden').set('X-API-KEY', userKey).expect(404);
    const audit = t.app.get(AuditService);
    await audit.verify();
    const all = [];
    for await (const e of audit.stream({})) all.push(e);
    const failedAuth = all.filter((e) => e.action === 'auth.failed');
    const reasons = failedAuth.map((e) => JSON.parse(e.details ?? '{}').reason as string);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'none: no credentials',
        'api-key: unknown API key',
        'api-key: API key revoked',
        'api-key: API key expired',
      ]),
    );
    expect(failedAuth.every((e) => e.outcome === 'denied')).toBe(true);
    const http401 = all.filter((e) => e.httpStatus === 401);
    expect(http401.length).toBeGreaterThanOrEqual(failedAuth.length);
    expect(http401.every((e) => e.outcome === 'denied' && e.principalId === null)).toBe(true);
    const forbidden = all.filter((e) => e.httpStatus === 403);
    expect(forbidden.length).toBeGreaterThan(0);
    expect(forbidden.every((e) => e.outcome === 'denied' && e.principalId === `apikey:${userKeyId}`)).toBe(
      true,
    );
    expect(
      all.some((e) => e.action === 'apikey.revoke' && e.outcome === 'success' && e.httpStatus === 200),
    ).toBe(true);
    expect(all.some((e) => e.action === 'apikey.revoked' && e.principalRole === 'admin')).toBe(true);
    expect(
      all.some((e) => e.action === 'apikey.create' && e.outcome === 'failure' && e.httpStatus === 422),
    ).toBe(true);
    const notFound = all.find((e) => e.action === 'http.not_found');
    expect(notFound).toMatchObject({ httpStatus: 404, outcome: 'failure' });
    expect(JSON.parse(notFound!.details!)).toEqual({ method: 'GET', path: '/v1/no-such-route' });
    const created = all.find((e) => e.action === 'separation.create' && e.httpStatus === 202);
    expect(created).toMatchObject({ resourceType: 'separation', principalId: `apikey:${userKeyId}` });
    expect(created!.resourceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created!.requestId).toBeTruthy();
    const serialized = JSON.stringify(all);
    for (const secret of [userKey, adminKey, ENV_KEY]) expect(serialized).not.toContain(secret);
    expect((await audit.verify()).valid).toBe(true);
  });
});

describe('Security (e2e): CORS from config', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ api_key: ENV_KEY, server: { cors_origins: ['https://app.example.com'] } });
  });
  afterAll(() => t?.close());

  it('allows only the configured origin', async () => {
    const ok = await request(t.server)
      .options('/v1/auth/me')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'GET');
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const evil = await request(t.server)
      .options('/v1/auth/me')
      .set('Origin', 'https://evil.example.com')
      .set('Access-Control-Request-Method', 'GET');
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });
});
