import * as http from 'http';
import { generateKeyPairSync, type KeyObject } from 'crypto';
import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../../infra/config/app-config';
import { JwksClient } from './jwks.client';

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (k: KeyObject, extra: Record<string, unknown>) => ({ ...k.export({ format: 'jwk' }), ...extra });

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

  it('caches keys by kid and refetches an unknown kid only after the cooldown', async () => {
    const a = rsa();
    const b = rsa();
    keys = [jwk(a.publicKey, { kid: 'a', use: 'sig' })];
    const sut = build();
    expect((await sut.keysFor('a')).map((k) => k.kid)).toEqual(['a']);
    expect(await sut.keysFor('a')).toHaveLength(1);
    expect(hits).toBe(1);

    keys = [jwk(a.publicKey, { kid: 'a' }), jwk(b.publicKey, { kid: 'b' })];
    expect(await sut.keysFor('b')).toEqual([]); // inside the 30 s cooldown: no refetch
    expect(hits).toBe(1);
    now += 31_000;
    expect((await sut.keysFor('b')).map((k) => k.kid)).toEqual(['b']);
    expect(hits).toBe(2);
  });

  it('skips encryption keys, private keys and unsupported curves', async () => {
    const a = rsa();
    const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    keys = [
      jwk(a.publicKey, { kid: 'enc', use: 'enc' }),
      jwk(a.privateKey, { kid: 'priv' }),
      jwk(ec384.publicKey, { kid: 'p384' }),
      jwk(a.publicKey, { kid: 'ok' }),
    ];
    const sut = build();
    expect((await sut.keysFor(undefined)).map((k) => k.kid)).toEqual(['ok']);
  });

  it('keeps serving the last good keys while the JWKS endpoint fails', async () => {
    const a = rsa();
    keys = [jwk(a.publicKey, { kid: 'a' })];
    const sut = build();
    expect(await sut.keysFor('a')).toHaveLength(1);
    status = 500;
    now += 11 * 60_000; // past the cache TTL
    expect(await sut.keysFor('a')).toHaveLength(1);
    expect(hits).toBe(2);
  });
});
