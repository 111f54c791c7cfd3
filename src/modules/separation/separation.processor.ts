import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { runWithLogContext } from '../../common/logging/log-context';
import { AppConfig } from '../../infra/config/app-config';
import { JobName } from '../../infra/queue/job-names';
import { JOB_QUEUE, type JobQueue } from '../../infra/queue/job-queue';
import { consumesJobs, PROCESS_ROLE, type ProcessRole } from '../../infra/queue/process-role';
import { SeparationExecutionService } from './separation-execution.service';
import { SeparationProgressHub } from './separation-progress.hub';

/**
 * Thin queue consumer: hands each Separate job to the execution service, inside a log context
 * that adds the job id to every line written while it runs (engine, models, cache, callbacks).
 */
@Injectable()
export class SeparationProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(PROCESS_ROLE) private readonly role: ProcessRole,
    private readonly execution: SeparationExecutionService,
    private readonly hub: SeparationProgressHub,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!consumesJobs(this.role)) return;
    this.queue.process(JobName.Separate, (payload, ctx) =>
      runWithLogContext({ jobId: payload.jobId }, () => this.execution.run(payload.jobId, ctx)),
    );
  }

  /**
   * The one queue shutdown (before the database closes in onApplicationShutdown): running jobs
   * finish or are re-queued first, then open SSE streams and waits end with the final state.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.queue.shutdown(this.config.server.shutdown_timeout_s * 1000);
    this.hub.close();
  }
}
