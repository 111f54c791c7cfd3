import { Injectable, Optional } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { DomainEvents, type SeparationEventPayload } from '../../../common/events/domain-events';
import { AppConfig } from '../../../infra/config/app-config';
import { CacheService } from '../../cache/cache.service';
import { EngineService } from '../../engine/engine.service';
import { ShutdownState } from '../health/shutdown-state.service';
import { computeAlerts, type Alert } from './alerts';
import { executionDeviceName } from '../../../infra/onnx/onnx-runtime';
import { GpuProbe, type GpuSample } from './gpu-probe';
import { ProcessingStats, type ProcessingStatsSnapshot, type SeparationOutcome } from './processing-stats';
import { SystemProbe, type CpuSnapshot, type MemorySnapshot } from './system-probe';

export interface SystemHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  memory: MemorySnapshot;
  cpu: CpuSnapshot;
  gpu: GpuSample[];
  executionProvider: string;
  /** The device behind executionProvider (EngineService.executionDevice). */
  executionDevice: string | null;
  cacheDegraded: boolean;
  shuttingDown: boolean;
  uptimeSeconds: number;
}

export interface StatsSummary {
  generatedAt: string;
  processing: ProcessingStatsSnapshot;
  system: SystemHealth;
  alerts: Alert[];
}

/**
 * The seed's get_stats_summary: processing statistics of this process (from separation events),
 * system health, and the alerts the configured thresholds raise.
 */
@Injectable()
export class StatsService {
  readonly processing = new ProcessingStats();

  constructor(
    private readonly config: AppConfig,
    private readonly system: SystemProbe,
    private readonly gpu: GpuProbe,
    private readonly shutdown: ShutdownState,
    @Optional() private readonly cache?: CacheService,
    @Optional() private readonly engine?: EngineService,
  ) {}

  @OnEvent(DomainEvents.SeparationSucceeded)
  onSucceeded(e: SeparationEventPayload): void {
    this.record(e.cached ? 'cached' : 'succeeded', e);
  }

  @OnEvent(DomainEvents.SeparationFailed)
  onFailed(e: SeparationEventPayload): void {
    this.record('failed', e);
  }

  @OnEvent(DomainEvents.SeparationCanceled)
  onCanceled(e: SeparationEventPayload): void {
    this.record('canceled', e);
  }

  async summary(): Promise<StatsSummary> {
    const processing = this.processing.snapshot();
    const memory = this.system.memory();
    const gpu = await this.gpu.sample();
    const gpuPercents = gpu
      .filter((g) => g.memoryUsedBytes !== null && g.memoryTotalBytes)
      .map((g) => (g.memoryUsedBytes! / g.memoryTotalBytes!) * 100);
    const alerts = computeAlerts(
      {
        memoryUsagePercent: memory.usagePercent,
        gpuUsagePercent: gpuPercents.length > 0 ? Math.max(...gpuPercents) : null,
        errorRatePercent: processing.window.errorRatePercent,
      },
      this.config.monitoring.alert_thresholds,
    );
    const cacheDegraded = this.cache?.getCacheStats().degraded ?? false;
    const shuttingDown = this.shutdown.shuttingDown;
    const status = shuttingDown ? 'unhealthy' : alerts.length > 0 || cacheDegraded ? 'degraded' : 'healthy';
    return {
      generatedAt: new Date().toISOString(),
      processing,
      system: {
        status,
        memory,
        cpu: this.system.cpu(),
        gpu,
        executionProvider: this.engine?.executionProvider ?? 'cpu',
        executionDevice: this.engine ? this.engine.executionDevice : executionDeviceName('cpu'),
        cacheDegraded,
        shuttingDown,
        uptimeSeconds: Math.round(process.uptime()),
      },
      alerts,
    };
  }

  private record(outcome: SeparationOutcome, e: SeparationEventPayload): void {
    this.processing.record({
      outcome,
      model: e.model,
      executionProvider: e.executionProvider,
      durationMs: outcome === 'succeeded' || outcome === 'failed' ? e.durationMs : undefined,
      audioSeconds: e.audioSeconds,
    });
  }
}
