import { randomBytes, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Keyv } from 'keyv';
import { createRedisKeyv } from '../../src/infra/redis/redis-keyv.factory';
import { buildResultCacheKey, sha256Hex } from '../../src/common/cache/cache-key';
import { DiskCacheTier } from '../../src/modules/cache/core/disk-cache.tier';
import { MemoryCacheTier } from '../../src/modules/cache/core/memory-cache.tier';
import { RedisCacheTier } from '../../src/modules/cache/core/redis-cache.tier';
import { decodeResultContainer, encodeResultContainer } from '../../src/modules/cache/core/result-container';
import { TieredCache } from '../../src/modules/cache/core/tiered-cache';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** L1 + L2 + L3 together, L3 on the real Redis under a namespace unique to this run. */
describe('TieredCache over memory, disk and Redis', () => {
  let dir: string;
  let namespace: string;
  let keyv: Keyv;
  let l1: MemoryCacheTier;
  let l2: DiskCacheTier;
  let l3: RedisCacheTier;
  let sut: TieredCache;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-tiers-'));
    namespace = `spleeter-test:${randomUUID()}`;
    keyv = createRedisKeyv(REDIS_URL, { namespace });
    l1 = new MemoryCacheTier({ maxBytes: 64 * 1024 });
    l2 = await DiskCacheTier.open({ dir, maxBytes: 256 * 1024 });
    l3 = new RedisCacheTier({ keyv, maxItemBytes: 128 * 1024 });
    expect(await l3.connect()).toBe('up');
    sut = new TieredCache({ tiers: [l1, l2, l3], defaultTtlSeconds: 3600 });
  });

  afterEach(async () => {
    await sut.clear();
    await sut.close();
    await keyv.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function key(n: number): string {
    return buildResultCacheKey({
      inputSha256: sha256Hex(Buffer.from(`input-${n}`)),
      model: 'spleeter:2stems',
      options: { codec: 'wav' },
    });
  }

  it('misses, then hits in L1 after a write-through, byte-identical', async () => {
    const value = encodeResultContainer({
      stems: [
        { name: 'vocals', data: randomBytes(20_000) },
        { name: 'accompaniment', data: randomBytes(20_000) },
      ],
      meta: { model: 'spleeter:2stems' },
    });
    expect(await sut.get(key(1))).toBeUndefined();
    expect(await sut.set(key(1), value)).toEqual(['l1', 'l2', 'l3']);
    const got = await sut.get(key(1));
    expect(got!.equals(value)).toBe(true);
    expect(decodeResultContainer(got!).stems.map((s) => s.name)).toEqual(['vocals', 'accompaniment']);
    expect(sut.getCacheStats()).toMatchObject({ hits: 1, misses: 1 });
    expect(sut.getCacheStats().tiers.l1!.hits).toBe(1);
  });

  it('promotes a Redis-only value (another replica wrote it) into disk and memory', async () => {
    const value = randomBytes(30_000);
    await sut.set(key(2), value, { level: 'l3', ttl: 600 });
    expect(await l1.get(key(2))).toBeUndefined();
    expect((await sut.get(key(2)))!.equals(value)).toBe(true);
    const inL2 = await l2.get(key(2));
    const inL1 = await l1.get(key(2));
    expect(inL2!.data.equals(value)).toBe(true);
    expect(inL1!.data.equals(value)).toBe(true);
    // Promotion keeps the remaining lifetime (600 s), not the default hour.
    expect(inL1!.expiresAt - Date.now()).toBeLessThanOrEqual(600_000);
    expect(inL1!.expiresAt - Date.now()).toBeGreaterThan(590_000);
    expect(inL2!.model).toBe('spleeter:2stems');
  });

  it('promotes a disk hit into memory only', async () => {
    const value = randomBytes(1000);
    await sut.set(key(3), value, { level: 'l2' });
    expect((await sut.get(key(3)))!.equals(value)).toBe(true);
    expect(sut.getCacheStats().tiers.l2!.hits).toBe(1);
    expect(await l1.get(key(3))).toBeDefined();
  });

  it('respects L1 and L2 byte budgets under a stream of inserts while Redis takes values up to its item cap', async () => {
    for (let i = 0; i < 60; i++) {
      const size = 5_000 + ((i * 7919) % 140_000);
      const stored = await sut.set(key(100 + i), randomBytes(size));
      expect(stored.includes('l3')).toBe(size <= 128 * 1024);
      const s = sut.getCacheStats();
      expect(s.tiers.l1!.bytes!).toBeLessThanOrEqual(64 * 1024);
      expect(s.tiers.l2!.bytes!).toBeLessThanOrEqual(256 * 1024);
    }
    const s = sut.getCacheStats();
    expect(s.tiers.l1!.evictions).toBeGreaterThan(0);
    expect(s.tiers.l2!.evictions).toBeGreaterThan(0);
    // Evicted from L1/L2 but still in Redis: the read comes back from L3.
    expect(await sut.get(key(100))).toBeDefined();
    expect(sut.getCacheStats().tiers.l3!.hits).toBe(1);
  });

  it('lets Redis expire values at their TTL', async () => {
    await sut.set(key(4), Buffer.from('short'), { level: 'l3', ttl: 1 });
    expect(await l3.get(key(4))).toBeDefined();
    await new Promise((r) => setTimeout(r, 1100));
    expect(await sut.get(key(4))).toBeUndefined();
  });

  it('keeps the model of an opaque key through Redis and promotion, so a model clear finds it everywhere', async () => {
    const opaque = sha256Hex(Buffer.from('opaque'));
    await sut.set(opaque, Buffer.from('v'), { level: 'l3', model: 'spleeter:5stems' });
    expect(await sut.get(opaque)).toBeDefined();
    expect((await l2.get(opaque))!.model).toBe('spleeter:5stems');
    expect(await sut.clear({ model: 'spleeter:5stems' })).toEqual({ l1: 1, l2: 1, l3: 1 });
    expect(await sut.get(opaque)).toBeUndefined();
  });

  it('clears one model from every tier, Redis included', async () => {
    const other = buildResultCacheKey({ inputSha256: sha256Hex(Buffer.from('x')), model: 'spleeter:4stems' });
    await sut.set(key(5), Buffer.from('a'));
    await sut.set(other, Buffer.from('b'));
    const removed = await sut.clear({ model: 'spleeter:2stems' });
    expect(removed).toEqual({ l1: 1, l2: 1, l3: 1 });
    expect(await sut.get(key(5))).toBeUndefined();
    expect(await l3.get(other)).toBeDefined();
  });
});
