import { ApiProperty } from '@nestjs/swagger';
import type { CacheLevel, TierStats } from '../core/cache-tier';
import type { CacheStats } from '../core/tiered-cache';

export class CacheTierStatsDto {
  @ApiProperty({ enum: ['l1', 'l2', 'l3'] })
  level!: CacheLevel;
  @ApiProperty({ enum: ['up', 'degraded'] })
  status!: 'up' | 'degraded';
  /** null where the back-end cannot tell (Redis). */
  entries!: number | null;
  bytes!: number | null;
  /** Byte budget (memory, disk). */
  maxBytes!: number | null;
  /** Largest value accepted (Redis). */
  maxItemBytes!: number | null;
  hits!: number;
  misses!: number;
  /** Entries dropped to stay within the budget. */
  evictions!: number;
  /** Entries dropped at the end of their TTL. */
  expirations!: number;
  /** Values too large for this tier. */
  rejected!: number;
  errors!: number;
}

export class CacheTiersDto {
  l1?: CacheTierStatsDto;
  l2?: CacheTierStatsDto;
  l3?: CacheTierStatsDto;
}

export class CacheStatsResponseDto {
  /** False when cache.enabled is off or no tier is configured. */
  enabled!: boolean;
  hits!: number;
  misses!: number;
  /** hits / (hits + misses) since start, 0..1. */
  hitRate!: number;
  /** Bytes held in memory and on disk. */
  bytes!: number;
  entries!: number;
  evictions!: number;
  /** A configured tier (Redis) is down; memory and disk keep serving. */
  degraded!: boolean;
  tiers!: CacheTiersDto;
}

export class CacheClearResponseDto {
  /** Entries removed per tier (Redis reports 0 for a full clear: it does not count). */
  @ApiProperty({ example: { l1: 3, l2: 5, l3: 5 } })
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
