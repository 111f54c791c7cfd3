import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Request } from 'express';
import { ANONYMOUS_ADMIN, type Principal } from '../../common/auth/principal';
import { DomainEvents, type AuthEventPayload } from '../../common/events/domain-events';
import { requestIdOf } from '../../common/logging/request-id';
import { ErrorCodes, SecurityError } from '../../core/errors';
import { AppConfig } from '../../infra/config/app-config';
import { digestsEqual, hashApiKey, parseApiKeyId, secretsEqual } from './api-key-token';
import { JwtRejected, JwtVerifierService } from './jwt/jwt-verifier.service';
import { ApiKeysRepository } from './repositories/api-keys.repository';
import { RateLimitStorage } from './throttler/rate-limit.storage';

/** Principal of the legacy single admin key (SPLEETER_API_KEY). */
export const ENV_ADMIN_PRINCIPAL: Principal = Object.freeze({
  id: 'apikey:env',
  role: 'admin',
  method: 'api-key',
  keyId: 'env',
});

/** last_used_at is a hint, not an audit trail: write it at most this often per key. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const MAX_API_KEY_LENGTH = 256;

/** What the auth guard leaves on the request for the audit log when authentication fails. */
export interface AuthAttempt {
  method: 'api-key' | 'jwt' | 'none';
  keyId?: string;
  reason?: string;
}

export type AuthenticatedRequest = Request & {
  principal?: Principal;
  authAttempt?: AuthAttempt;
  id?: unknown;
};

/**
 * Turns request credentials into a Principal: `X-API-KEY` (the env admin key or a stored key) or
 * `Authorization: Bearer <JWT>`. Every failure emits DomainEvents.AuthFailed and counts against the
 * caller's IP; past `security.rate_limit.limit` failures per window the answer becomes 429.
 */
@Injectable()
export class AuthenticationService {
  private readonly logger = new Logger('Security');
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysRepository,
    private readonly jwt: JwtVerifierService,
    private readonly events: EventEmitter2,
    private readonly rateLimits: RateLimitStorage,
  ) {}

  get enabled(): boolean {
    return this.config.security.auth_enabled;
  }

  async authenticate(req: AuthenticatedRequest): Promise<Principal> {
    if (!this.enabled) return ANONYMOUS_ADMIN;
    const apiKey = req.headers['x-api-key'];
    const authorization = req.headers.authorization;
    const attempt: AuthAttempt = {
      method: apiKey !== undefined ? 'api-key' : authorization ? 'jwt' : 'none',
    };
    req.authAttempt = attempt;
    try {
      if (apiKey !== undefined && authorization !== undefined) {
        throw new AuthFailure('both X-API-KEY and Authorization sent');
      }
      if (apiKey !== undefined) return await this.byApiKey(apiKey, attempt);
      if (authorization !== undefined) return await this.byBearer(authorization, attempt);
      throw new AuthFailure('no credentials');
    } catch (err) {
      if (!(err instanceof AuthFailure)) throw err;
      attempt.reason = err.message;
      await this.onFailure(req, attempt);
      throw new SecurityError(
        ErrorCodes.UNAUTHENTICATED,
        attempt.method === 'none'
          ? 'Authentication required: send X-API-KEY or Authorization: Bearer <token>'
          : 'Invalid or expired credentials',
      );
    }
  }

  private async byApiKey(header: string | string[], attempt: AuthAttempt): Promise<Principal> {
    if (typeof header !== 'string' || header.length === 0 || header.length > MAX_API_KEY_LENGTH) {
      throw new AuthFailure('malformed API key');
    }
    // Always compared, even for spl_ tokens, so timing does not tell which kind of key was tried.
    const envKey = this.config.api_key;
    const isEnvKey = envKey !== null && secretsEqual(header, envKey);
    if (isEnvKey) return ENV_ADMIN_PRINCIPAL;

    const id = parseApiKeyId(header);
    if (!id) throw new AuthFailure('unknown API key');
    attempt.keyId = id;
    const key = await this.keys.findById(id);
    if (!key || !digestsEqual(hashApiKey(header), key.secretHash)) throw new AuthFailure('unknown API key');
    const now = new Date();
    if (key.revokedAt) throw new AuthFailure('API key revoked');
    if (key.expiresAt && key.expiresAt <= now.toISOString()) throw new AuthFailure('API key expired');
    this.touch(id, now);
    return { id: `apikey:${id}`, role: key.role, method: 'api-key', keyId: id };
  }

  private async byBearer(header: string, attempt: AuthAttempt): Promise<Principal> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new AuthFailure('malformed Authorization header');
    try {
      const principal = await this.jwt.verify(m[1]);
      attempt.keyId = principal.keyId;
      return principal;
    } catch (err) {
      if (err instanceof JwtRejected) throw new AuthFailure(err.message);
      throw err;
    }
  }

  private touch(id: string, now: Date): void {
    const last = this.lastUsedWrites.get(id) ?? 0;
    if (now.getTime() - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWrites.set(id, now.getTime());
    if (this.lastUsedWrites.size > 10_000) this.lastUsedWrites.clear();
    this.keys.touchLastUsed(id, now.toISOString()).catch((err: Error) => {
      this.logger.warn(`Cannot update last_used_at of API key ${id}: ${err.message}`);
    });
  }

  private async onFailure(req: AuthenticatedRequest, attempt: AuthAttempt): Promise<void> {
    const payload: AuthEventPayload = {
      keyId: attempt.keyId,
      reason: `${attempt.method}: ${attempt.reason}`,
      requestId: requestIdOf(req),
      ip: req.ip,
      userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined,
    };
    this.events.emit(DomainEvents.AuthFailed, payload);
    // Failed attempts are limited per client IP (authenticated traffic is limited per principal).
    const { ttl_s, limit } = this.config.security.rate_limit;
    const ttlMs = ttl_s * 1000;
    const record = await this.rateLimits.increment(
      `authfail:${req.ip ?? 'unknown'}`,
      ttlMs,
      limit,
      ttlMs,
      'auth',
    );
    if (record.isBlocked) {
      throw new SecurityError(ErrorCodes.RATE_LIMITED, 'Too many failed authentication attempts', {
        retryAfterSeconds: Math.max(1, record.timeToBlockExpire),
      });
    }
  }
}

/** Internal: a refusal whose message is the audit reason (never echoed to the client). */
class AuthFailure extends Error {}
