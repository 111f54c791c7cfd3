import { Inject, Injectable, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, register, type Gauge } from 'prom-client';
import { reuseFor } from '../../../common/utils/reuse-for';
import { AppConfig } from '../../../infra/config/app-config';
import { JOB_QUEUE, type JobQueue } from '../../../infra/queue/job-queue';
import { CacheService } from '../../cache/cache.service';
import { withTimeout } from '../health/readiness-checks.service';
import { GpuProbe } from '../stats/gpu-probe';
import { SystemProbe } from '../stats/system-probe';
import { MetricNames } from './metric-names';
import { clearScrapeSources, setScrapeSources, type ScrapeSources } from './scrape-sources';

/** A scrape must not hang on a dead queue back-end (BullMQ waits forever for Redis by design). */
const SCRAPE_SOURCE_TIMEOUT_MS = 1000;

/** Process defaults, build info, and the sources scrape-time gauges read (queue, cache, memory, GPU). */
@Injectable()
export class MetricsCollector implements OnModuleInit, OnModuleDestroy {
  private sources: ScrapeSources = {};

  constructor(
    @InjectMetric(MetricNames.BuildInfo) private readonly buildInfo: Gauge<string>,
    private readonly gpu: GpuProbe,
    private readonly system: SystemProbe,
    private readonly config: AppConfig,
    @Optional() private readonly cache?: CacheService,
    @Optional() @Inject(JOB_QUEUE) private readonly queue?: JobQueue,
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
    };
    setScrapeSources(this.sources);
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
