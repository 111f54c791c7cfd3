import { CacheModule as CacheManagerModule, CACHE_MANAGER } from '@nestjs/cache-manager';
import { Logger, Module } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import type { Keyv } from 'keyv';
import { AppConfig } from '../../infra/config/app-config';
import { createRedisKeyv } from '../../infra/redis/redis-keyv.factory';
import { RESULT_CACHE } from '../../common/cache/result-cache.port';
import { CacheAdminController } from './cache-admin.controller';
import { CacheService } from './cache.service';
import { CACHE_TIERS } from './cache.tokens';
import type { CacheTier } from './core/cache-tier';
import { DiskCacheTier } from './core/disk-cache.tier';
import { MemoryCacheTier } from './core/memory-cache.tier';
import { RedisCacheTier } from './core/redis-cache.tier';
import { TieredResultCache } from './result-cache.adapter';

const MB = 1024 * 1024;

/** Whether the Redis tier is on: a Redis URL (cache.redis_url, else redis.url), cache enabled, and cache.redis_enabled. */
export function redisTierEnabled(config: AppConfig): boolean {
  return Boolean(config.cache.enabled && config.cache.redis_enabled && config.cacheRedisUrl);
}

/** The enabled tiers from config: a zero budget turns a tier off; cache.enabled=false turns all off. */
export async function buildCacheTiers(config: AppConfig, cacheManager: Cache): Promise<CacheTier[]> {
  const c = config.cache;
  if (!c.enabled) return [];
  const tiers: CacheTier[] = [];
  if (c.memory_size_mb > 0) tiers.push(new MemoryCacheTier({ maxBytes: Math.floor(c.memory_size_mb * MB) }));
  if (c.disk_size_mb > 0)
    tiers.push(await DiskCacheTier.open({ dir: c.dir, maxBytes: Math.floor(c.disk_size_mb * MB) }));
  if (redisTierEnabled(config)) {
    const logger = new Logger('Cache');
    tiers.push(
      new RedisCacheTier({
        keyv: cacheManager.stores[0] as Keyv,
        maxItemBytes: Math.floor(c.redis_max_item_mb * MB),
        log: (level, message) => (level === 'warn' ? logger.warn(message) : logger.log(message)),
      }),
    );
  }
  return tiers;
}

/**
 * Result cache: L1 memory → L2 disk + SQLite index → L3 Redis (through @nestjs/cache-manager with a
 * Keyv Redis store, shared by replicas). Exports CacheService (the cache itself) and RESULT_CACHE
 * (the separation module's port, bound to TieredResultCache).
 */
@Module({
  imports: [
    CacheManagerModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        stores: redisTierEnabled(config)
          ? [createRedisKeyv(config.cacheRedisUrl!, { namespace: `${config.queue.prefix}:cache` })]
          : undefined,
      }),
    }),
  ],
  controllers: [CacheAdminController],
  providers: [
    { provide: CACHE_TIERS, inject: [AppConfig, CACHE_MANAGER], useFactory: buildCacheTiers },
    CacheService,
    TieredResultCache,
    { provide: RESULT_CACHE, useExisting: TieredResultCache },
  ],
  exports: [CacheService, TieredResultCache, RESULT_CACHE],
})
export class CacheModule {}
