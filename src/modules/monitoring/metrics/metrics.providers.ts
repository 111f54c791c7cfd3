import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, GaugeConfiguration } from 'prom-client';
import { CACHE_LEVELS, type TierStats } from '../../cache/core/cache-tier';
import type { GpuSample } from '../stats/gpu-probe';
import { MetricNames } from './metric-names';
import { scrapeSources } from './scrape-sources';

const DURATION_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];
const RTF_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Queue gauges, read on scrape from the job queue port. */
async function collectQueue(this: Gauge, field: 'waiting' | 'active' | 'capacity'): Promise<void> {
  const source = scrapeSources().queueStats;
  this.reset();
  if (!source) return;
  try {
    this.set((await source())[field]);
  } catch {
    // An unreachable queue back-end shows as an absent value; readiness reports it.
  }
}

/** Per-tier cache numbers, read on scrape from CacheService (monotonic counters set to their totals). */
function collectCache(this: Counter | Gauge, pick: (t: TierStats) => number | null): void {
  const source = scrapeSources().cacheStats;
  this.reset();
  if (!source) return;
  const stats = source();
  for (const level of CACHE_LEVELS) {
    const tier = stats.tiers[level];
    if (!tier) continue;
    const v = pick(tier);
    if (v === null) continue;
    if ('set' in this) this.set({ tier: level }, v);
    else this.inc({ tier: level }, v);
  }
}

/** nvidia-smi numbers per GPU, read on scrape (through the probe's 15 s reuse). */
async function collectGpu(this: Gauge, pick: (s: GpuSample) => number | null): Promise<void> {
  const source = scrapeSources().gpu;
  this.reset();
  if (!source) return;
  for (const s of await source()) {
    const v = pick(s);
    if (v !== null) this.set({ gpu: String(s.index), name: s.name }, v);
  }
}

/** The GPU gauges, for MetricsCollector to register when a GPU provider is active (not Nest providers). */
export const gpuGaugeConfigs: ReadonlyArray<GaugeConfiguration<string>> = [
  {
    name: MetricNames.GpuMemoryUsed,
    help: 'GPU memory in use (nvidia-smi; registered only with a GPU provider active and nvidia-smi answering)',
    labelNames: ['gpu', 'name'],
    collect() {
      return collectGpu.call(this, (s) => s.memoryUsedBytes);
    },
  },
  {
    name: MetricNames.GpuMemoryTotal,
    help: 'GPU memory size (nvidia-smi)',
    labelNames: ['gpu', 'name'],
    collect() {
      return collectGpu.call(this, (s) => s.memoryTotalBytes);
    },
  },
  {
    name: MetricNames.GpuUtilization,
    help: 'GPU utilisation 0..1 (nvidia-smi)',
    labelNames: ['gpu', 'name'],
    collect() {
      return collectGpu.call(this, (s) => s.utilization);
    },
  },
];

export const metricProviders = [
  makeGaugeProvider({
    name: MetricNames.BuildInfo,
    help: 'Build information (always 1)',
    labelNames: ['version', 'node'],
  }),
  makeHistogramProvider({
    name: MetricNames.HttpRequestDuration,
    help: 'HTTP request duration by route template and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: HTTP_BUCKETS,
  }),
  makeCounterProvider({
    name: MetricNames.SeparationsTotal,
    help: 'Finished separations by model, outcome (succeeded, failed, canceled, cached) and execution provider',
    labelNames: ['model', 'outcome', 'execution_provider'],
  }),
  makeHistogramProvider({
    name: MetricNames.SeparationDuration,
    help: 'Wall time of successful separations (cache hits excluded)',
    labelNames: ['model', 'execution_provider'],
    buckets: DURATION_BUCKETS,
  }),
  makeHistogramProvider({
    name: MetricNames.SeparationRealtimeFactor,
    help: 'Seconds of audio separated per wall-clock second',
    labelNames: ['model', 'execution_provider'],
    buckets: RTF_BUCKETS,
  }),
  makeCounterProvider({
    name: MetricNames.AudioSecondsProcessed,
    help: 'Seconds of input audio separated (cache hits excluded)',
    labelNames: ['model'],
  }),
  makeCounterProvider({
    name: MetricNames.ModelCalls,
    help:
      'Model calls of succeeded separations; shared="true": merged with other jobs\' calls into one ' +
      'model call (performance.cross_job_batching)',
    labelNames: ['model', 'shared'],
  }),
  makeGaugeProvider({
    name: MetricNames.QueueDepth,
    help: 'Jobs waiting in the queue',
    collect() {
      return collectQueue.call(this, 'waiting');
    },
  }),
  makeGaugeProvider({
    name: MetricNames.QueueRunning,
    help: 'Jobs running now',
    collect() {
      return collectQueue.call(this, 'active');
    },
  }),
  makeGaugeProvider({
    name: MetricNames.QueueCapacity,
    help: 'Waiting jobs the queue accepts before answering 503 QUEUE_FULL',
    collect() {
      return collectQueue.call(this, 'capacity');
    },
  }),
  makeCounterProvider({
    name: MetricNames.CacheHits,
    help: 'Result cache lookups answered by a tier',
    labelNames: ['tier'],
    collect() {
      collectCache.call(this, (t) => t.hits);
    },
  }),
  makeCounterProvider({
    name: MetricNames.CacheMisses,
    help: 'Result cache lookups a tier could not answer',
    labelNames: ['tier'],
    collect() {
      collectCache.call(this, (t) => t.misses);
    },
  }),
  makeCounterProvider({
    name: MetricNames.CacheEvictions,
    help: 'Result cache entries evicted to stay within a byte budget',
    labelNames: ['tier'],
    collect() {
      collectCache.call(this, (t) => t.evictions);
    },
  }),
  makeGaugeProvider({
    name: MetricNames.CacheBytes,
    help: 'Bytes held by a result cache tier',
    labelNames: ['tier'],
    collect() {
      collectCache.call(this, (t) => t.bytes);
    },
  }),
  makeGaugeProvider({
    name: MetricNames.CacheEntries,
    help: 'Entries held by a result cache tier',
    labelNames: ['tier'],
    collect() {
      collectCache.call(this, (t) => t.entries);
    },
  }),
  makeGaugeProvider({
    name: MetricNames.CacheMaxBytes,
    help: 'Byte budget of a result cache tier',
    labelNames: ['tier'],
    collect() {
      collectCache.call(this, (t) => t.maxBytes);
    },
  }),
  makeGaugeProvider({
    name: MetricNames.CacheTierUp,
    help: '1 when a result cache tier is serving, 0 while degraded (Redis down)',
    labelNames: ['tier'],
    collect() {
      collectCache.call(this, (t) => (t.status === 'up' ? 1 : 0));
    },
  }),
  makeHistogramProvider({
    name: MetricNames.ModelLoadDuration,
    help: 'Time to load a model into an inference session',
    labelNames: ['model'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  }),
  makeCounterProvider({
    name: MetricNames.ModelInstalls,
    help: 'Model installations by outcome',
    labelNames: ['outcome'],
  }),
  makeCounterProvider({
    name: MetricNames.ErrorsTotal,
    help: 'Domain errors by code and where they happened',
    labelNames: ['code', 'source'],
  }),
  makeCounterProvider({
    name: MetricNames.AuthFailures,
    help: 'Rejected authentication attempts by reason',
    labelNames: ['reason'],
  }),
  makeGaugeProvider({
    name: MetricNames.MemoryUsageRatio,
    help: 'Memory in use against the limit, 0..1: the container working set against its cgroup limit, else host memory (what the memory_usage alert compares)',
    labelNames: ['scope'],
    collect() {
      const m = scrapeSources().memory?.();
      this.reset();
      if (m) this.set({ scope: m.scope }, m.usagePercent / 100);
    },
  }),
  makeGaugeProvider({
    name: MetricNames.MemoryLimitBytes,
    help: 'Memory limit the usage ratio is computed against',
    labelNames: ['scope'],
    collect() {
      const m = scrapeSources().memory?.();
      this.reset();
      if (m) this.set({ scope: m.scope }, m.limitBytes);
    },
  }),
  makeGaugeProvider({
    name: MetricNames.ExecutionProviderInfo,
    help: "Execution provider new separations run on and the device behind it (always 1; device '' when onnxruntime names none)",
    labelNames: ['provider', 'device'],
    collect() {
      const e = scrapeSources().execution?.();
      this.reset();
      if (e) this.set({ provider: e.provider, device: e.device ?? '' }, 1);
    },
  }),
  // The spleeter_gpu_* gauges are registered by MetricsCollector, only with a GPU provider active
  // and nvidia-smi answering (gpuGaugeConfigs).
];
