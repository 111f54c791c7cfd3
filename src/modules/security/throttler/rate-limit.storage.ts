import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type Redis from 'ioredis';
import { AppConfig } from '../../../infra/config/app-config';
import { RedisConnection } from '../../../infra/redis/redis-connection';

/**
 * Fixed-window counter + block key, atomically in one Lua call so concurrent replicas never lose a
 * hit between INCR and PEXPIRE. Returns {hits, windowPttl, blocked, blockPttl}.
 */
const INCREMENT_LUA = `
local hitsKey = KEYS[1]
local blockKey = KEYS[2]
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local blockMs = tonumber(ARGV[3])
local blockPttl = redis.call('PTTL', blockKey)
if blockPttl > 0 then
  local hits = tonumber(redis.call('GET', hitsKey) or '0')
  return {hits, redis.call('PTTL', hitsKey), 1, blockPttl}
end
local hits = redis.call('INCR', hitsKey)
local pttl = redis.call('PTTL', hitsKey)
if pttl < 0 then
  redis.call('PEXPIRE', hitsKey, ttl)
  pttl = ttl
end
if hits > limit then
  redis.call('SET', blockKey, '1', 'PX', blockMs)
  return {hits, pttl, 1, blockMs}
end
return {hits, pttl, 0, 0}
`;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

type RedisWithRateLimit = Redis & {
  spleeterRateLimit(
    hitsKey: string,
    blockKey: string,
    ttl: number,
    limit: number,
    block: number,
  ): Promise<number[]>;
};

/**
 * The throttler storage (per-principal request limits and per-IP failed-authentication limits).
 * With `redis.url` (SPLEETER_REDIS_URL) counters live in Redis so a limit holds across replicas;
 * if Redis is unreachable the in-process counters take over (logged) instead of failing every
 * request or silently dropping the limit. Without Redis it is @nestjs/throttler's memory storage.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly memory = new ThrottlerStorageService();
  private redis: RedisWithRateLimit | null = null;
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
    const client = this.redisConnection.duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    client.defineCommand('spleeterRateLimit', { numberOfKeys: 2, lua: INCREMENT_LUA });
    client.on('error', (err: Error) => this.markDown(err));
    client.on('ready', () => {
      if (this.redisDown) this.logger.log('Redis is back: rate limits are shared across replicas again');
      this.redisDown = false;
    });
    this.redis = client as RedisWithRateLimit;
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
    const redis = this.redis;
    if (redis && redis.status === 'ready') {
      try {
        const base = `${this.prefix}${throttlerName}:${key}`;
        const [hits, pttl, blocked, blockPttl] = await redis.spleeterRateLimit(
          `${base}:hits`,
          `${base}:block`,
          Math.max(1, Math.round(ttl)),
          limit,
          Math.max(1, Math.round(blockDuration)),
        );
        return {
          totalHits: Number(hits),
          timeToExpire: Math.max(0, Math.ceil(Number(pttl) / 1000)),
          isBlocked: Number(blocked) === 1,
          timeToBlockExpire: Math.max(0, Math.ceil(Number(blockPttl) / 1000)),
        };
      } catch (err) {
        this.markDown(err as Error);
      }
    } else if (redis) {
      this.markDown(new Error(`connection ${redis.status}`));
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
