import { LRUCache } from 'lru-cache';
import {
  emptyTierStats,
  systemClock,
  type CachedValue,
  type CacheTier,
  type CacheTierListener,
  type Clock,
} from './cache-tier';
import type { TierSetOptions, TierStats } from './cache-tier';

export interface MemoryCacheTierOptions {
  /** Byte budget: the sum of value and key bytes never exceeds it. */
  maxBytes: number;
  clock?: Clock;
  listener?: CacheTierListener;
}

interface MemoryEntry {
  data: Buffer;
  size: number;
  expiresAt: number;
  model?: string;
}

/** L1: in-process LRU bounded by bytes (lru-cache's maxSize), entries expiring at their own TTL. */
export class MemoryCacheTier implements CacheTier {
  readonly level = 'l1' as const;
  readonly status = 'up' as const;
  private readonly counters = emptyTierStats('l1');
  private readonly clock: Clock;
  private readonly cache: LRUCache<string, MemoryEntry>;

  constructor(private readonly options: MemoryCacheTierOptions) {
    if (!(options.maxBytes >= 0)) throw new RangeError('maxBytes must be >= 0');
    const clock = (this.clock = options.clock ?? systemClock);
    this.cache = new LRUCache<string, MemoryEntry>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (entry) => Math.max(1, entry.size),
      perf: clock,
      ttlResolution: 0, // read the (injectable) clock on every check
      dispose: (entry, _key, reason) => {
        if (reason !== 'evict' && reason !== 'expire') return; // replaced or deleted on purpose
        const expired = reason === 'expire' || entry.expiresAt <= clock.now();
        if (expired) this.counters.expirations++;
        else this.counters.evictions++;
        this.options.listener?.onEvict?.('l1', entry.size, expired ? 'expired' : 'capacity');
      },
    });
  }

  async get(key: string): Promise<CachedValue | undefined> {
    const entry = this.cache.get(key);
    if (!entry) {
      this.counters.misses++;
      return undefined;
    }
    this.counters.hits++;
    // A copy: callers may write into the buffer they get, the cached bytes must stay intact.
    return { data: Buffer.from(entry.data), expiresAt: entry.expiresAt, model: entry.model };
  }

  async set(key: string, data: Buffer, options: TierSetOptions): Promise<boolean> {
    const size = entrySize(key, data);
    const now = this.clock.now();
    if (size > this.options.maxBytes || options.expiresAt <= now) {
      this.cache.delete(key);
      if (size > this.options.maxBytes) this.counters.rejected++;
      return false;
    }
    // Copy so the entry owns exactly `data.length` bytes (a slice of a pooled or larger buffer would
    // keep the whole parent alive and make the byte budget a lie).
    const copy = Buffer.allocUnsafeSlow(data.length);
    data.copy(copy);
    // lru-cache expires strictly after `ttl`; ours (like the disk tier's) at `expiresAt` itself.
    const ttl = options.expiresAt - now - 0.5;
    this.cache.set(key, { data: copy, size, expiresAt: options.expiresAt, model: options.model }, { ttl });
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return this.cache.delete(key);
  }

  async clear(filter: { model?: string } = {}): Promise<number> {
    const victims = [...this.cache.entries()].filter(
      ([, e]) => filter.model === undefined || e.model === filter.model,
    );
    for (const [key] of victims) this.cache.delete(key);
    return victims.length;
  }

  async purgeExpired(): Promise<number> {
    const before = this.counters.expirations;
    this.cache.purgeStale();
    return this.counters.expirations - before;
  }

  stats(): TierStats {
    return {
      ...this.counters,
      entries: this.cache.size,
      bytes: this.cache.calculatedSize,
      maxBytes: this.options.maxBytes,
    };
  }

  async close(): Promise<void> {
    this.cache.clear();
  }
}

/** What an entry costs against the budget: its value plus its key (UTF-16 in V8, so 2 bytes a char). */
export function entrySize(key: string, data: Buffer): number {
  return data.length + key.length * 2;
}
