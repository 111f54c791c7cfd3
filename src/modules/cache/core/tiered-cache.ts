import {
  CACHE_LEVELS,
  systemClock,
  type CacheLevel,
  type CacheTier,
  type Clock,
  type TierStats,
} from './cache-tier';
import { modelOfKey } from '../../../common/cache/cache-key';

export interface TieredCacheListener {
  onHit?(level: CacheLevel, key: string): void;
  onMiss?(key: string): void;
}

export interface TieredCacheOptions {
  /** The enabled tiers, any subset of l1/l2/l3 (sorted by level here). */
  tiers: CacheTier[];
  /** TTL used when `set` is given none. */
  defaultTtlSeconds: number;
  clock?: Clock;
  listener?: TieredCacheListener;
}

export interface CacheSetOptions {
  /** Seconds; default: the cache's default TTL. */
  ttl?: number;
  /** Write only to these tiers (default: every enabled tier). */
  level?: CacheLevel | CacheLevel[];
  /** Model the value belongs to, for clear({ model }); default: parsed from a buildResultCacheKey key. */
  model?: string;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0 when nothing was looked up. */
  hitRate: number;
  /** Per tier; absent tiers are not configured. */
  tiers: Partial<Record<CacheLevel, TierStats>>;
  /** Sums over the tiers that can tell (L1 + L2). */
  bytes: number;
  entries: number;
  evictions: number;
  /** True when a configured tier (Redis) is down and being retried. */
  degraded: boolean;
}

/**
 * The cache as the rest of the code sees it: reads go L1 → L2 → L3 and a hit is copied into the
 * faster tiers (keeping its remaining TTL); writes go to every enabled tier. Usable without Nest
 * (library API, CLI); the Nest CacheService wraps one instance.
 */
export class TieredCache {
  private readonly tiers: CacheTier[];
  private readonly clock: Clock;
  private hits = 0;
  private misses = 0;

  constructor(private readonly options: TieredCacheOptions) {
    const levels = new Set<CacheLevel>();
    for (const t of options.tiers) {
      if (levels.has(t.level)) throw new TypeError(`two tiers at level ${t.level}`);
      levels.add(t.level);
    }
    if (!(options.defaultTtlSeconds > 0)) throw new RangeError('defaultTtlSeconds must be > 0');
    this.tiers = [...options.tiers].sort(
      (a, b) => CACHE_LEVELS.indexOf(a.level) - CACHE_LEVELS.indexOf(b.level),
    );
    this.clock = options.clock ?? systemClock;
  }

  get levels(): CacheLevel[] {
    return this.tiers.map((t) => t.level);
  }

  tier(level: CacheLevel): CacheTier | undefined {
    return this.tiers.find((t) => t.level === level);
  }

  /** With `level`, looks in that tier only (no promotion). */
  async get(key: string, level?: CacheLevel): Promise<Buffer | undefined> {
    const candidates = level ? this.tiers.filter((t) => t.level === level) : this.tiers;
    for (let i = 0; i < candidates.length; i++) {
      const found = await candidates[i].get(key);
      if (!found) continue;
      if (!level && i > 0) {
        const model = found.model ?? modelOfKey(key);
        await Promise.all(
          candidates.slice(0, i).map((t) => t.set(key, found.data, { expiresAt: found.expiresAt, model })),
        );
      }
      this.hits++;
      this.options.listener?.onHit?.(candidates[i].level, key);
      return found.data;
    }
    this.misses++;
    this.options.listener?.onMiss?.(key);
    return undefined;
  }

  /** Resolves to the levels that stored the value (a tier skips values over its size limits). */
  async set(key: string, data: Buffer, options: CacheSetOptions = {}): Promise<CacheLevel[]> {
    const ttl = options.ttl ?? this.options.defaultTtlSeconds;
    if (!(ttl > 0)) throw new RangeError('ttl must be > 0 seconds');
    const wanted = options.level === undefined ? undefined : new Set([options.level].flat());
    const targets = wanted ? this.tiers.filter((t) => wanted.has(t.level)) : this.tiers;
    const expiresAt = this.clock.now() + ttl * 1000;
    const model = options.model ?? modelOfKey(key);
    const stored = await Promise.all(targets.map((t) => t.set(key, data, { expiresAt, model })));
    return targets.filter((_, i) => stored[i]).map((t) => t.level);
  }

  async delete(key: string): Promise<boolean> {
    const removed = await Promise.all(this.tiers.map((t) => t.delete(key)));
    return removed.some(Boolean);
  }

  /** Clears every tier (or `level` only), optionally only one model's entries. */
  async clear(
    filter: { model?: string; level?: CacheLevel } = {},
  ): Promise<Partial<Record<CacheLevel, number>>> {
    const targets = filter.level ? this.tiers.filter((t) => t.level === filter.level) : this.tiers;
    const counts = await Promise.all(targets.map((t) => t.clear({ model: filter.model })));
    return Object.fromEntries(targets.map((t, i) => [t.level, counts[i]]));
  }

  async purgeExpired(): Promise<number> {
    const counts = await Promise.all(this.tiers.map((t) => t.purgeExpired()));
    return counts.reduce((a, b) => a + b, 0);
  }

  getCacheStats(): CacheStats {
    const tiers: Partial<Record<CacheLevel, TierStats>> = {};
    let bytes = 0;
    let entries = 0;
    let evictions = 0;
    let degraded = false;
    for (const t of this.tiers) {
      const s = t.stats();
      tiers[t.level] = s;
      bytes += s.bytes ?? 0;
      entries += s.entries ?? 0;
      evictions += s.evictions;
      degraded ||= s.status === 'degraded';
    }
    const lookups = this.hits + this.misses;
    return {
      hits: this.hits,
      misses: this.misses,
      hitRate: lookups === 0 ? 0 : this.hits / lookups,
      tiers,
      bytes,
      entries,
      evictions,
      degraded,
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.tiers.map((t) => t.close()));
  }
}
