/**
 * API key token format: `spl_<keyId>_<secret>`.
 * - keyId: 16 hex chars (8 random bytes), the database primary key, so lookup is one indexed read
 *   and never a scan over hashes.
 * - secret: 32 random bytes, base64url (43 chars). 256 bits of entropy is why a fast hash (SHA-256)
 *   is enough here: there is nothing to brute-force, unlike a password.
 * Only SHA-256(token) is stored; comparison uses crypto.timingSafeEqual on equal-length digests.
 */
import { createHash, randomBytes, timingSafeEqual } from 'crypto';

export const API_KEY_PREFIX = 'spl_';
const TOKEN_RE = /^spl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedApiKey {
  id: string;
  token: string;
  hash: string;
}

export function generateApiKey(): GeneratedApiKey {
  const id = randomBytes(8).toString('hex');
  const token = `${API_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  return { id, token, hash: hashApiKey(token) };
}

/** Returns the key id of a well-formed token, else null (malformed tokens never reach the database). */
export function parseApiKeyId(token: string): string | null {
  const m = TOKEN_RE.exec(token);
  return m ? m[1] : null;
}

export function hashApiKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time equality of two hex SHA-256 digests (unequal lengths are simply unequal). */
export function digestsEqual(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/**
 * Constant-time comparison of two arbitrary secrets (the env admin key): hashing both first makes
 * the compared buffers equal-length, so neither the content nor the length leaks through timing.
 */
export function secretsEqual(presented: string, expected: string): boolean {
  return digestsEqual(hashApiKey(presented), hashApiKey(expected));
}
