import { ApiProperty } from '@nestjs/swagger';

/** GET /v1/stats. Rates are 0..1 except the window's error rate (percent, like the alert threshold). */
export class StatsTotalsDto {
  @ApiProperty() completed!: number;
  @ApiProperty() succeeded!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() canceled!: number;
  @ApiProperty({ description: 'Completed from the result cache.' }) cached!: number;
}

export class StatsWindowDto {
  @ApiProperty({ example: 900 }) seconds!: number;
  @ApiProperty() completed!: number;
  @ApiProperty() failed!: number;
  @ApiProperty({ description: 'failed / (completed − canceled), percent.' }) errorRatePercent!: number;
  @ApiProperty() jobsPerMinute!: number;
  @ApiProperty() audioSecondsPerMinute!: number;
}

export class ProcessingStatsDto {
  @ApiProperty({ type: StatsTotalsDto }) totals!: StatsTotalsDto;
  @ApiProperty({ type: Number, nullable: true, description: '0..1' }) successRate!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Share of successful jobs served from the cache, 0..1',
  })
  cacheHitRate!: number | null;
  @ApiProperty({ type: Number, nullable: true }) averageProcessingMs!: number | null;
  @ApiProperty({ type: Number, nullable: true }) p95ProcessingMs!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Audio seconds per processing second.' })
  averageRealtimeFactor!: number | null;
  @ApiProperty() audioSecondsProcessed!: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, example: { cpu: 12 } })
  executionProviders!: Record<string, number>;
  @ApiProperty({ type: StatsWindowDto }) window!: StatsWindowDto;
}

export class MemoryDto {
  @ApiProperty() usagePercent!: number;
  @ApiProperty() usedBytes!: number;
  @ApiProperty() limitBytes!: number;
  @ApiProperty({ enum: ['cgroup', 'host'] }) scope!: 'cgroup' | 'host';
  @ApiProperty() processRssBytes!: number;
  @ApiProperty() heapUsedBytes!: number;
}

export class CpuDto {
  @ApiProperty() cores!: number;
  @ApiProperty() loadAverage1m!: number;
  @ApiProperty({ description: 'Percent of one core since the previous reading.' }) processPercent!: number;
}

export class GpuDto {
  @ApiProperty() index!: number;
  @ApiProperty() name!: string;
  @ApiProperty({ type: Number, nullable: true }) memoryUsedBytes!: number | null;
  @ApiProperty({ type: Number, nullable: true }) memoryTotalBytes!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: '0..1' }) utilization!: number | null;
}

export class SystemHealthDto {
  @ApiProperty({ enum: ['healthy', 'degraded', 'unhealthy'] }) status!: 'healthy' | 'degraded' | 'unhealthy';
  @ApiProperty({ type: MemoryDto }) memory!: MemoryDto;
  @ApiProperty({ type: CpuDto }) cpu!: CpuDto;
  @ApiProperty({ type: [GpuDto], description: 'Empty without a readable NVIDIA GPU.' }) gpu!: GpuDto[];
  @ApiProperty({
    example: 'cpu',
    description:
      "Provider new separations run on: the last separation's, else what the start-up check found.",
  })
  executionProvider!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'AMD EPYC 7763 64-Core Processor',
    description:
      "Device behind executionProvider: the CPU model for cpu, 'CUDA device <n>' for cuda; null when not named (webgpu, or a GPU request not yet confirmed).",
  })
  executionDevice!: string | null;
  @ApiProperty() cacheDegraded!: boolean;
  @ApiProperty() shuttingDown!: boolean;
  @ApiProperty() uptimeSeconds!: number;
}

export class AlertDto {
  @ApiProperty({ enum: ['memory_usage', 'gpu_usage', 'error_rate'] }) name!: string;
  @ApiProperty({ enum: ['warning', 'critical'] }) severity!: string;
  @ApiProperty({ description: 'Current value, percent.' }) value!: number;
  @ApiProperty({ description: 'Configured threshold, percent.' }) threshold!: number;
  @ApiProperty() message!: string;
}

export class StatsResponseDto {
  @ApiProperty() generatedAt!: string;
  @ApiProperty({ type: ProcessingStatsDto }) processing!: ProcessingStatsDto;
  @ApiProperty({ type: SystemHealthDto }) system!: SystemHealthDto;
  @ApiProperty({ type: [AlertDto] }) alerts!: AlertDto[];
}
