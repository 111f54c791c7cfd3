import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, Gauge, register } from 'prom-client';
import { reuseFor } from '../../../common/utils/reuse-for';
import { AppConfig } from '../../../infra/config/app-config';
import { JOB_QUEUE, type JobQueue } from '../../../infra/queue/job-queue';
import { CacheService } from '../../cache/cache.service';
import { EngineService } from '../../engine/engine.service';
import { withTimeout } from '../health/readiness-checks.service';
import { GpuProbe } from '../stats/gpu-probe';
import { SystemProbe } from '../stats/system-probe';
import { MetricNames } from './metric-names';
import { gpuGaugeConfigs } from './metrics.providers';
import { clearScrapeSources, setScrapeSources, type ScrapeSources } from './scrape-sources';

/** A scrape must not hang on a dead queue back-end (BullMQ waits forever for Redis by design). */
const SCRAPE_SOURCE_TIMEOUT_MS = 1000;

/** A GPU execution provider among a (possibly comma-joined) provider string. */
export function isGpuProvider(provider: string): boolean {
  return provider.split(',').some((p) => p.trim() === 'cuda' || p.trim() === 'webgpu');
}

/** Process defaults, build info, and the sources scrape-time gauges read (queue, cache, memory, GPU). */
@Injectable()
export class MetricsCollector implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Metrics');
  private sources: ScrapeSources = {};

  constructor(
    @InjectMetric(MetricNames.BuildInfo) private readonly buildInfo: Gauge<string>,
    private readonly gpu: GpuProbe,
    private readonly system: SystemProbe,
    private readonly config: AppConfig,
    @Optional() private readonly cache?: CacheService,
    @Optional() @Inject(JOB_QUEUE) private readonly queue?: JobQueue,
    @Optional() private readonly engine?: EngineService,
  ) {}

  onModuleInit(): void {
    // Once per process: prom-client refuses to register the default metrics twice.
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
    this.buildInfo.set({ version: buildVersion(), node: process.version }, 1);
    const queue = this.queue;
    const cache = this.cache;
    // monitoring.export_interval: how long a gauge source's reading is reused (0: every scrape).
    const ttlMs = this.config.monitoring.export_interval * 1000;
    this.sources = {
      queueStats: queue
        ? reuseFor(ttlMs, () => withTimeout(queue.stats(), SCRAPE_SOURCE_TIMEOUT_MS, 'queue stats'))
        : undefined,
      cacheStats: cache?.enabled ? reuseFor(ttlMs, () => cache.getCacheStats()) : undefined,
      gpu: reuseFor(ttlMs, () => this.gpu.sample()),
      memory: reuseFor(ttlMs, () => this.system.memory()),
      execution: this.engine
        ? () => ({ provider: this.engine!.executionProvider, device: this.engine!.executionDevice })
        : undefined,
    };
    setScrapeSources(this.sources);
  }

  /**
   * After every module's init, so EngineService's start-up check has settled the provider: the
   * spleeter_gpu_* gauges exist only when a GPU provider runs separations and nvidia-smi answers
   * (on a CPU host, or with WebGPU on a non-NVIDIA GPU, they are absent rather than empty).
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.engine || !isGpuProvider(this.engine.executionProvider)) return;
    const samples = await this.gpu.sample();
    if (samples.length === 0) return;
    for (const config of gpuGaugeConfigs) {
      // prom-client's registry is process-wide: a second app in the same process reuses the gauge.
      if (!register.getSingleMetric(config.name)) new Gauge({ ...config, registers: [register] });
    }
    this.logger.log(`GPU metrics from nvidia-smi for ${samples.map((s) => s.name).join(', ')}`);
  }

  onModuleDestroy(): void {
    clearScrapeSources(this.sources);
  }
}

function buildVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
