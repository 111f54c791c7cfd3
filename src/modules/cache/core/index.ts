/**
 * Library face of the result cache: usable without Nest (library API, CLI).
 *
 *   const cache = new TieredCache({ tiers: [new MemoryCacheTier({ maxBytes }), await DiskCacheTier.open({ dir, maxBytes })], defaultTtlSeconds: 86400 });
 *   await cache.set(key, buf, { ttl: 3600, level: 'l1' }); await cache.get(key); cache.getCacheStats();
 */
export * from '../../../common/cache/cache-key';
export * from './cache-tier';
export * from './disk-cache.tier';
export * from './memory-cache.tier';
export * from './redis-cache.tier';
export * from './result-container';
export * from './tiered-cache';
