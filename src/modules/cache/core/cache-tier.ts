/**
 * Contract shared by the three cache tiers (L1 memory, L2 disk + SQLite index, L3 Redis).
 * Plain TypeScript: the library API and the CLI use the tiers without Nest.
 */

export type CacheLevel = 'l1' | 'l2' | 'l3';
export const CACHE_LEVELS: readonly CacheLevel[] = ['l1', 'l2', 'l3'];

/** Wall-clock source; injected so TTL behaviour is testable without sleeping. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export interface CachedValue {
  data: Buffer;
  /** Epoch ms (in the tier's clock) after which the entry is gone. */
  expiresAt: number;
  model?: string;
}

export interface TierSetOptions {
  expiresAt: number;
  model?: string;
}

export type TierStatus = 'up' | 'degraded';

export interface TierStats {
  level: CacheLevel;
  status: TierStatus;
  /** Entries and bytes held now; null where the back-end cannot tell cheaply (Redis). */
  entries: number | null;
  bytes: number | null;
  /** Byte budget (L1/L2) or per-item cap (L3). */
  maxBytes: number | null;
  maxItemBytes: number | null;
  hits: number;
  misses: number;
  /** Entries dropped to stay within the byte budget. */
  evictions: number;
  /** Entries dropped because their TTL passed. */
  expirations: number;
  /** Values not stored because they are larger than the tier allows. */
  rejected: number;
  /** Back-end failures (I/O, Redis errors and timeouts). */
  errors: number;
}

export type EvictionReason = 'capacity' | 'expired';

export interface CacheTierListener {
  onEvict?(level: CacheLevel, bytes: number, reason: EvictionReason): void;
  onStatusChange?(level: CacheLevel, status: TierStatus, reason?: string): void;
}

export interface CacheTier {
  readonly level: CacheLevel;
  readonly status: TierStatus;
  get(key: string): Promise<CachedValue | undefined>;
  /** Resolves false when the value was not stored (too large, back-end down); never rejects. */
  set(key: string, data: Buffer, options: TierSetOptions): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  /** Removes every entry, or only those of one model; resolves to the number removed where known. */
  clear(filter?: { model?: string }): Promise<number>;
  /** Drops expired entries now (tiers also drop them lazily on read). */
  purgeExpired(): Promise<number>;
  stats(): TierStats;
  close(): Promise<void>;
}

export function emptyTierStats(level: CacheLevel, status: TierStatus = 'up'): TierStats {
  return {
    level,
    status,
    entries: 0,
    bytes: 0,
    maxBytes: null,
    maxItemBytes: null,
    hits: 0,
    misses: 0,
    evictions: 0,
    expirations: 0,
    rejected: 0,
    errors: 0,
  };
}
