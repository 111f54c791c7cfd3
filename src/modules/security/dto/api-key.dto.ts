import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsISO8601, IsOptional, IsString, Length, Matches } from 'class-validator';
import type { Role } from '../../../common/decorators/roles.decorator';
import type { ApiKeyEntity } from '../entities/api-key.entity';

export class ApiKeyCreateDto {
  @ApiProperty({ example: 'ci-pipeline', maxLength: 128 })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 128)
  @Matches(/^[\p{L}\p{N} ._@:/-]+$/u, { message: 'name may contain letters, digits, spaces and . _ @ : / -' })
  name!: string;

  @ApiPropertyOptional({ enum: ['user', 'admin'], default: 'user' })
  @IsOptional()
  @IsIn(['user', 'admin'])
  role?: Role;

  @ApiPropertyOptional({
    description: 'ISO-8601 expiry time (must be in the future)',
    example: '2030-01-01T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  expiresAt?: string;
}

export class ApiKeyResponseDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['user', 'admin'] }) role!: Role;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) createdBy!: string | null;
  @ApiProperty({ nullable: true, type: String }) expiresAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) revokedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt!: string | null;
  @ApiProperty({ enum: ['active', 'revoked', 'expired'] }) status!: 'active' | 'revoked' | 'expired';
}

export class ApiKeyCreatedResponseDto extends ApiKeyResponseDto {
  @ApiProperty({ description: 'The secret. Shown only in this response; store it now.' })
  key!: string;
}

export class ApiKeyListResponseDto {
  @ApiProperty({ type: [ApiKeyResponseDto] }) items!: ApiKeyResponseDto[];
}

export class PrincipalResponseDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['user', 'admin'] }) role!: Role;
  @ApiProperty({ enum: ['api-key', 'jwt', 'anonymous'] }) method!: string;
  @ApiPropertyOptional() keyId?: string;
  @ApiProperty({ description: 'Quota usage today (UTC) and limits' }) quota!: Record<string, unknown>;
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
