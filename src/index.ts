/** Programmatic API of spleeter-server. */
export { SpleeterEngine, type SpleeterEngineOptions, type BatchItemResult } from './engine/spleeter-engine';
export * from './engine/types';
export type { AudioFileAnalysis, AudioFileTechnicalInfo, AnalyzeOptions } from './engine/audio-file-analysis';
export type { MdxOverlap } from './core/mdx/mdx-options';
export {
  AudioProcessingError,
  ModelError,
  ValidationError,
  SeparationError,
  SpleeterError,
  ErrorCodes,
  type ErrorCode,
} from './core/errors';
export { loadConfig, ConfigError } from './infra/config/config.loader';
export type { SpleeterConfig } from './infra/config/config.schema';

// Model management (catalog, downloads, versions, validation) without Nest.
export { ModelManager, type ModelManagerOptions } from './engine/models/model-manager';
export { loadCatalogFile } from './infra/models/catalog-loader';
// The multi-tier result cache without Nest: TieredCache is the seed's CacheManager
// (get(key, level), set(key, data, { ttl, level }), getCacheStats()).
export { TieredCache, TieredCache as CacheManager } from './modules/cache/core/tiered-cache';
export { MemoryCacheTier } from './modules/cache/core/memory-cache.tier';
export { DiskCacheTier } from './modules/cache/core/disk-cache.tier';
export { RedisCacheTier } from './modules/cache/core/redis-cache.tier';
export { buildResultCacheKey, sha256Hex } from './common/cache/cache-key';
