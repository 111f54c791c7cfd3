import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { AppConfig } from '../../../infra/config/app-config';
import { RedisConnection } from '../../../infra/redis/redis-connection';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * The throttler storage (per-principal request limits and per-IP failed-authentication limits).
 * With `redis.url` (SPLEETER_REDIS_URL) counters live in Redis so a limit holds across replicas;
 * if Redis is unreachable the in-process counters take over (logged) instead of failing every
 * request or silently dropping the limit. Without Redis it is @nestjs/throttler's memory storage.
 * The Redis side is @nest-lab/throttler-storage-redis (fixed window + block key in one Lua call).
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly memory = new ThrottlerStorageService();
  private redis: ThrottlerStorageRedisService | null = null;
  private redisDown = false;
  private readonly prefix: string;

  constructor(
    config: AppConfig,
    private readonly redisConnection: RedisConnection,
  ) {
    this.prefix = `${config.queue.prefix}:rl:`;
  }

  get backend(): 'redis' | 'memory' {
    return this.redis && !this.redisDown ? 'redis' : 'memory';
  }

  onModuleInit(): void {
    if (!this.redisConnection.enabled) return;
    // Own connection (closed by RedisConnection at shutdown) because of enableOfflineQueue=false:
    // fail fast and fall back to memory instead of queueing requests behind a dead connection.
    const client = this.redisConnection.duplicate({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      keyPrefix: this.prefix,
    });
    client.on('error', (err: Error) => this.markDown(err));
    client.on('ready', () => {
      if (this.redisDown) this.logger.log('Redis is back: rate limits are shared across replicas again');
      this.redisDown = false;
    });
    this.redis = new ThrottlerStorageRedisService(client);
  }

  onApplicationShutdown(): void {
    this.memory.onApplicationShutdown();
    this.redis = null;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const status = this.redis?.redis.status;
    if (this.redis && status === 'ready') {
      try {
        // Whole milliseconds of at least 1: Redis refuses other expiries.
        const ms = (v: number) => Math.max(1, Math.round(v));
        return await this.redis.increment(key, ms(ttl), limit, ms(blockDuration), throttlerName);
      } catch (err) {
        this.markDown(err as Error);
      }
    } else if (this.redis) {
      this.markDown(new Error(`connection ${status}`));
    }
    return this.memory.increment(key, ttl, limit, blockDuration, throttlerName);
  }

  private markDown(err: Error): void {
    if (!this.redisDown) {
      this.logger.error(
        `Redis unavailable for rate limiting (${err.message}); using per-process limits until it returns`,
      );
    }
    this.redisDown = true;
  }
}
