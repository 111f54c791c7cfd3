import type { QueueStats } from '../../../infra/queue/job-queue';
import type { CacheStats } from '../../cache/core/tiered-cache';
import type { GpuSample } from '../stats/gpu-probe';
import type { MemorySnapshot } from '../stats/system-probe';

/**
 * What scrape-time metrics read. prom-client's registry is process-wide and a metric's `collect`
 * is fixed when it is first created, so collectors read the sources of the running application
 * from here (the MetricsCollector sets them on start and clears them on shutdown) instead of
 * closing over the first application's services.
 */
export interface ScrapeSources {
  queueStats?: () => Promise<QueueStats>;
  cacheStats?: () => CacheStats;
  gpu?: () => Promise<GpuSample[]>;
  /** The execution provider new separations get and the device behind it (EngineService). */
  execution?: () => { provider: string; device: string | null };
  memory?: () => MemorySnapshot;
}

let current: ScrapeSources = {};

export function setScrapeSources(sources: ScrapeSources): void {
  current = sources;
}

export function clearScrapeSources(sources: ScrapeSources): void {
  if (current === sources) current = {};
}

export function scrapeSources(): ScrapeSources {
  return current;
}
