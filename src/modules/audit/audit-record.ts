import type { Principal } from '../../common/auth/principal';
import { canonicalJson, scrubDetails, type AuditHashedContent } from './audit-hash';
import type { AuditOutcome } from './entities/audit-event.entity';

/** What emitters hand to AuditWriter.record(). Everything but action and outcome is optional. */
export interface AuditRecordInput {
  action: string;
  outcome: AuditOutcome;
  occurredAt?: Date;
  requestId?: string | null;
  principal?: Principal | null;
  /** Auth method when there is no principal (a failed attempt). */
  authMethod?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  httpStatus?: number | null;
  clientIp?: string | null;
  userAgent?: string | null;
  durationMs?: number | null;
  details?: Record<string, unknown> | null;
}

function clip(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const s = String(value);
  return s.length > max ? s.slice(0, max) : s;
}

/** Normalises an input into exactly the hashed column values (bounded lengths, scrubbed details). */
export function toAuditRow(input: AuditRecordInput): AuditHashedContent {
  const details = input.details ? (scrubDetails(input.details) as Record<string, unknown>) : null;
  return {
    occurredAt: (input.occurredAt ?? new Date()).toISOString(),
    requestId: clip(input.requestId, 128),
    principalId: clip(input.principal?.id, 255),
    principalRole: clip(input.principal?.role, 16),
    authMethod: clip(input.principal?.method ?? input.authMethod, 16),
    action: clip(input.action, 64) ?? 'unknown',
    resourceType: clip(input.resourceType, 64),
    resourceId: clip(input.resourceId, 255),
    outcome: input.outcome,
    httpStatus: Number.isInteger(input.httpStatus) ? (input.httpStatus as number) : null,
    clientIp: clip(input.clientIp, 64),
    userAgent: clip(input.userAgent, 512),
    durationMs:
      typeof input.durationMs === 'number' && Number.isFinite(input.durationMs)
        ? Math.max(0, Math.round(input.durationMs))
        : null,
    details: details && Object.keys(details).length > 0 ? canonicalJson(details) : null,
  };
}

export function outcomeForStatus(status: number): AuditOutcome {
  if (status === 401 || status === 403 || status === 429) return 'denied';
  return status >= 400 ? 'failure' : 'success';
}
