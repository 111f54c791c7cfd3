import { ApiProperty } from '@nestjs/swagger';

/** GET /v1/stats. Rates are 0..1 except the window's error rate (percent, like the alert threshold). */
export class StatsTotalsDto {
  completed!: number;
  succeeded!: number;
  failed!: number;
  canceled!: number;
  /** Completed from the result cache. */
  cached!: number;
}

export class StatsWindowDto {
  /** @example 900 */
  seconds!: number;
  completed!: number;
  failed!: number;
  /** failed / (completed − canceled), percent. */
  errorRatePercent!: number;
  jobsPerMinute!: number;
  audioSecondsPerMinute!: number;
}

export class ProcessingStatsDto {
  totals!: StatsTotalsDto;
  /** 0..1 */
  successRate!: number | null;
  /** Share of successful jobs served from the cache, 0..1 */
  cacheHitRate!: number | null;
  averageProcessingMs!: number | null;
  p95ProcessingMs!: number | null;
  /** Audio seconds per processing second. */
  averageRealtimeFactor!: number | null;
  audioSecondsProcessed!: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, example: { cpu: 12 } })
  executionProviders!: Record<string, number>;
  window!: StatsWindowDto;
}

export class MemoryDto {
  usagePercent!: number;
  usedBytes!: number;
  limitBytes!: number;
  @ApiProperty({ enum: ['cgroup', 'host'] })
  scope!: 'cgroup' | 'host';
  processRssBytes!: number;
  heapUsedBytes!: number;
}

export class CpuDto {
  cores!: number;
  loadAverage1m!: number;
  /** Percent of one core since the previous reading. */
  processPercent!: number;
}

export class GpuDto {
  index!: number;
  name!: string;
  memoryUsedBytes!: number | null;
  memoryTotalBytes!: number | null;
  /** 0..1 */
  utilization!: number | null;
}

export class SystemHealthDto {
  @ApiProperty({ enum: ['healthy', 'degraded', 'unhealthy'] })
  status!: 'healthy' | 'degraded' | 'unhealthy';
  memory!: MemoryDto;
  cpu!: CpuDto;
  /** Empty without a readable NVIDIA GPU. */
  gpu!: GpuDto[];
  /**
   * Provider new separations run on: the last separation's, else what the start-up check found.
   * @example cpu
   */
  executionProvider!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'AMD EPYC 7763 64-Core Processor',
    description:
      "Device behind executionProvider: the CPU model for cpu, 'CUDA device <n>' for cuda; null when not named (webgpu, or a GPU request not yet confirmed).",
  })
  executionDevice!: string | null;
  cacheDegraded!: boolean;
  shuttingDown!: boolean;
  uptimeSeconds!: number;
}

export class AlertDto {
  @ApiProperty({ enum: ['memory_usage', 'gpu_usage', 'error_rate'] })
  name!: string;
  @ApiProperty({ enum: ['warning', 'critical'] })
  severity!: string;
  /** Current value, percent. */
  value!: number;
  /** Configured threshold, percent. */
  threshold!: number;
  message!: string;
}

export class StatsResponseDto {
  generatedAt!: string;
  processing!: ProcessingStatsDto;
  system!: SystemHealthDto;
  alerts!: AlertDto[];
}
