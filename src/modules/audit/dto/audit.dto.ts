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
  @ApiPropertyOptional({ description: 'Principal id, e.g. apikey:0123456789abcdef or jwt:alice' })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  principal?: string;

  @ApiPropertyOptional({ description: 'Exact action, or a prefix ending in .* (separation.*)' })
  @IsOptional()
  @Matches(/^[a-z0-9_.*-]{1,64}$/i)
  action?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 64) resourceType?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @Length(1, 255) resourceId?: string;

  @ApiPropertyOptional({ enum: ['success', 'failure', 'denied'] })
  @IsOptional()
  @IsIn(['success', 'failure', 'denied'])
  outcome?: string;

  @ApiPropertyOptional({ description: 'From (inclusive), ISO-8601' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ description: 'To (exclusive), ISO-8601' })
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

  @ApiPropertyOptional({ description: 'nextCursor from the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  cursor?: string;
}

export class AuditPruneDto {
  @ApiProperty({ description: 'Delete events older than this many days', minimum: 0.0001 })
  @IsNumber()
  @Min(0.0001)
  olderThanDays!: number;
}

export class AuditEventResponseDto {
  @ApiProperty() id!: number;
  @ApiProperty() occurredAt!: string;
  @ApiProperty({ nullable: true, type: String }) requestId!: string | null;
  @ApiProperty({ nullable: true, type: String }) principalId!: string | null;
  @ApiProperty({ nullable: true, type: String }) principalRole!: string | null;
  @ApiProperty({ nullable: true, type: String }) authMethod!: string | null;
  @ApiProperty() action!: string;
  @ApiProperty({ nullable: true, type: String }) resourceType!: string | null;
  @ApiProperty({ nullable: true, type: String }) resourceId!: string | null;
  @ApiProperty({ enum: ['success', 'failure', 'denied'] }) outcome!: string;
  @ApiProperty({ nullable: true, type: Number }) httpStatus!: number | null;
  @ApiProperty({ nullable: true, type: String }) clientIp!: string | null;
  @ApiProperty({ nullable: true, type: String }) userAgent!: string | null;
  @ApiProperty({ nullable: true, type: Number }) durationMs!: number | null;
  @ApiProperty({ nullable: true, type: Object }) details!: Record<string, unknown> | null;
  @ApiProperty() prevHash!: string;
  @ApiProperty() hash!: string;
}

export class AuditPageResponseDto {
  @ApiProperty({ type: [AuditEventResponseDto] }) items!: AuditEventResponseDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
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
  @ApiProperty({ example: 3 }) id!: number;
  @ApiProperty({ description: 'Id of the last event deleted by that prune', example: 1200 })
  lastDeletedId!: number;
  @ApiProperty({ description: 'Hash of that event; the next event must chain from it' })
  lastDeletedHash!: string;
  @ApiProperty({ example: 1200 }) deletedCount!: number;
}

export class AuditBrokenLinkResponseDto {
  @ApiProperty({ description: 'Event id (or the anchor’s last deleted id) where the chain breaks' })
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
  @ApiProperty({ example: 'event 42 was modified after it was written' }) detail!: string;
  @ApiProperty() expected!: string;
  @ApiProperty() actual!: string;
  @ApiPropertyOptional() action?: string;
  @ApiPropertyOptional() occurredAt?: string;
}

/** Mirrors AuditService.verify(). */
export class AuditVerifyResponseDto {
  @ApiProperty({ description: 'The whole chain (and the anchors) checked out' }) valid!: boolean;
  @ApiProperty({ example: 1843 }) checkedEvents!: number;
  @ApiProperty({ nullable: true, type: Number }) firstId!: number | null;
  @ApiProperty({ nullable: true, type: Number }) lastId!: number | null;
  @ApiProperty({
    description:
      'Hash of the newest event: record it outside the database to also detect truncation of the tail',
  })
  headHash!: string;
  @ApiProperty({ nullable: true, type: AuditAnchorResponseDto }) anchor!: AuditAnchorResponseDto | null;
  @ApiProperty({ nullable: true, type: AuditBrokenLinkResponseDto, description: 'The first broken link' })
  brokenAt!: AuditBrokenLinkResponseDto | null;
  @ApiProperty({ example: 12 }) durationMs!: number;
}

/** A retention anchor as stored (what POST /v1/admin/audit/prune returns). */
export class AuditStoredAnchorResponseDto extends AuditAnchorResponseDto {
  @ApiProperty() createdAt!: string;
  @ApiProperty({ description: 'Hash of the previous anchor (chain of anchors)' }) prevAnchorHash!: string;
  @ApiProperty() hash!: string;
}

export class AuditPruneResponseDto {
  @ApiProperty({ description: 'Events deleted', example: 1200 }) deleted!: number;
  @ApiProperty({
    nullable: true,
    type: AuditStoredAnchorResponseDto,
    description: 'The anchor left in place of the deleted events; null when nothing was old enough',
  })
  anchor!: AuditStoredAnchorResponseDto | null;
}
