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

/**
 * L1: in-process LRU bounded by bytes. A Map keeps insertion order, so re-inserting on every hit
 * makes the first key the least recently used one: O(1) get, set and eviction.
 */
export class MemoryCacheTier implements CacheTier {
  readonly level = 'l1' as const;
  readonly status = 'up' as const;
  private readonly entries = new Map<string, MemoryEntry>();
  private bytes = 0;
  private readonly counters = emptyTierStats('l1');
  private readonly clock: Clock;

  constructor(private readonly options: MemoryCacheTierOptions) {
    if (!(options.maxBytes >= 0)) throw new RangeError('maxBytes must be >= 0');
    this.clock = options.clock ?? systemClock;
  }

  async get(key: string): Promise<CachedValue | undefined> {
    const entry = this.entries.get(key);
    if (!entry) {
      this.counters.misses++;
      return undefined;
    }
    if (entry.expiresAt <= this.clock.now()) {
      this.remove(key, entry);
      this.counters.expirations++;
      this.counters.misses++;
      this.options.listener?.onEvict?.('l1', entry.size, 'expired');
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.counters.hits++;
    // A copy: callers may write into the buffer they get, the cached bytes must stay intact.
    return { data: Buffer.from(entry.data), expiresAt: entry.expiresAt, model: entry.model };
  }

  async set(key: string, data: Buffer, options: TierSetOptions): Promise<boolean> {
    const size = entrySize(key, data);
    const existing = this.entries.get(key);
    if (existing) this.remove(key, existing);
    if (size > this.options.maxBytes || options.expiresAt <= this.clock.now()) {
      if (size > this.options.maxBytes) this.counters.rejected++;
      return false;
    }
    while (this.bytes + size > this.options.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      const victim = this.entries.get(oldest.value)!;
      this.remove(oldest.value, victim);
      const expired = victim.expiresAt <= this.clock.now();
      if (expired) this.counters.expirations++;
      else this.counters.evictions++;
      this.options.listener?.onEvict?.('l1', victim.size, expired ? 'expired' : 'capacity');
    }
    // Copy so the entry owns exactly `data.length` bytes (a slice of a pooled or larger buffer would
    // keep the whole parent alive and make the byte budget a lie).
    const copy = Buffer.allocUnsafeSlow(data.length);
    data.copy(copy);
    this.entries.set(key, { data: copy, size, expiresAt: options.expiresAt, model: options.model });
    this.bytes += size;
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.remove(key, entry);
    return true;
  }

  async clear(filter: { model?: string } = {}): Promise<number> {
    if (filter.model === undefined) {
      const n = this.entries.size;
      this.entries.clear();
      this.bytes = 0;
      return n;
    }
    let n = 0;
    for (const [key, entry] of this.entries) {
      if (entry.model === filter.model) {
        this.remove(key, entry);
        n++;
      }
    }
    return n;
  }

  async purgeExpired(): Promise<number> {
    const now = this.clock.now();
    let n = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) {
        this.remove(key, entry);
        this.counters.expirations++;
        this.options.listener?.onEvict?.('l1', entry.size, 'expired');
        n++;
      }
    }
    return n;
  }

  stats(): TierStats {
    return {
      ...this.counters,
      entries: this.entries.size,
      bytes: this.bytes,
      maxBytes: this.options.maxBytes,
    };
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
  }

  private remove(key: string, entry: MemoryEntry): void {
    this.entries.delete(key);
    this.bytes -= entry.size;
  }
}

/** What an entry costs against the budget: its value plus its key (UTF-16 in V8, so 2 bytes a char). */
export function entrySize(key: string, data: Buffer): number {
  return data.length + key.length * 2;
}
