import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { CacheLevel, TierStats } from '../core/cache-tier';
import type { CacheStats } from '../core/tiered-cache';

export class CacheTierStatsDto {
  @ApiProperty({ enum: ['l1', 'l2', 'l3'] })
  level!: CacheLevel;
  @ApiProperty({ enum: ['up', 'degraded'] })
  status!: 'up' | 'degraded';
  @ApiProperty({ type: Number, nullable: true, description: 'null where the back-end cannot tell (Redis).' })
  entries!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  bytes!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Byte budget (memory, disk).' })
  maxBytes!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Largest value accepted (Redis).' })
  maxItemBytes!: number | null;
  @ApiProperty()
  hits!: number;
  @ApiProperty()
  misses!: number;
  @ApiProperty({ description: 'Entries dropped to stay within the budget.' })
  evictions!: number;
  @ApiProperty({ description: 'Entries dropped at the end of their TTL.' })
  expirations!: number;
  @ApiProperty({ description: 'Values too large for this tier.' })
  rejected!: number;
  @ApiProperty()
  errors!: number;
}

export class CacheTiersDto {
  @ApiPropertyOptional({ type: CacheTierStatsDto })
  l1?: CacheTierStatsDto;
  @ApiPropertyOptional({ type: CacheTierStatsDto })
  l2?: CacheTierStatsDto;
  @ApiPropertyOptional({ type: CacheTierStatsDto })
  l3?: CacheTierStatsDto;
}

export class CacheStatsResponseDto {
  @ApiProperty({ description: 'False when cache.enabled is off or no tier is configured.' })
  enabled!: boolean;
  @ApiProperty()
  hits!: number;
  @ApiProperty()
  misses!: number;
  @ApiProperty({ description: 'hits / (hits + misses) since start, 0..1.' })
  hitRate!: number;
  @ApiProperty({ description: 'Bytes held in memory and on disk.' })
  bytes!: number;
  @ApiProperty()
  entries!: number;
  @ApiProperty()
  evictions!: number;
  @ApiProperty({ description: 'A configured tier (Redis) is down; memory and disk keep serving.' })
  degraded!: boolean;
  @ApiProperty({ type: CacheTiersDto })
  tiers!: CacheTiersDto;
}

export class CacheClearResponseDto {
  @ApiProperty({
    description: 'Entries removed per tier (Redis reports 0 for a full clear: it does not count).',
    example: { l1: 3, l2: 5, l3: 5 },
  })
  removed!: Partial<Record<CacheLevel, number>>;
}

export function toCacheStatsResponse(stats: CacheStats, enabled: boolean): CacheStatsResponseDto {
  const tiers: CacheTiersDto = {};
  for (const [level, s] of Object.entries(stats.tiers) as Array<[CacheLevel, TierStats]>)
    tiers[level] = { ...s };
  return {
    enabled,
    hits: stats.hits,
    misses: stats.misses,
    hitRate: stats.hitRate,
    bytes: stats.bytes,
    entries: stats.entries,
    evictions: stats.evictions,
    degraded: stats.degraded,
    tiers,
  };
}
