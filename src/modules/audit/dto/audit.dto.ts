import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import type { StoredAuditEvent } from '../audit.repository';

export class AuditFilterQueryDto {
  /** Principal id, e.g. apikey:0123456789abcdef or jwt:alice */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  principal?: string;

  /** Exact action, or a prefix ending in .* (separation.*) */
  @IsOptional()
  @Matches(/^[a-z0-9_.*-]{1,64}$/i)
  action?: string;

  @IsOptional() @IsString() @Length(1, 64) resourceType?: string;
  @IsOptional() @IsString() @Length(1, 255) resourceId?: string;

  @ApiPropertyOptional({ enum: ['success', 'failure', 'denied'] })
  @IsOptional()
  @IsIn(['success', 'failure', 'denied'])
  outcome?: string;

  /** From (inclusive), ISO-8601 */
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  /** To (exclusive), ISO-8601 */
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class AuditQueryDto extends AuditFilterQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  /** nextCursor from the previous page */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  cursor?: string;
}

export class AuditPruneDto {
  /** Delete events older than this many days */
  @ApiProperty({ minimum: 0.0001 })
  @IsNumber()
  @Min(0.0001)
  olderThanDays!: number;
}

export class AuditEventResponseDto {
  id!: number;
  occurredAt!: string;
  requestId!: string | null;
  principalId!: string | null;
  principalRole!: string | null;
  authMethod!: string | null;
  action!: string;
  resourceType!: string | null;
  resourceId!: string | null;
  @ApiProperty({ enum: ['success', 'failure', 'denied'] })
  outcome!: string;
  httpStatus!: number | null;
  clientIp!: string | null;
  userAgent!: string | null;
  durationMs!: number | null;
  @ApiProperty({ nullable: true, type: Object })
  details!: Record<string, unknown> | null;
  prevHash!: string;
  hash!: string;
}

export class AuditPageResponseDto {
  items!: AuditEventResponseDto[];
  nextCursor!: string | null;
}

export function toAuditEventResponse(e: StoredAuditEvent): AuditEventResponseDto {
  let details: Record<string, unknown> | null = null;
  if (e.details) {
    try {
      details = JSON.parse(e.details) as Record<string, unknown>;
    } catch {
      details = { raw: e.details };
    }
  }
  return { ...e, details };
}

export function toFilter(q: AuditFilterQueryDto) {
  return {
    principalId: q.principal,
    action: q.action,
    resourceType: q.resourceType,
    resourceId: q.resourceId,
    outcome: q.outcome,
    from: q.from ? new Date(q.from).toISOString() : undefined,
    to: q.to ? new Date(q.to).toISOString() : undefined,
  };
}

/** The newest retention anchor: the hash the chain restarts from after pruning. */
export class AuditAnchorResponseDto {
  /** @example 3 */
  id!: number;
  /** Id of the last event deleted by that prune @example 1200 */
  lastDeletedId!: number;
  /** Hash of that event; the next event must chain from it */
  lastDeletedHash!: string;
  /** @example 1200 */
  deletedCount!: number;
}

export class AuditBrokenLinkResponseDto {
  /** Event id (or the anchor’s last deleted id) where the chain breaks */
  id!: number;
  @ApiProperty({
    enum: [
      'hash_mismatch',
      'prev_hash_mismatch',
      'before_anchor',
      'anchor_hash_mismatch',
      'anchor_unreferenced',
    ],
  })
  reason!: string;
  @ApiProperty({ example: 'event 42 was modified after it was written' })
  detail!: string;
  expected!: string;
  actual!: string;
  action?: string;
  occurredAt?: string;
}

/** Mirrors AuditService.verify(). */
export class AuditVerifyResponseDto {
  /** The whole chain (and the anchors) checked out */
  valid!: boolean;
  /** @example 1843 */
  checkedEvents!: number;
  firstId!: number | null;
  lastId!: number | null;
  /** Hash of the newest event: record it outside the database to also detect truncation of the tail */
  headHash!: string;
  anchor!: AuditAnchorResponseDto | null;
  /** The first broken link */
  brokenAt!: AuditBrokenLinkResponseDto | null;
  /** @example 12 */
  durationMs!: number;
}

/** A retention anchor as stored (what POST /v1/admin/audit/prune returns). */
export class AuditStoredAnchorResponseDto extends AuditAnchorResponseDto {
  createdAt!: string;
  /** Hash of the previous anchor (chain of anchors) */
  prevAnchorHash!: string;
  hash!: string;
}

export class AuditPruneResponseDto {
  /** Events deleted @example 1200 */
  deleted!: number;
  /** The anchor left in place of the deleted events; null when nothing was old enough */
  anchor!: AuditStoredAnchorResponseDto | null;
}
