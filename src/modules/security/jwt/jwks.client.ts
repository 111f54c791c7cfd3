import { Injectable, Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type KeyLike,
} from 'jose';
import { AppConfig } from '../../../infra/config/app-config';

/** Keys are re-fetched after this long even if every kid still resolves (rotation). */
const CACHE_TTL_MS = 10 * 60_000;
/** An unknown kid (or a failed fetch) triggers a fetch at most this often, so forged kids cannot hammer the IdP. */
const COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;

/**
 * The JSON Web Key Set named by `security.jwt.jwks_url`, through jose's remote key set (fetch, cache,
 * key selection by kid/alg/use/curve, refetch on an unknown kid once per cooldown). What it adds: an
 * IdP outage keeps the last good keys instead of logging everybody out, and retries at most once per
 * cooldown; jose's own timeout ends at the response headers, so a stalled body is cut here too.
 */
@Injectable()
export class JwksClient {
  private readonly logger = new Logger(JwksClient.name);
  private remote: ReturnType<typeof createRemoteJWKSet> | null = null;
  private failedAt = -Infinity;
  /** The last good key set, kept across a set that had to be dropped. */
  private known: JSONWebKeySet | undefined;

  constructor(private readonly config: AppConfig) {}

  get url(): string | null {
    return this.config.security.jwt.jwks_url;
  }

  /** A jose key resolver (`jwtVerify(token, sut.getKey)`); throws jose's JWKS errors on no or several matches. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<KeyLike> => {
    const url = this.url;
    if (!url) throw new Error('no JWKS URL configured');
    const remote = (this.remote ??= createRemoteJWKSet(new URL(url), {
      timeoutDuration: FETCH_TIMEOUT_MS,
      cooldownDuration: COOLDOWN_MS,
      cacheMaxAge: CACHE_TTL_MS,
      headers: { accept: 'application/json' },
    }));
    if (remote.fresh || Date.now() - this.failedAt >= COOLDOWN_MS) {
      try {
        return await withDeadline(remote(header, token), FETCH_TIMEOUT_MS + 1_000);
      } catch (err) {
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
          throw err;
        this.failedAt = Date.now();
        // A stalled fetch stays pending inside jose: the next attempt starts with a new set.
        if (err instanceof DeadlineExceeded) this.remote = null;
        this.logger.warn(`Cannot fetch JWKS from ${url}: ${(err as Error).message}`);
      }
    }
    this.known = remote.jwks() ?? this.known;
    if (!this.known) throw new Error('JWKS unavailable');
    return createLocalJWKSet(this.known)(header, token);
  };
}

class DeadlineExceeded extends Error {}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded('JWKS fetch timed out')), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
