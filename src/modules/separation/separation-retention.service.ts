import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../../infra/config/app-config';
import { consumesJobs, PROCESS_ROLE, type ProcessRole } from '../../infra/queue/process-role';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { SeparationLifecycle } from './separation-lifecycle.service';
import { SeparationScratchService } from './separation-scratch.service';

const BATCH = 200;

/**
 * Deletes the files of finished jobs once `storage.retention_hours` have passed (the job rows stay,
 * with filesDeletedAt set) and sweeps orphaned scratch (SeparationScratchService). Runs every
 * `storage.cleanup_interval_min` in processes that run jobs.
 */
@Injectable()
export class SeparationRetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SeparationRetentionService.name);
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly jobs: SeparationJobRepository,
    @Inject(PROCESS_ROLE) private readonly role: ProcessRole,
    private readonly config: AppConfig,
    private readonly scratch: SeparationScratchService,
    private readonly lifecycle: SeparationLifecycle,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (!consumesJobs(this.role)) return;
    // Registered with @nestjs/schedule, which clears it at shutdown.
    const every = this.config.storage.cleanup_interval_min * 60_000;
    this.scheduler.addInterval(
      'separation-retention',
      setInterval(() => this.tick(), every),
    );
    this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.running;
  }

  /** Deletes expired job files now; returns how many jobs were cleaned. */
  async purgeExpired(now = new Date()): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = await this.jobs.findExpired(now, BATCH);
      for (const job of expired) await this.lifecycle.expire(job);
      total += expired.length;
      if (expired.length < BATCH) return total;
    }
  }

  private tick(): void {
    if (this.running) return;
    this.running = (async () => {
      const jobs = await this.purgeExpired();
      if (jobs > 0) this.logger.log(`Retention: deleted files of ${jobs} job(s)`);
      await this.scratch.sweepOrphans();
    })()
      .catch((err: Error) => this.logger.error(`Retention cleanup failed: ${err.message}`, err.stack))
      .finally(() => {
        this.running = null;
      });
  }
}
