import KeyvRedis, { createClient } from '@keyv/redis';
import { Keyv } from 'keyv';

export interface RedisKeyvOptions {
  /** Redis key namespace (`<namespace>::<key>`); keeps replicas of one deployment together. */
  namespace?: string;
  /** Connect attempts give up after this long (the cache tier then retries in the background). */
  connectTimeoutMs?: number;
}

/**
 * A Keyv over Redis for cache-manager / the L3 cache tier, tuned to fail fast: no offline queue
 * (commands while disconnected reject at once instead of piling up), a short connect timeout,
 * and errors surfaced as rejections so the tier can mark itself degraded.
 */
export function createRedisKeyv(url: string, options: RedisKeyvOptions = {}): Keyv {
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 6), 5000),
    },
  });
  // node-redis emits 'error' on every failed reconnect; unhandled it would crash the process.
  client.on('error', () => undefined);
  const namespace = options.namespace ?? 'spleeter:cache';
  const store = new KeyvRedis(client, {
    namespace,
    throwOnConnectError: true,
    throwOnErrors: true,
    connectionTimeout: connectTimeoutMs,
  });
  const keyv = new Keyv(store, { namespace, useKeyPrefix: false, throwOnErrors: true });
  keyv.on('error', () => undefined);
  return keyv;
}
