import type { Keyv } from 'keyv';
import {
  emptyTierStats,
  systemClock,
  type CachedValue,
  type CacheTier,
  type CacheTierListener,
  type Clock,
} from './cache-tier';
import type { TierSetOptions, TierStats, TierStatus } from './cache-tier';
import { modelOfKey } from '../../../common/cache/cache-key';

export interface RedisCacheTierOptions {
  /** A Keyv over a Redis store (see createRedisKeyv). Its errors are caught here, never thrown at callers. */
  keyv: Keyv;
  /** Values larger than this are not sent to Redis. */
  maxItemBytes: number;
  /** A Redis call slower than this (plus 50 ms per MB moved) counts as an outage. Default 1000 ms. */
  opTimeoutMs?: number;
  /** While degraded, how often to probe Redis. Default 5000 ms. */
  retryIntervalMs?: number;
  clock?: Clock;
  listener?: CacheTierListener;
  /** Receives one warning per outage and one line per recovery. */
  log?: (level: 'warn' | 'log', message: string) => void;
}

/** The node-redis client behind @keyv/redis, used for the per-model key index. */
interface IndexClient {
  zAdd(key: string, members: { score: number; value: string }): Promise<number>;
  zRemRangeByScore(key: string, min: number | string, max: number | string): Promise<number>;
  zRange(key: string, start: number, stop: number): Promise<string[]>;
  unlink(keys: string | string[]): Promise<number>;
  scan(
    cursor: string,
    options: { MATCH: string; COUNT?: number },
  ): Promise<{ cursor: string | number; keys: string[] }>;
}

interface RedisStoreShape {
  client?: IndexClient;
  namespace?: string;
  keyPrefixSeparator?: string;
}

/** What is stored under a key (Keyv serialises the Buffer as base64 inside its JSON). */
interface RedisEnvelope {
  data: Buffer;
  model?: string;
}

const PROBE_KEY = '__spleeter_cache_probe__';

/**
 * L3: Redis, shared by every replica. Redis is optional at run time: on the first error or timeout
 * the tier turns `degraded`, answers every call at once (miss / not stored) and probes Redis in the
 * background until it answers again. A dead Redis fails calls at once (no offline queue); a hung
 * one is cut off by the per-call timeout.
 */
export class RedisCacheTier implements CacheTier {
  readonly level = 'l3' as const;
  private state: TierStatus = 'up';
  private readonly counters = emptyTierStats('l3');
  private readonly clock: Clock;
  private readonly opTimeoutMs: number;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | null = null;
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

  /**
   * Asks Redis now (bounded by `timeoutMs`) and answers the resulting status: for health checks,
   * which must see an outage even when no cache traffic has run into it yet.
   */
  async check(timeoutMs = this.opTimeoutMs): Promise<TierStatus> {
    if (this.closed) return this.state;
    await this.probe(timeoutMs);
    return this.state;
  }

  async get(key: string): Promise<CachedValue | undefined> {
    if (this.state !== 'up' || this.closed) {
      this.counters.misses++;
      return undefined;
    }
    try {
      // The value size is unknown before the read: allow for the largest value the tier accepts.
      const raw = await this.withTimeout(
        this.options.keyv.getRaw<RedisEnvelope>(key),
        'get',
        this.transferTimeout(this.options.maxItemBytes),
      );
      const value = raw?.value;
      if (!value || !Buffer.isBuffer(value.data)) {
        this.counters.misses++;
        return undefined;
      }
      this.counters.hits++;
      // Keyv keeps expiry in wall-clock ms; translate the remaining lifetime into our clock.
      const remaining = typeof raw.expires === 'number' ? raw.expires - Date.now() : Number.POSITIVE_INFINITY;
      return {
        data: value.data,
        expiresAt: this.clock.now() + remaining,
        model: value.model ?? modelOfKey(key),
      };
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
      const envelope: RedisEnvelope = options.model === undefined ? { data } : { data, model: options.model };
      const ok =
        (await this.withTimeout(
          this.options.keyv.set(key, envelope, ttl),
          'set',
          this.transferTimeout(data.length),
        )) !== false;
      if (ok && options.model !== undefined)
        await this.withTimeout(this.index(key, options.model, ttl), 'index');
      return ok;
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
   * Without a model: Keyv's namespace-wide clear (SCAN + UNLINK of `<namespace>::*`). With a model:
   * the keys listed in that model's index (a sorted set by expiry, written by `set`), so any key
   * format works and no full SCAN is needed.
   */
  async clear(filter: { model?: string } = {}): Promise<number> {
    if (this.state !== 'up' || this.closed) return 0;
    try {
      const client = this.store().client;
      if (filter.model === undefined) {
        await this.withTimeout(this.options.keyv.clear(), 'clear', 30_000);
        // Keyv's clear only scans string keys; the model indexes are sorted sets.
        if (client?.scan)
          await this.withTimeout(this.unlinkMatching(client, this.indexKey('*', false)), 'clear', 30_000);
        return 0;
      }
      if (!client?.zRange) return 0;
      const indexKey = this.indexKey(filter.model);
      const run = async (): Promise<number> => {
        const members = await client.zRange(indexKey, 0, -1);
        let removed = 0;
        for (let i = 0; i < members.length; i += 500) {
          removed += await client.unlink(members.slice(i, i + 500).map((k) => this.redisKey(k)));
        }
        await client.unlink(indexKey);
        return removed;
      };
      return await this.withTimeout(run(), 'clear', 30_000);
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

  /** Adds `key` to its model's index and drops members whose values Redis has expired. */
  private async index(key: string, model: string, ttlMs: number): Promise<void> {
    const client = this.store().client;
    if (!client?.zAdd) return;
    const indexKey = this.indexKey(model);
    const now = Date.now();
    await client.zAdd(indexKey, { score: now + ttlMs, value: key });
    await client.zRemRangeByScore(indexKey, '-inf', now);
  }

  private store(): RedisStoreShape {
    return this.options.keyv.store as RedisStoreShape;
  }

  /** Inside the Keyv namespace, next to the values it lists. */
  private indexKey(model: string, encode = true): string {
    return this.redisKey(`__model_index__:${encode ? encodeURIComponent(model) : model}`);
  }

  private async unlinkMatching(client: IndexClient, pattern: string): Promise<void> {
    let cursor = '0';
    do {
      const page = await client.scan(cursor, { MATCH: pattern, COUNT: 500 });
      cursor = String(page.cursor);
      if (page.keys.length > 0) await client.unlink(page.keys);
    } while (cursor !== '0');
  }

  private redisKey(key: string): string {
    const store = this.store();
    return store.namespace ? `${store.namespace}${store.keyPrefixSeparator ?? '::'}${key}` : key;
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

  /** One probe at a time: callers arriving meanwhile share its outcome. */
  private probe(timeoutMs = this.opTimeoutMs): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.probing ??= this.runProbe(timeoutMs).finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  private async runProbe(timeoutMs: number): Promise<void> {
    try {
      await this.withTimeout(this.options.keyv.get(PROBE_KEY), 'probe', timeoutMs);
      if (this.state === 'degraded' && !this.closed) {
        this.state = 'up';
        if (this.probeTimer) clearInterval(this.probeTimer);
        this.probeTimer = undefined;
        this.options.log?.('log', 'Redis cache tier recovered');
        this.options.listener?.onStatusChange?.('l3', 'up');
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Large values take real time to move (base64 inside JSON: ~200 ms for 20 MB on loopback), so a
   * transfer gets opTimeoutMs plus 50 ms per MB before it counts as an outage. A dead Redis still
   * fails at once: without the offline queue, commands reject immediately while disconnected.
   */
  private transferTimeout(bytes: number): number {
    return this.opTimeoutMs + Math.ceil(bytes / (1024 * 1024)) * 50;
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

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
