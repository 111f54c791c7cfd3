import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import Redis, { type RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config';
import { DependencyState } from './dependency-state';

export interface RedisPingResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/**
 * The one ioredis connection of this process (SPLEETER_REDIS_URL), shared by every module that
 * issues plain commands (health checks, rate limits, locks). Created lazily on first use; absent
 * when no Redis URL is configured (`enabled` false). Consumers that block a connection (BullMQ
 * workers, subscribers) take their own with `duplicate()`.
 *
 * The result cache's L3 tier talks to the same server through @keyv/redis (node-redis), see
 * createRedisKeyv: cache-manager's Keyv store needs that client.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private shared: Redis | undefined;
  private readonly extra = new Set<Redis>();
  /** One line per outage and recovery (plus a summary while down), not one per reconnect. */
  readonly state = new DependencyState({ name: 'Redis', logger: this.logger });

  constructor(private readonly config: AppConfig) {}

  get enabled(): boolean {
    return Boolean(this.config.redis.url);
  }

  /** The shared client. Throws when no Redis URL is configured: check `enabled` first. */
  get client(): Redis {
    if (!this.shared) this.shared = this.create({});
    return this.shared;
  }

  /**
   * A new connection with the same settings (closed with the application). BullMQ needs
   * `{ maxRetriesPerRequest: null }` for its blocking connections.
   */
  duplicate(overrides: RedisOptions = {}): Redis {
    const client = this.create(overrides);
    this.extra.add(client);
    client.once('end', () => this.extra.delete(client));
    return client;
  }

  /** PING bounded by `timeoutMs`; never throws. */
  async ping(timeoutMs = 1000): Promise<RedisPingResult> {
    const started = Date.now();
    if (!this.enabled) return { ok: false, latencyMs: 0, error: 'Redis is not configured' };
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.client.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { ok: reply === 'PONG', latencyMs: Date.now() - started };
    } catch (err) {
      return { ok: false, latencyMs: Date.now() - started, error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const clients = [...this.extra, ...(this.shared ? [this.shared] : [])];
    this.extra.clear();
    this.shared = undefined;
    await Promise.all(clients.map((c) => closeClient(c)));
  }

  private create(overrides: RedisOptions): Redis {
    const url = this.config.redis.url;
    if (!url) throw new Error('Redis is not configured (set SPLEETER_REDIS_URL)');
    const client = new Redis(url, { ...redisClientDefaults(), ...overrides });
    client.on('error', (err: Error) => this.state.failed(err));
    client.on('ready', () => this.state.recovered());
    return client;
  }
}

/** QUIT when connected (lets replies drain), else drop the socket and stop reconnecting. */
async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through
    }
  }
  client.disconnect(false);
}

/** Short timeouts: a dead Redis must fail calls quickly, not hang requests. */
export function redisClientDefaults(): RedisOptions {
  return {
    connectTimeout: 2000,
    // How long a closing socket may linger before it is destroyed (ioredis' default is 2 s).
    disconnectTimeout: 500,
    maxRetriesPerRequest: 1,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 5000),
    lazyConnect: false,
  };
}
