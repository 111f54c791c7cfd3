import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { CACHE_LEVELS, type CacheLevel } from '../core/cache-tier';

export class CacheClearQueryDto {
  /** Only this model’s results (name without version). @example spleeter:2stems */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  model?: string;

  /** Only this tier (default: all). */
  @ApiPropertyOptional({ enum: CACHE_LEVELS })
  @IsOptional()
  @IsIn(CACHE_LEVELS)
  level?: CacheLevel;
}
