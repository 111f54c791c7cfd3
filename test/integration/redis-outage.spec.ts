import { spawn, type ChildProcess } from 'child_process';
import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Keyv } from 'keyv';
import { AppConfig } from '../../src/infra/config/app-config';
import { loadConfig } from '../../src/infra/config/config.loader';
import { RedisConnection } from '../../src/infra/redis/redis-connection';
import { createRedisKeyv } from '../../src/infra/redis/redis-keyv.factory';
import type { TierStatus } from '../../src/modules/cache/core/cache-tier';
import { DiskCacheTier } from '../../src/modules/cache/core/disk-cache.tier';
import { MemoryCacheTier } from '../../src/modules/cache/core/memory-cache.tier';
import { RedisCacheTier } from '../../src/modules/cache/core/redis-cache.tier';
import { TieredCache } from '../../src/modules/cache/core/tiered-cache';

jest.setTimeout(30_000);

const REDIS_SERVER = '/usr/bin/redis-server';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`redis-server did not open port ${port}`);
}

/** A throwaway redis-server child (never the shared one on 6379, which other tests use). */
class ThrowawayRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      {
        stdio: 'ignore',
      },
    );
    await waitForPort(this.port);
  }
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

async function until(what: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!what()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not reached in time');
    await sleep(20);
  }
  return Date.now() - started;
}

const hasRedisServer = fs.existsSync(REDIS_SERVER);

describe('Redis outage and recovery', () => {
  let dir: string;
  const keyvs: Keyv[] = [];
  const caches: TieredCache[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-outage-'));
  });
  afterEach(async () => {
    for (const c of caches.splice(0)) await c.close();
    for (const k of keyvs.splice(0)) await k.disconnect().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function build(url: string, statuses: TierStatus[] = []) {
    const keyv = createRedisKeyv(url, { namespace: `spleeter-test:${randomUUID()}`, connectTimeoutMs: 300 });
    keyvs.push(keyv);
    const warnings: string[] = [];
    const l3 = new RedisCacheTier({
      keyv,
      maxItemBytes: 1 << 20,
      opTimeoutMs: 500,
      retryIntervalMs: 150,
      log: (level, m) => level === 'warn' && warnings.push(m),
      listener: { onStatusChange: (_l, s) => statuses.push(s) },
    });
    const cache = new TieredCache({
      tiers: [
        new MemoryCacheTier({ maxBytes: 1 << 20 }),
        await DiskCacheTier.open({ dir, maxBytes: 1 << 22 }),
        l3,
      ],
      defaultTtlSeconds: 600,
    });
    caches.push(cache);
    return { cache, l3, warnings };
  }

  it('starts degraded against a closed port, fails fast, and keeps L1/L2 working', async () => {
    const { cache, l3, warnings } = await build('redis://127.0.0.1:1');
    const t0 = Date.now();
    expect(await l3.connect()).toBe('degraded');
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Redis cache tier unavailable/);

    const value = randomBytes(4096);
    const t1 = Date.now();
    expect(await cache.set('k', value)).toEqual(['l1', 'l2']);
    expect((await cache.get('k'))!.equals(value)).toBe(true);
    expect(await cache.get('absent')).toBeUndefined();
    expect(Date.now() - t1).toBeLessThan(200);
    expect(cache.getCacheStats()).toMatchObject({ degraded: true, tiers: { l3: { status: 'degraded' } } });
    // Still exactly one warning per outage, however many retries failed meanwhile.
    await sleep(400);
    expect(warnings).toHaveLength(1);
  });

  (hasRedisServer ? it : it.skip)(
    'goes degraded when Redis dies and recovers by itself when it returns',
    async () => {
      const redis = new ThrowawayRedis(await freePort());
      await redis.start();
      try {
        const statuses: TierStatus[] = [];
        const { cache, l3 } = await build(redis.url, statuses);
        expect(await l3.connect()).toBe('up');
        const before = randomBytes(2048);
        expect(await cache.set('before', before)).toEqual(['l1', 'l2', 'l3']);

        await redis.stop();
        const during = randomBytes(2048);
        const t0 = Date.now();
        // The first call after the crash notices it; from then on nothing waits on Redis.
        await cache.set('during', during);
        expect(l3.status).toBe('degraded');
        expect(await cache.set('during-2', during)).toEqual(['l1', 'l2']);
        expect((await cache.get('before'))!.equals(before)).toBe(true);
        expect(Date.now() - t0).toBeLessThan(1000);

        await redis.start();
        const recoveryMs = await until(() => l3.status === 'up', 10_000);
        expect(statuses).toEqual(['degraded', 'up']);
        // Writes reach Redis again (an empty Redis after the restart: 'before' is gone there).
        const after = randomBytes(2048);
        expect(await cache.set('after', after)).toEqual(['l1', 'l2', 'l3']);
        expect((await cache.get('after', 'l3'))!.equals(after)).toBe(true);
        expect(cache.getCacheStats().degraded).toBe(false);
        expect(recoveryMs).toBeLessThan(5000);
      } finally {
        await redis.stop();
      }
    },
  );
});

describe(RedisConnection.name, () => {
  const make = (url: string | null) =>
    new RedisConnection(new AppConfig(loadConfig({ env: {}, overrides: { redis: { url } } })));

  it('pings the real Redis', async () => {
    const sut = make('redis://127.0.0.1:6379');
    const result = await sut.ping();
    expect(result.ok).toBe(true);
    expect(sut.enabled).toBe(true);
    await sut.onApplicationShutdown();
  });

  it('reports a closed port as down within the timeout, without throwing', async () => {
    const sut = make('redis://127.0.0.1:1');
    const t0 = Date.now();
    const result = await sut.ping(300);
    expect(result.ok).toBe(false);
    expect(result.error).toBeDefined();
    expect(Date.now() - t0).toBeLessThan(1000);
    await sut.onApplicationShutdown();
  });

  it('is disabled without a URL', async () => {
    const sut = make(null);
    expect(sut.enabled).toBe(false);
    expect((await sut.ping()).ok).toBe(false);
    expect(() => sut.client).toThrow(/not configured/);
  });
});
