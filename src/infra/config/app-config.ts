import type { SpleeterConfig } from './config.schema';

/**
 * The validated configuration as an injectable class (a concrete class is the DI token).
 * It carries exactly the keys of SpleeterConfig; read it, never process.env.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface AppConfig extends SpleeterConfig {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class AppConfig {
  constructor(values: SpleeterConfig) {
    Object.assign(this, values);
    Object.freeze(this);
  }

  /** Redis of the result cache's L3 tier: cache.redis_url, else redis.url (null: no L3). */
  get cacheRedisUrl(): string | null {
    return this.cache.redis_url ?? this.redis.url;
  }

  /** Queue back-end after resolving 'auto' (Redis when a Redis URL is configured). */
  get queueDriver(): 'memory' | 'redis' {
    if (this.queue.driver === 'auto') return this.redis.url ? 'redis' : 'memory';
    return this.queue.driver;
  }
}
