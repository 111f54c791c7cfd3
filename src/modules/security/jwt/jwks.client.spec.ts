import * as http from 'http';
import { generateKeyPairSync, type KeyObject } from 'crypto';
import { Logger } from '@nestjs/common';
import { errors, jwtVerify, SignJWT, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose';
import type { AppConfig } from '../../../infra/config/app-config';
import { JwksClient } from './jwks.client';

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (k: KeyObject, extra: Record<string, unknown>) => ({ ...k.export({ format: 'jwk' }), ...extra });
const modulus = (k: unknown) => (k as KeyObject).export({ format: 'jwk' }).n;

describe(JwksClient.name, () => {
  let server: http.Server;
  let url: string;
  let keys: object[] = [];
  let status = 200;
  let hits = 0;
  let now = 1_000_000;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    server = http.createServer((_req, res) => {
      hits += 1;
      res.statusCode = status;
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks`;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    Logger.overrideLogger(['log', 'error', 'warn']);
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    hits = 0;
    status = 200;
  });

  const build = () => new JwksClient({ security: { jwt: { jwks_url: url } } } as unknown as AppConfig);
  const lookup = (sut: JwksClient, header: JWSHeaderParameters) =>
    sut.getKey(header, {} as FlattenedJWSInput);

  it('caches keys by kid and refetches an unknown kid only after the cooldown', async () => {
    const a = rsa();
    const b = rsa();
    keys = [jwk(a.publicKey, { kid: 'a', use: 'sig' })];
    const sut = build();
    expect(modulus(await lookup(sut, { alg: 'RS256', kid: 'a' }))).toBe(modulus(a.publicKey));
    await lookup(sut, { alg: 'RS256', kid: 'a' });
    expect(hits).toBe(1);

    keys = [jwk(a.publicKey, { kid: 'a' }), jwk(b.publicKey, { kid: 'b' })];
    // Inside the 30 s cooldown: no refetch.
    await expect(lookup(sut, { alg: 'RS256', kid: 'b' })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(hits).toBe(1);
    now += 31_000;
    expect(modulus(await lookup(sut, { alg: 'RS256', kid: 'b' }))).toBe(modulus(b.publicKey));
    expect(hits).toBe(2);
  });

  it('never verifies with encryption keys, private keys or other curves', async () => {
    const a = rsa();
    const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    keys = [
      jwk(a.publicKey, { kid: 'enc', use: 'enc' }),
      jwk(a.privateKey, { kid: 'priv' }),
      jwk(ec384.publicKey, { kid: 'p384' }),
      jwk(a.publicKey, { kid: 'ok' }),
    ];
    const sut = build();
    const token = (kid: string) =>
      new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid }).sign(a.privateKey);
    await expect(jwtVerify(await token('ok'), sut.getKey)).resolves.toBeDefined();
    await expect(jwtVerify(await token('enc'), sut.getKey)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    await expect(jwtVerify(await token('priv'), sut.getKey)).rejects.toThrow(/must be public keys/);
    await expect(lookup(sut, { alg: 'ES256', kid: 'p384' })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(hits).toBeLessThanOrEqual(2);
  });

  it('keeps serving the last good keys while the JWKS endpoint fails, retrying once per cooldown', async () => {
    const a = rsa();
    keys = [jwk(a.publicKey, { kid: 'a' })];
    const sut = build();
    await lookup(sut, { alg: 'RS256', kid: 'a' });
    status = 500;
    now += 11 * 60_000; // past the cache TTL
    expect(modulus(await lookup(sut, { alg: 'RS256', kid: 'a' }))).toBe(modulus(a.publicKey));
    expect(hits).toBe(2);
    expect(modulus(await lookup(sut, { alg: 'RS256', kid: 'a' }))).toBe(modulus(a.publicKey));
    expect(hits).toBe(2);
    now += 31_000;
    status = 200;
    await lookup(sut, { alg: 'RS256', kid: 'a' });
    expect(hits).toBe(3);
  });

  it('refuses every key when the first fetch fails', async () => {
    status = 503;
    const sut = build();
    await expect(lookup(sut, { alg: 'RS256', kid: 'a' })).rejects.toThrow('JWKS unavailable');
  });
});
