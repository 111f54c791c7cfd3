import * as http from 'http';
import * as https from 'https';
import { createPublicKey, type JsonWebKey, type KeyObject } from 'crypto';
import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../../infra/config/app-config';

/** A verification key from the JWKS document, already converted to a Node KeyObject. */
export interface JwksKey {
  kid: string | undefined;
  kty: string;
  alg: string | undefined;
  key: KeyObject;
}

/** Keys are re-fetched after this long even if every kid still resolves (rotation). */
const CACHE_TTL_MS = 10 * 60_000;
/** An unknown kid triggers a refetch at most this often, so forged kids cannot hammer the IdP. */
const MISS_REFETCH_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;
const MAX_BODY_BYTES = 512 * 1024;

/**
 * Fetches and caches the JSON Web Key Set named by `security.jwt.jwks_url`, with node's own
 * http/https (no extra dependency). Only signature keys of the RSA and EC P-256 kinds are kept.
 */
@Injectable()
export class JwksClient {
  private readonly logger = new Logger(JwksClient.name);
  private keys: JwksKey[] = [];
  private fetchedAt = 0;
  private inflight: Promise<JwksKey[]> | null = null;

  constructor(private readonly config: AppConfig) {}

  get url(): string | null {
    return this.config.security.jwt.jwks_url;
  }

  /**
   * Keys matching `kid` (or, when the token has no kid, every key): from cache when fresh; an unknown
   * kid refetches once per cooldown window.
   */
  async keysFor(kid: string | undefined): Promise<JwksKey[]> {
    const now = Date.now();
    if (now - this.fetchedAt > CACHE_TTL_MS) await this.refresh();
    let found = this.match(kid);
    if (found.length === 0 && Date.now() - this.fetchedAt > MISS_REFETCH_COOLDOWN_MS) {
      await this.refresh();
      found = this.match(kid);
    }
    return found;
  }

  private match(kid: string | undefined): JwksKey[] {
    return kid === undefined ? this.keys : this.keys.filter((k) => k.kid === kid);
  }

  private async refresh(): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.fetchKeys().finally(() => {
        this.inflight = null;
      });
    }
    try {
      this.keys = await this.inflight;
    } catch (err) {
      // Keep serving the previous keys: an IdP hiccup must not log everybody out.
      this.logger.warn(`Cannot fetch JWKS from ${this.url}: ${(err as Error).message}`);
    }
    this.fetchedAt = Date.now();
  }

  private async fetchKeys(): Promise<JwksKey[]> {
    const url = this.url;
    if (!url) return [];
    const body = await getJson(url);
    const list = (body as { keys?: unknown }).keys;
    if (!Array.isArray(list)) throw new Error('response has no "keys" array');
    const out: JwksKey[] = [];
    for (const jwk of list as Array<JsonWebKey & { kid?: string; use?: string; alg?: string }>) {
      if (!jwk || typeof jwk !== 'object') continue;
      if (jwk.use !== undefined && jwk.use !== 'sig') continue;
      if (jwk.kty !== 'RSA' && !(jwk.kty === 'EC' && jwk.crv === 'P-256')) continue;
      if ('d' in jwk) continue; // a private key published by mistake: never use it
      try {
        const key = createPublicKey({ key: jwk, format: 'jwk' });
        out.push({ kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, kty: jwk.kty, alg: jwk.alg, key });
      } catch (err) {
        this.logger.warn(`Skipping unusable JWK ${String(jwk.kid)}: ${(err as Error).message}`);
      }
    }
    return out;
  }
}

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(
      url,
      { headers: { accept: 'application/json' }, timeout: FETCH_TIMEOUT_MS },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new Error('JWKS document too large'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new Error('invalid JSON'));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
