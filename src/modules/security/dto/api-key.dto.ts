import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsISO8601, IsOptional, IsString, Length, Matches } from 'class-validator';
import type { Role } from '../../../common/decorators/roles.decorator';
import type { ApiKeyEntity } from '../entities/api-key.entity';

export class ApiKeyCreateDto {
  /** @example ci-pipeline */
  @ApiProperty({ maxLength: 128 })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 128)
  @Matches(/^[\p{L}\p{N} ._@:/-]+$/u, { message: 'name may contain letters, digits, spaces and . _ @ : / -' })
  name!: string;

  @ApiPropertyOptional({ enum: ['user', 'admin'], default: 'user' })
  @IsOptional()
  @IsIn(['user', 'admin'])
  role?: Role;

  /** ISO-8601 expiry time (must be in the future) @example 2030-01-01T00:00:00Z */
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}

export class ApiKeyResponseDto {
  /** @example 0123456789abcdef */
  id!: string;
  /** @example ci-pipeline */
  name!: string;
  @ApiProperty({ enum: ['user', 'admin'] })
  role!: Role;
  /** @example 2025-01-01T12:00:00.000Z */
  createdAt!: string;
  createdBy!: string | null;
  expiresAt!: string | null;
  revokedAt!: string | null;
  lastUsedAt!: string | null;
  @ApiProperty({ enum: ['active', 'revoked', 'expired'] })
  status!: 'active' | 'revoked' | 'expired';
}

export class ApiKeyCreatedResponseDto extends ApiKeyResponseDto {
  /** The secret. Shown only in this response; store it now. */
  key!: string;
}

export class ApiKeyListResponseDto {
  items!: ApiKeyResponseDto[];
}

/** Mirrors QuotaService.status(): today's usage (UTC day) and the configured limits. */
export class QuotaStatusResponseDto {
  /** Jobs of this principal queued or running now @example 1 */
  activeJobs!: number;
  /** Seconds of input audio accepted today (UTC) @example 312.5 */
  audioSecondsToday!: number;
  /** Admins and the anonymous principal (auth disabled) have no quota */
  exempt!: boolean;
  /** Configured limit of concurrent jobs @example 2 */
  maxConcurrentJobs!: number;
  /** Configured limit of input audio minutes per UTC day @example 120 */
  audioMinutesPerDay!: number;
}

export class PrincipalResponseDto {
  /** @example apikey:0123456789abcdef */
  id!: string;
  @ApiProperty({ enum: ['user', 'admin'] })
  role!: Role;
  @ApiProperty({ enum: ['api-key', 'jwt', 'anonymous'] })
  method!: string;
  /** Id of the API key, when authenticated with one */
  keyId?: string;
  /** Quota usage today (UTC) and limits */
  quota!: QuotaStatusResponseDto;
}

export function toApiKeyResponse(key: ApiKeyEntity, now = new Date()): ApiKeyResponseDto {
  return {
    id: key.id,
    name: key.name,
    role: key.role,
    createdAt: key.createdAt,
    createdBy: key.createdBy,
    expiresAt: key.expiresAt,
    revokedAt: key.revokedAt,
    lastUsedAt: key.lastUsedAt,
    status: key.revokedAt
      ? 'revoked'
      : key.expiresAt && key.expiresAt <= now.toISOString()
        ? 'expired'
        : 'active',
  };
}
