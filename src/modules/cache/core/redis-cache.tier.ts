import type { Keyv } from 'keyv';
import { emptyTierStats, systemClock, type CachedValue, type CacheTier, type CacheTierListener, type Clock } from './cache-tier';
import type { TierSetOptions, TierStats, TierStatus } from './cache-tier';
import { modelKeyPrefix, modelOfKey } from './cache-key';

export interface RedisCacheTierOptions {
  /** A Keyv over a Redis store (see createRedisKeyv). Its errors are caught here, never thrown at callers. */
  keyv: Keyv;
  /** Values larger than this are not sent to Redis. */
  maxItemBytes: number;
  /** Any single Redis call slower than this counts as an outage. Default 1000 ms. */
  opTimeoutMs?: number;
  /** While degraded, how often to probe Redis. Default 5000 ms. */
  retryIntervalMs?: number;
  clock?: Clock;
  listener?: CacheTierListener;
  /** Receives one warning per outage and one line per recovery. */
  log?: (level: 'warn' | 'log', message: string) => void;
}

/** Keys removed by `clear({ model })`: the raw client behind @keyv/redis, scanned by pattern. */
interface ScanCapableClient {
  scanIterator(options: { MATCH: string; COUNT?: number }): AsyncIterable<string[] | string>;
  unlink(keys: string[]): Promise<number>;
}

const PROBE_KEY = '__spleeter_cache_probe__';

/**
 * L3: Redis, shared by every replica. Redis is optional at run time: on the first error or timeout
 * the tier turns `degraded`, answers every call at once (miss / not stored) and probes Redis in the
 * background until it answers again. Nothing waits on a dead Redis longer than `opTimeoutMs`.
 */
export class RedisCacheTier implements CacheTier {
  readonly level = 'l3' as const;
  private state: TierStatus = 'up';
  private readonly counters = emptyTierStats('l3');
  private readonly clock: Clock;
  private readonly opTimeoutMs: number;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private lastError: string | undefined;

  constructor(private readonly options: RedisCacheTierOptions) {
    this.clock = options.clock ?? systemClock;
    this.opTimeoutMs = options.opTimeoutMs ?? 1000;
    // Errors must reach us as rejections (to mark the outage), not as silent undefined results.
    options.keyv.throwOnErrors = true;
    options.keyv.on('error', (err: unknown) => {
      this.lastError = errorMessage(err);
    });
  }

  get status(): TierStatus {
    return this.state;
  }

  /** Why the tier is degraded (last Redis error), for health details. */
  get degradedReason(): string | undefined {
    return this.state === 'degraded' ? this.lastError : undefined;
  }

  /** Checks Redis once (bounded by opTimeoutMs); call at start-up to learn the initial state. */
  async connect(): Promise<TierStatus> {
    await this.probe();
    return this.state;
  }

  async get(key: string): Promise<CachedValue | undefined> {
    if (this.state !== 'up' || this.closed) {
      this.counters.misses++;
      return undefined;
    }
    try {
      const raw = await this.withTimeout(this.options.keyv.getRaw<Buffer>(key), 'get');
      const value = raw?.value;
      if (!value || !Buffer.isBuffer(value)) {
        this.counters.misses++;
        return undefined;
      }
      this.counters.hits++;
      // Keyv keeps expiry in wall-clock ms; translate the remaining lifetime into our clock.
      const remaining = typeof raw.expires === 'number' ? raw.expires - Date.now() : Number.POSITIVE_INFINITY;
      return { data: value, expiresAt: this.clock.now() + remaining, model: modelOfKey(key) };
    } catch (err) {
      this.fail(err);
      this.counters.misses++;
      return undefined;
    }
  }

  async set(key: string, data: Buffer, options: TierSetOptions): Promise<boolean> {
    if (data.length > this.options.maxItemBytes) {
      this.counters.rejected++;
      await this.delete(key);
      return false;
    }
    if (this.state !== 'up' || this.closed) return false;
    const ttl = Math.ceil(options.expiresAt - this.clock.now());
    if (ttl <= 0) return false;
    try {
      return (await this.withTimeout(this.options.keyv.set(key, data, ttl), 'set')) !== false;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  async delete(key: string): Promise<boolean> {
    if (this.state !== 'up' || this.closed) return false;
    try {
      return await this.withTimeout(this.options.keyv.delete(key), 'delete');
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /**
   * Without a model: Keyv's namespace-scoped clear. With a model: SCAN for the keys that
   * buildResultCacheKey produced for it (they start with the encoded model name), then UNLINK.
   */
  async clear(filter: { model?: string } = {}): Promise<number> {
    if (this.state !== 'up' || this.closed) return 0;
    try {
      if (filter.model === undefined) {
        await this.withTimeout(this.options.keyv.clear(), 'clear', 30_000);
        return 0;
      }
      const store = this.options.keyv.store as {
        client?: ScanCapableClient;
        namespace?: string;
        keyPrefixSeparator?: string;
      };
      if (!store.client?.scanIterator) return 0;
      const prefix = store.namespace ? `${store.namespace}${store.keyPrefixSeparator ?? '::'}` : '';
      const pattern = `${escapeGlob(prefix + modelKeyPrefix(filter.model))}*`;
      let removed = 0;
      const run = async (): Promise<void> => {
        for await (const batch of store.client!.scanIterator({ MATCH: pattern, COUNT: 500 })) {
          const keys = Array.isArray(batch) ? batch : [batch];
          if (keys.length > 0) removed += await store.client!.unlink(keys);
        }
      };
      await this.withTimeout(run(), 'clear', 30_000);
      return removed;
    } catch (err) {
      this.fail(err);
      return 0;
    }
  }

  /** Redis expires keys itself (PX). */
  async purgeExpired(): Promise<number> {
    return 0;
  }

  stats(): TierStats {
    return {
      ...this.counters,
      status: this.state,
      entries: null,
      bytes: null,
      maxBytes: null,
      maxItemBytes: this.options.maxItemBytes,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private fail(err: unknown): void {
    this.counters.errors++;
    this.lastError = errorMessage(err);
    if (this.state === 'degraded' || this.closed) return;
    this.state = 'degraded';
    this.options.log?.(
      'warn',
      `Redis cache tier unavailable (${this.lastError}); serving from memory and disk, retrying every ${this.retryIntervalMs()} ms`,
    );
    this.options.listener?.onStatusChange?.('l3', 'degraded', this.lastError);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setInterval(() => void this.probe(), this.retryIntervalMs());
    // The retry loop must never keep a CLI or a test process alive.
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      await this.withTimeout(this.options.keyv.get(PROBE_KEY), 'probe');
      if (this.state === 'degraded' && !this.closed) {
        this.state = 'up';
        if (this.probeTimer) clearInterval(this.probeTimer);
        this.probeTimer = undefined;
        this.options.log?.('log', 'Redis cache tier recovered');
        this.options.listener?.onStatusChange?.('l3', 'up');
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.probing = false;
    }
  }

  private retryIntervalMs(): number {
    return this.options.retryIntervalMs ?? 5000;
  }

  private withTimeout<T>(promise: Promise<T>, op: string, ms = this.opTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis ${op} timed out after ${ms} ms`)), ms);
    });
    // A late rejection of the abandoned call must not become an unhandled rejection.
    promise.catch(() => undefined);
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
