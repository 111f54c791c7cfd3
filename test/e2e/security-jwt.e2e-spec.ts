/**
 * Bearer JWTs: HS256 with a secret, RS256 through a JWKS URL (local server, cached, by kid) and
 * ES256 with a PEM public key. Every classic forgery is refused and lands in the audit log.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'crypto';
import * as jwt from 'jsonwebtoken';
import request from 'supertest';
import { AuditService } from '../../src/modules/audit/audit.service';
import { startApp, startJwksServer, type TestApp } from './security-harness';

const SECRET = 'hs256-test-secret-0123456789abcdef-0123456789';
const ISS = 'https://idp.test';
const AUD = 'spleeter-server';
const now = () => Math.floor(Date.now() / 1000);

function b64(obj: object): string {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

async function failureReasons(t: TestApp): Promise<string[]> {
  const audit = t.app.get(AuditService);
  await audit.verify();
  const out: string[] = [];
  for await (const e of audit.stream({ action: 'auth.failed' }))
    out.push(JSON.parse(e.details ?? '{}').reason);
  return out;
}

describe('JWT HS256 (e2e)', () => {
  let t: TestApp;
  const sign = (claims: object, options: jwt.SignOptions = {}, key: jwt.Secret = SECRET) =>
    jwt.sign({ sub: 'alice', iss: ISS, aud: AUD, exp: now() + 300, ...claims }, key, {
      algorithm: 'HS256',
      ...options,
    });
  const me = (token: string) => request(t.server).get('/v1/auth/me').set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    t = await startApp({
      security: {
        jwt: { secret: SECRET, algorithms: ['HS256'], issuer: ISS, audience: AUD, clock_skew_s: 30 },
      },
    });
  });
  afterAll(() => t?.close());

  it('accepts a valid token and resolves roles from the configured claim', async () => {
    const user = await me(sign({}));
    expect(user.status).toBe(200);
    expect(user.body).toMatchObject({ id: 'jwt:alice', role: 'user', method: 'jwt', keyId: 'alice' });
    const admin = await me(sign({ sub: 'root', roles: ['user', 'admin'] }));
    expect(admin.body).toMatchObject({ id: 'jwt:root', role: 'admin' });
    const adminRoute = await request(t.server)
      .get('/v1/admin/api-keys')
      .set('Authorization', `Bearer ${sign({})}`);
    expect(adminRoute.status).toBe(403);
  });

  it('tolerates clock skew within clock_skew_s and no more', async () => {
    expect((await me(sign({ exp: now() - 10 }))).status).toBe(200);
    expect((await me(sign({ nbf: now() + 10 }))).status).toBe(200);
    expect((await me(sign({ nbf: now() + 120 }))).status).toBe(401);
  });

  it.each([
    ['expired', () => sign({ exp: now() - 120 })],
    ['wrong signature', () => sign({}, {}, 'another-secret-0123456789abcdef-0123456789')],
    [
      'tampered payload',
      () => {
        const [h, , s] = sign({}).split('.');
        return `${h}.${b64({ sub: 'alice', iss: ISS, aud: AUD, exp: now() + 300, roles: ['admin'] })}.${s}`;
      },
    ],
    [
      'alg none',
      () =>
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', iss: ISS, aud: AUD, exp: now() + 300, roles: ['admin'] })}.`,
    ],
    [
      'alg NONE with a signature',
      () => `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64({ sub: 'a', exp: now() + 300 })}.c2ln`,
    ],
    ['wrong audience', () => sign({ aud: 'another-app' })],
    ['wrong issuer', () => sign({ iss: 'https://evil.test' })],
    ['no exp', () => jwt.sign({ sub: 'alice', iss: ISS, aud: AUD }, SECRET, { algorithm: 'HS256' })],
    ['no sub', () => sign({ sub: undefined })],
    [
      'unpinned algorithm (HS512)',
      () => jwt.sign({ sub: 'alice', iss: ISS, aud: AUD, exp: now() + 300 }, SECRET, { algorithm: 'HS512' }),
    ],
    ['malformed', () => 'abc.def'],
  ])('refuses a %s token with 401', async (_label, token) => {
    const res = await me(token());
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });

  it('records each refusal with its reason', async () => {
    const reasons = await failureReasons(t);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'jwt: token expired',
        'jwt: invalid signature',
        'jwt: unsigned token (alg none)',
        'jwt: wrong audience',
        'jwt: wrong issuer',
        'jwt: token has no exp claim',
        'jwt: algorithm HS512 not allowed',
        'jwt: token not yet valid',
      ]),
    );
  });
});

describe('JWT RS256 via JWKS and ES256 via PEM (e2e)', () => {
  const rsa1 = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = (k: KeyObject, kid: string) => ({
    ...k.export({ format: 'jwk' }),
    kid,
    use: 'sig',
    alg: 'RS256',
  });
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let t: TestApp;
  let ecApp: TestApp;
  const claims = () => ({ sub: 'bob', iss: ISS, aud: AUD, exp: now() + 300 });
  const me = (app: TestApp, token: string) =>
    request(app.server).get('/v1/auth/me').set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    jwks = await startJwksServer(() => [jwk(rsa1.publicKey, 'k1'), jwk(rsa2.publicKey, 'k2')]);
    t = await startApp({
      security: { jwt: { jwks_url: jwks.url, algorithms: ['RS256'], issuer: ISS, audience: AUD } },
    });
    ecApp = await startApp({
      security: {
        jwt: {
          public_key: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          algorithms: ['ES256'],
          audience: AUD,
        },
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await ecApp?.close();
    await jwks?.close();
  });

  it('verifies RS256 tokens against the JWKS key named by kid, fetching the JWKS once', async () => {
    const before = jwks.hits();
    for (const kid of ['k1', 'k2', 'k1']) {
      const key = kid === 'k1' ? rsa1.privateKey : rsa2.privateKey;
      const res = await me(t, jwt.sign(claims(), key, { algorithm: 'RS256', keyid: kid }));
      expect(res.status).toBe(200);
      expect(res.body.id).toBe('jwt:bob');
    }
    expect(jwks.hits() - before).toBeLessThanOrEqual(1);
  });

  it('refuses a token signed by k1 but naming k2, an unknown kid, and an HS256 token keyed with the public key', async () => {
    expect(
      (await me(t, jwt.sign(claims(), rsa1.privateKey, { algorithm: 'RS256', keyid: 'k2' }))).status,
    ).toBe(401);
    expect(
      (await me(t, jwt.sign(claims(), rsa1.privateKey, { algorithm: 'RS256', keyid: 'nope' }))).status,
    ).toBe(401);
    // Algorithm confusion: the RSA public key (public knowledge) used as an HMAC secret.
    const pem = rsa1.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const forged = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${b64(claims())}`;
    const sig = createHmac('sha256', pem).update(forged).digest('base64url');
    expect((await me(t, `${forged}.${sig}`)).status).toBe(401);
  });

  it('verifies ES256 with a PEM public key and refuses other keys', async () => {
    const ok = await me(ecApp, jwt.sign(claims(), ec.privateKey, { algorithm: 'ES256' }));
    expect(ok.status).toBe(200);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect((await me(ecApp, jwt.sign(claims(), other.privateKey, { algorithm: 'ES256' }))).status).toBe(401);
    expect((await me(ecApp, jwt.sign(claims(), rsa1.privateKey, { algorithm: 'RS256' }))).status).toBe(401);
  });
});

describe('JWT configuration is validated at start-up', () => {
  it.each([
    [{ secret: 'short' }, /at least 32 characters/],
    [{ secret: SECRET, algorithms: ['RS256'] }, /neither spleeter.security.jwt.public_key nor/],
    [{ jwks_url: 'http://127.0.0.1:1/jwks', algorithms: ['RS256'] }, /audience: required/],
    [{ public_key: 'not a pem', algorithms: ['ES256'], audience: AUD }, /not a PEM public key/],
  ])('refuses %j', async (jwtConfig, message) => {
    await expect(startApp({ security: { jwt: jwtConfig } })).rejects.toThrow(message);
  });
});
