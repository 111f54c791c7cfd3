/**
 * The hash chain's arithmetic, kept free of Nest and TypeORM so the verifier and the writer cannot
 * drift apart. hash = SHA-256( prev_hash || "\n" || canonicalJson(content) ), hex.
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped, so the same
 * content always hashes the same whatever the database returns column order or key order as.
 */
import { createHash } from 'crypto';

export const GENESIS_HASH = '0'.repeat(64);
/** Bumped if the hashed field set ever changes; verification reads it back from the row's hash input. */
const CHAIN_VERSION = 1;

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortDeep(v)));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortDeep(v);
    }
    return out;
  }
  return value;
}

/** Exactly the columns covered by the hash (everything but id, prev_hash and hash). */
export interface AuditHashedContent {
  occurredAt: string;
  requestId: string | null;
  principalId: string | null;
  principalRole: string | null;
  authMethod: string | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  outcome: string;
  httpStatus: number | null;
  clientIp: string | null;
  userAgent: string | null;
  durationMs: number | null;
  details: string | null;
}

export function hashedContentOf(row: AuditHashedContent): AuditHashedContent {
  return {
    occurredAt: row.occurredAt,
    requestId: row.requestId ?? null,
    principalId: row.principalId ?? null,
    principalRole: row.principalRole ?? null,
    authMethod: row.authMethod ?? null,
    action: row.action,
    resourceType: row.resourceType ?? null,
    resourceId: row.resourceId ?? null,
    outcome: row.outcome,
    httpStatus: row.httpStatus === null || row.httpStatus === undefined ? null : Number(row.httpStatus),
    clientIp: row.clientIp ?? null,
    userAgent: row.userAgent ?? null,
    durationMs: row.durationMs === null || row.durationMs === undefined ? null : Number(row.durationMs),
    details: row.details ?? null,
  };
}

export function chainHash(prevHash: string, content: AuditHashedContent): string {
  return createHash('sha256')
    .update(prevHash)
    .update('\n')
    .update(canonicalJson({ v: CHAIN_VERSION, ...hashedContentOf(content) }))
    .digest('hex');
}

export interface AnchorHashedContent {
  createdAt: string;
  lastDeletedId: number;
  lastDeletedHash: string;
  deletedCount: number;
}

export function anchorHash(prevAnchorHash: string, content: AnchorHashedContent): string {
  return createHash('sha256')
    .update(prevAnchorHash)
    .update('\n')
    .update(
      canonicalJson({
        v: CHAIN_VERSION,
        kind: 'anchor',
        createdAt: content.createdAt,
        lastDeletedId: Number(content.lastDeletedId),
        lastDeletedHash: content.lastDeletedHash,
        deletedCount: Number(content.deletedCount),
      }),
    )
    .digest('hex');
}

const SECRET_KEY_RE =
  /(secret|token|password|passwd|authorization|cookie|api[-_]?key|private[-_]?key|^key$)/i;
const MAX_STRING = 2048;

/**
 * Drops anything that looks like a credential from audit details (belt and braces: emitters should
 * not pass secrets in the first place) and bounds sizes so one event cannot bloat the table.
 */
export function scrubDetails(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (depth >= 6) return '[depth]';
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => scrubDetails(v, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY_RE.test(k)) {
        out[k] = '[redacted]';
        continue;
      }
      const s = scrubDetails(v, depth + 1);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
  return undefined;
}
