import { createPublicKey, createSecretKey, type KeyObject } from 'crypto';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { Principal } from '../../../common/auth/principal';
import { AppConfig } from '../../../infra/config/app-config';
import { ConfigError } from '../../../infra/config/config.loader';
import { JwksClient } from './jwks.client';

type Alg = 'HS256' | 'RS256' | 'ES256';
const MAX_TOKEN_LENGTH = 8192;
const MIN_HS256_SECRET = 32;

/** Why a token was refused; the text goes to the audit log, never the token itself. */
export class JwtRejected extends Error {}

/**
 * Verifies bearer JWTs with jose, strictly:
 * - the algorithm comes from the token header but must be in `security.jwt.algorithms`, and the
 *   key is chosen by that algorithm (HS256 → the secret; RS256/ES256 → the PEM public key or the
 *   JWKS key with the token's `kid`), so an RSA public key can never be used as an HMAC secret;
 * - `alg: none` (and any unsigned token) is refused before any key lookup;
 * - `exp` and `sub` are required; `exp`/`nbf` are checked with `clock_skew_s` tolerance;
 * - `iss` and `aud` are checked when configured (and `aud` must be configured for public-key setups,
 *   where the same IdP usually signs tokens for other applications too).
 */
@Injectable()
export class JwtVerifierService implements OnModuleInit {
  private readonly logger = new Logger('Security');
  private readonly jwtConfig: AppConfig['security']['jwt'];
  private publicKey: KeyObject | null = null;

  constructor(
    config: AppConfig,
    private readonly jwks: JwksClient,
  ) {
    this.jwtConfig = config.security.jwt;
  }

  /** True when any JWT key material is configured. */
  get enabled(): boolean {
    const c = this.jwtConfig;
    return Boolean(c.secret || c.public_key || c.jwks_url);
  }

  onModuleInit(): void {
    if (!this.enabled) return;
    const c = this.jwtConfig;
    const asymmetric = c.algorithms.filter((a) => a !== 'HS256');
    if (c.algorithms.includes('HS256') && !c.secret) {
      throw new ConfigError(
        'Invalid configuration:\n  - spleeter.security.jwt.algorithms: includes HS256 but spleeter.security.jwt.secret is not set',
      );
    }
    if (c.secret && c.secret.length < MIN_HS256_SECRET) {
      throw new ConfigError(
        `Invalid configuration:\n  - spleeter.security.jwt.secret: must be at least ${MIN_HS256_SECRET} characters for HS256`,
      );
    }
    if (asymmetric.length > 0 && !c.public_key && !c.jwks_url) {
      throw new ConfigError(
        `Invalid configuration:\n  - spleeter.security.jwt.algorithms: includes ${asymmetric.join(', ')} but neither spleeter.security.jwt.public_key nor spleeter.security.jwt.jwks_url is set`,
      );
    }
    if ((c.public_key || c.jwks_url) && asymmetric.length === 0) {
      throw new ConfigError(
        'Invalid configuration:\n  - spleeter.security.jwt.algorithms: a public key or JWKS URL is configured, so list RS256 and/or ES256',
      );
    }
    if ((c.public_key || c.jwks_url) && !c.audience) {
      throw new ConfigError(
        'Invalid configuration:\n  - spleeter.security.jwt.audience: required with a public key or JWKS URL (otherwise tokens the same issuer signs for other applications would be accepted)',
      );
    }
    if (c.public_key) {
      try {
        this.publicKey = createPublicKey(c.public_key.replace(/\\n/g, '\n'));
      } catch (err) {
        throw new ConfigError(
          `Invalid configuration:\n  - spleeter.security.jwt.public_key: not a PEM public key (${(err as Error).message})`,
        );
      }
    }
    if (!c.issuer)
      this.logger.warn('security.jwt.issuer is not set: tokens from any issuer holding the key are accepted');
    if (c.jwks_url && !c.jwks_url.startsWith('https:')) {
      this.logger.warn(
        `security.jwt.jwks_url is not https (${c.jwks_url}): only acceptable on a trusted network`,
      );
    }
  }

  async verify(token: string): Promise<Principal> {
    if (!this.enabled) throw new JwtRejected('bearer tokens are not enabled');
    if (token.length > MAX_TOKEN_LENGTH) throw new JwtRejected('token too long');
    const header = decodeHeader(token);
    const alg = header.alg;
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none')
      throw new JwtRejected('unsigned token (alg none)');
    if (!(this.jwtConfig.algorithms as string[]).includes(alg))
      throw new JwtRejected(`algorithm ${alg} not allowed`);
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const key = this.keyFor(alg as Alg, kid !== undefined);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        clockTolerance: this.jwtConfig.clock_skew_s,
        ...(this.jwtConfig.issuer ? { issuer: this.jwtConfig.issuer } : {}),
        ...(this.jwtConfig.audience ? { audience: this.jwtConfig.audience } : {}),
      }));
    } catch (err) {
      throw new JwtRejected(describeJwtError(err, alg, kid));
    }
    if (typeof payload.exp !== 'number') throw new JwtRejected('token has no exp claim');
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200)
      throw new JwtRejected('token has no usable sub claim');
    const roles = readRoles(payload, this.jwtConfig.roles_claim);
    return { id: `jwt:${sub}`, role: roles.includes('admin') ? 'admin' : 'user', method: 'jwt', keyId: sub };
  }

  /** The key (or JWKS resolver) for `alg`: HS256 → the secret, RS256/ES256 → the PEM key or the JWKS. */
  private keyFor(alg: Alg, hasKid: boolean): JwksClient['getKey'] {
    if (alg === 'HS256') {
      if (!this.jwtConfig.secret) throw new JwtRejected('HS256 is not configured');
      const secret = createSecretKey(Buffer.from(this.jwtConfig.secret, 'utf8'));
      return () => Promise.resolve(secret);
    }
    const key = this.publicKey;
    const fits = key?.asymmetricKeyType === (alg === 'RS256' ? 'rsa' : 'ec');
    if (key && fits && (!hasKid || !this.jwks.url)) return () => Promise.resolve(key);
    if (this.jwks.url) return this.jwks.getKey;
    if (this.publicKey) throw new JwtRejected(`configured public key does not fit ${alg}`);
    throw new JwtRejected(`${alg} is not configured`);
  }
}

function decodeHeader(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtRejected('malformed token');
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as unknown;
    if (!header || typeof header !== 'object' || Array.isArray(header)) throw new Error('not an object');
    return header as Record<string, unknown>;
  } catch {
    throw new JwtRejected('malformed token header');
  }
}

/** Maps jose errors to a short reason (their messages can echo claim values). */
function describeJwtError(err: unknown, alg: string, kid: string | undefined): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    const reasons: Record<string, string> = {
      nbf: 'token not yet valid',
      aud: 'wrong audience',
      iss: 'wrong issuer',
    };
    return reasons[err.claim] ?? 'invalid token';
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'invalid signature';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return kid ? `no ${alg} key with kid ${kid}` : `token has no kid and the JWKS has no single ${alg} key`;
  return 'invalid token';
}

/** Reads a (possibly dotted, e.g. `realm_access.roles`) claim holding a role list or a space/comma separated string. */
export function readRoles(payload: Record<string, unknown>, claim: string): string[] {
  let cur: unknown = payload;
  for (const part of claim.split('.')) {
    if (!cur || typeof cur !== 'object') return [];
    cur = (cur as Record<string, unknown>)[part];
  }
  if (typeof cur === 'string') return cur.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(cur)) return cur.filter((r): r is string => typeof r === 'string');
  return [];
}
