import type { CachedValue, CacheLevel, CacheTier, TierSetOptions, TierStats } from './cache-tier';
import { emptyTierStats } from './cache-tier';
import { MemoryCacheTier } from './memory-cache.tier';
import { TieredCache } from './tiered-cache';

class ManualClock {
  constructor(public t = 5_000_000) {}
  now(): number {
    return this.t;
  }
}

/** A map-backed tier standing in for disk/Redis; records what it was asked to store. */
class MapTier implements CacheTier {
  readonly status = 'up' as const;
  readonly map = new Map<string, CachedValue>();
  readonly sets: Array<{ key: string; options: TierSetOptions }> = [];
  constructor(
    readonly level: CacheLevel,
    private readonly clock: ManualClock,
    private readonly maxItem = Infinity,
  ) {}
  async get(key: string) {
    const v = this.map.get(key);
    if (!v || v.expiresAt <= this.clock.now()) return undefined;
    return { ...v, data: Buffer.from(v.data) };
  }
  async set(key: string, data: Buffer, options: TierSetOptions) {
    if (data.length > this.maxItem) return false;
    this.sets.push({ key, options });
    this.map.set(key, { data: Buffer.from(data), expiresAt: options.expiresAt, model: options.model });
    return true;
  }
  async delete(key: string) {
    return this.map.delete(key);
  }
  async clear(filter: { model?: string } = {}) {
    let n = 0;
    for (const [k, v] of this.map)
      if (filter.model === undefined || v.model === filter.model) n += this.map.delete(k) ? 1 : 0;
    return n;
  }
  async purgeExpired() {
    return 0;
  }
  stats(): TierStats {
    return { ...emptyTierStats(this.level), entries: this.map.size, bytes: 0 };
  }
  async close() {}
}

describe(TieredCache.name, () => {
  let clock: ManualClock;
  let l1: MemoryCacheTier;
  let l2: MapTier;
  let l3: MapTier;
  let sut: TieredCache;
  const hits: string[] = [];

  beforeEach(() => {
    clock = new ManualClock();
    l1 = new MemoryCacheTier({ maxBytes: 10_000, clock });
    l2 = new MapTier('l2', clock);
    l3 = new MapTier('l3', clock, 1000);
    hits.length = 0;
    sut = new TieredCache({
      tiers: [l3, l1, l2],
      defaultTtlSeconds: 60,
      clock,
      listener: { onHit: (level) => hits.push(level), onMiss: () => hits.push('miss') },
    });
  });

  it('writes through every tier with the same absolute expiry and the model from the key', async () => {
    const stored = await sut.set('spleeter%3A2stems:abc', Buffer.from('v'), { ttl: 30 });
    expect(stored).toEqual(['l1', 'l2', 'l3']);
    expect(l2.sets[0].options).toEqual({ expiresAt: clock.t + 30_000, model: 'spleeter:2stems' });
    expect(l3.sets[0].options.expiresAt).toBe(clock.t + 30_000);
  });

  it('reads L1 first, then L2, then L3, promoting a lower hit into the faster tiers with its remaining TTL', async () => {
    await sut.set('k', Buffer.from('from-l3'), { level: 'l3', ttl: 100 });
    clock.t += 40_000;
    expect((await sut.get('k'))!.toString()).toBe('from-l3');
    expect(hits).toEqual(['l3']);
    expect(l2.sets.at(-1)!.options.expiresAt).toBe(clock.t + 60_000);
    expect((await l1.get('k'))!.expiresAt).toBe(clock.t + 60_000);
    // Now served by L1 without touching L2/L3.
    l2.map.clear();
    l3.map.clear();
    expect((await sut.get('k'))!.toString()).toBe('from-l3');
    expect(hits).toEqual(['l3', 'l1']);
    // And it still expires when the original TTL says so.
    clock.t += 60_000;
    expect(await sut.get('k')).toBeUndefined();
    expect(hits.at(-1)).toBe('miss');
  });

  it('looks in one tier only when a level is given, without promoting', async () => {
    await sut.set('k', Buffer.from('x'), { level: ['l2'] });
    expect(await sut.get('k', 'l1')).toBeUndefined();
    expect(await sut.get('k', 'l2')).toBeDefined();
    expect(await l1.get('k')).toBeUndefined();
  });

  it('counts hits and misses into a hit rate and sums tier bytes', async () => {
    await sut.set('a', Buffer.alloc(100));
    await sut.get('a');
    await sut.get('a');
    await sut.get('zzz');
    const stats = sut.getCacheStats();
    expect(stats).toMatchObject({ hits: 2, misses: 1, degraded: false });
    expect(stats.hitRate).toBeCloseTo(2 / 3, 10);
    expect(stats.tiers.l1!.bytes).toBe(102);
    expect(Object.keys(stats.tiers)).toEqual(['l1', 'l2', 'l3']);
  });

  it('reports which tiers took a value over one tier size cap', async () => {
    expect(await sut.set('big', Buffer.alloc(2000))).toEqual(['l1', 'l2']);
  });

  it('clears by model across tiers', async () => {
    await sut.set('m1:x', Buffer.from('1'));
    await sut.set('m2:y', Buffer.from('2'));
    expect(await sut.clear({ model: 'm1' })).toEqual({ l1: 1, l2: 1, l3: 1 });
    expect(await sut.get('m1:x')).toBeUndefined();
    expect(await sut.get('m2:y')).toBeDefined();
  });

  it('refuses two tiers at one level and non-positive TTLs', async () => {
    expect(() => new TieredCache({ tiers: [l2, new MapTier('l2', clock)], defaultTtlSeconds: 1 })).toThrow(
      TypeError,
    );
    await expect(sut.set('k', Buffer.from('x'), { ttl: 0 })).rejects.toThrow(RangeError);
  });
});
