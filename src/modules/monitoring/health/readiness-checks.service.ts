import { Inject, Injectable, Optional } from '@nestjs/common';
import { HealthIndicatorService, TypeOrmHealthIndicator, type HealthIndicatorResult } from '@nestjs/terminus';
import { reuseFor } from '../../../common/utils/reuse-for';
import { scrubPaths } from '../../../core/scrub-paths';
import { AppConfig } from '../../../infra/config/app-config';
import { JOB_QUEUE, type JobQueue } from '../../../infra/queue/job-queue';
import { RedisConnection } from '../../../infra/redis/redis-connection';
import { CacheService } from '../../cache/cache.service';
import { RedisCacheTier } from '../../cache/core/redis-cache.tier';
import { EngineService } from '../../engine/engine.service';
import { SystemProbe } from '../stats/system-probe';
import { ShutdownState } from './shutdown-state.service';

/** No single readiness check may hold the probe longer than this (Kubernetes' default timeout is 1 s). */
export const CHECK_TIMEOUT_MS = 900;

/**
 * The readiness checks, each a terminus indicator. A failing *critical* dependency answers `down`
 * (→ 503); an optional one that is missing answers `up` with `degraded: true` so operators see it
 * without the pod being taken out of rotation (Redis used only as a cache tier is such a case).
 */
@Injectable()
export class ReadinessChecks {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly typeorm: TypeOrmHealthIndicator,
    private readonly config: AppConfig,
    private readonly shutdownState: ShutdownState,
    private readonly system: SystemProbe,
    @Optional() private readonly redis?: RedisConnection,
    @Optional() private readonly cache?: CacheService,
    @Optional() private readonly engine?: EngineService,
    @Optional() @Inject(JOB_QUEUE) private readonly queue?: JobQueue,
  ) {}

  /** All checks for /health/ready, in report order. */
  all(): Array<() => Promise<HealthIndicatorResult>> {
    this.dependencyChecks ??= this.buildDependencyChecks();
    // Shutdown is never reused: readiness must drop the moment shutdown begins.
    return [() => this.shutdown(), ...this.dependencyChecks];
  }

  private dependencyChecks?: Array<() => Promise<HealthIndicatorResult>>;

  /** monitoring.health_check_interval: how long a dependency's answer is reused (0: every probe). */
  private buildDependencyChecks(): Array<() => Promise<HealthIndicatorResult>> {
    const checks: Array<() => Promise<HealthIndicatorResult>> = [
      () => this.database(),
      () => this.disk(),
      () => this.models(),
      () => this.jobQueue(),
      () => this.resultCache(),
    ];
    if (this.redis?.enabled) checks.splice(1, 0, () => this.redisServer());
    const ttlMs = this.config.monitoring.health_check_interval * 1000;
    return checks.map((check) => reuseFor(ttlMs, check));
  }

  async shutdown(): Promise<HealthIndicatorResult<'shutdown'>> {
    const s = this.indicator.check('shutdown');
    return this.shutdownState.shuttingDown
      ? s.down({ since: this.shutdownState.since!.toISOString() })
      : s.up();
  }

  async database(): Promise<HealthIndicatorResult> {
    try {
      return await this.typeorm.pingCheck('database', { timeout: CHECK_TIMEOUT_MS });
    } catch (err) {
      return this.indicator.check('database').down({ message: errorMessage(err) });
    }
  }

  /** Critical only when the job queue runs on Redis; otherwise Redis backs the optional L3 cache. */
  async redisServer(): Promise<HealthIndicatorResult<'redis'>> {
    const s = this.indicator.check('redis');
    const critical = this.config.queueDriver === 'redis';
    const ping = await this.redis!.ping(CHECK_TIMEOUT_MS);
    if (ping.ok) return s.up({ latencyMs: ping.latencyMs });
    if (critical) return s.down({ message: ping.error ?? 'unreachable', usedBy: 'queue' });
    return s.up({ degraded: true, message: ping.error ?? 'unreachable', usedBy: 'cache' });
  }

  /**
   * Free space per data directory, reported by role (`storage`, `cache`, `models`): the report is
   * public, and where the server keeps its files is not.
   */
  async disk(): Promise<HealthIndicatorResult<'disk'>> {
    const s = this.indicator.check('disk');
    const minFree = this.config.monitoring.min_free_disk_mb * 1024 * 1024;
    const roles: Record<string, string> = {
      storage: this.config.storage.dir,
      cache: this.config.cache.dir,
      models: this.config.models.dir,
    };
    const details: Record<string, { freeMb: number }> = {};
    let low: string | undefined;
    for (const [role, dir] of Object.entries(roles)) {
      try {
        const d = await this.system.disk(dir);
        details[role] = { freeMb: Math.floor(d.freeBytes / 1024 / 1024) };
        if (d.freeBytes < minFree) low = role;
      } catch (err) {
        return s.down({ message: `cannot stat the ${role} directory: ${scrubPaths(errorMessage(err))}` });
      }
    }
    const info = { minFreeMb: this.config.monitoring.min_free_disk_mb, directories: details };
    return low
      ? s.down({ ...info, message: `free space below threshold in the ${low} directory` })
      : s.up(info);
  }

  /** The models directory is writable and at least one model can be loaded. */
  async models(): Promise<HealthIndicatorResult<'models'>> {
    const s = this.indicator.check('models');
    if (!(await this.system.writable(this.config.models.dir)))
      return s.down({ message: 'the models directory is not writable' });
    if (!this.engine) return s.up({ writable: true });
    try {
      const models = await withTimeout(this.engine.listModels(), CHECK_TIMEOUT_MS, 'listing models');
      const installed = models.filter((m) => m.installed).length;
      return installed > 0
        ? s.up({ writable: true, installed })
        : s.down({ writable: true, installed, message: 'no installed model can be loaded' });
    } catch (err) {
      return s.down({ message: scrubPaths(errorMessage(err)) });
    }
  }

  async jobQueue(): Promise<HealthIndicatorResult<'queue'>> {
    const s = this.indicator.check('queue');
    if (!this.queue) return s.up({ message: 'no queue in this process' });
    try {
      const st = await withTimeout(this.queue.stats(), CHECK_TIMEOUT_MS, 'reading queue stats');
      const info = { driver: st.driver, waiting: st.waiting, running: st.active, capacity: st.capacity };
      if (!st.accepting) return s.down({ ...info, message: 'queue is not accepting jobs' });
      if (st.waiting >= st.capacity) return s.down({ ...info, message: 'queue is saturated' });
      return s.up(info);
    } catch (err) {
      return s.down({ message: errorMessage(err) });
    }
  }

  /**
   * Never fails readiness: L1/L2 keep serving when Redis is down. The L3 tier is asked now (a short
   * ping), so an outage shows here at once instead of after the next cache miss runs into it.
   */
  async resultCache(): Promise<HealthIndicatorResult<'cache'>> {
    const s = this.indicator.check('cache');
    if (!this.cache?.enabled) return s.up({ enabled: false });
    const tier = this.cache.cache.tier('l3');
    if (tier instanceof RedisCacheTier) await tier.check(CHECK_TIMEOUT_MS);
    const stats = this.cache.getCacheStats();
    const tiers = Object.fromEntries(Object.entries(stats.tiers).map(([level, t]) => [level, t.status]));
    const l3 = this.cache.cache.tier('l3');
    const reason = l3 instanceof RedisCacheTier ? l3.degradedReason : undefined;
    return s.up({ degraded: stats.degraded, tiers, ...(reason ? { message: `redis tier: ${reason}` } : {}) });
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  promise.catch(() => undefined);
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
