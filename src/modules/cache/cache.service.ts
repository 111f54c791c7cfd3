import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Interval } from '@nestjs/schedule';
import type { Principal } from '../../common/auth/principal';
import { DomainEvents, type CacheEventPayload } from '../../common/events/domain-events';
import { CACHE_TIERS } from './cache.tokens';
import type { CacheLevel, CacheTier } from './core/cache-tier';
import { RedisCacheTier } from './core/redis-cache.tier';
import { TieredCache, type CacheSetOptions, type CacheStats } from './core/tiered-cache';
import { AppConfig } from '../../infra/config/app-config';

/** How often expired L1/L2 entries are swept (reads also drop them lazily). */
const PURGE_INTERVAL_MS = 10 * 60_000;

/**
 * Owns the process's TieredCache (built from the configured tiers), sweeps expired entries, and
 * turns cache activity into domain events (cache.hit / cache.miss / cache.cleared).
 */
@Injectable()
export class CacheService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Cache');
  readonly cache: TieredCache;

  constructor(
    @Inject(CACHE_TIERS) private readonly tiers: CacheTier[],
    config: AppConfig,
    @Optional() private readonly events?: EventEmitter2,
  ) {
    this.cache = new TieredCache({
      tiers,
      defaultTtlSeconds: config.cache.ttl_hours * 3600,
      listener: {
        onHit: (tier, key) => this.emit(DomainEvents.CacheHit, { tier, key }),
        onMiss: (key) => this.emit(DomainEvents.CacheMiss, { tier: 'all', key }),
      },
    });
  }

  onModuleInit(): void {
    const l3 = this.cache.tier('l3');
    // Not awaited: a dead Redis must not delay start-up; the tier flips to degraded within its timeout.
    if (l3 instanceof RedisCacheTier) void l3.connect();
    this.logger.log(`Result cache tiers: ${this.cache.levels.join(', ') || 'none (disabled)'}`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.cache.close();
  }

  /** Drops expired entries from every tier (@nestjs/schedule, every PURGE_INTERVAL_MS). */
  @Interval('cache-purge', PURGE_INTERVAL_MS)
  sweep(): void {
    this.cache.purgeExpired().catch((err: Error) => this.logger.warn(`Cache sweep failed: ${err.message}`));
  }

  get enabled(): boolean {
    return this.tiers.length > 0;
  }

  get(key: string, level?: CacheLevel): Promise<Buffer | undefined> {
    return this.cache.get(key, level);
  }

  set(key: string, data: Buffer, options?: CacheSetOptions): Promise<CacheLevel[]> {
    return this.cache.set(key, data, options);
  }

  delete(key: string): Promise<boolean> {
    return this.cache.delete(key);
  }

  /** `principal` (who asked) travels in the cache.cleared event for the audit log. */
  async clear(
    filter: { model?: string; level?: CacheLevel } = {},
    principal?: Principal,
  ): Promise<Partial<Record<CacheLevel, number>>> {
    const removed = await this.cache.clear(filter);
    this.emit(DomainEvents.CacheCleared, { tier: filter.level ?? 'all', model: filter.model, principal });
    return removed;
  }

  getCacheStats(): CacheStats {
    return this.cache.getCacheStats();
  }

  private emit(event: string, payload: CacheEventPayload & { principal?: Principal }): void {
    this.events?.emit(event, payload);
  }
}
