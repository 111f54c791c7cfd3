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
