import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { JobName } from '../../infra/queue/job-names';
import { JOB_QUEUE, type JobQueue } from '../../infra/queue/job-queue';
import { consumesJobs, PROCESS_ROLE, type ProcessRole } from '../../infra/queue/process-role';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { SeparationCallbackService } from './separation-callback.service';
import { MAX_JOB_ATTEMPTS, SeparationLifecycle } from './separation-lifecycle.service';
import { SeparationScratchService } from './separation-scratch.service';
import { SeparationStatus } from './separation-status';

/**
 * Start-up recovery. The database knows every accepted job; the queue may not (in-process queue
 * after a restart). Queued jobs are enqueued again; jobs left 'running' by a process that died are
 * put back to 'queued' (or failed after MAX_JOB_ATTEMPTS starts, so a job that crashes the process
 * cannot loop forever). Undelivered callbacks are resumed. Then, in every process (API too),
 * scratch that no live job or upload owns is swept (a killed process's `.partial` outputs).
 */
@Injectable()
export class SeparationRecoveryService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SeparationRecoveryService.name);

  constructor(
    private readonly jobs: SeparationJobRepository,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(PROCESS_ROLE) private readonly role: ProcessRole,
    private readonly callbacks: SeparationCallbackService,
    private readonly scratch: SeparationScratchService,
    private readonly lifecycle: SeparationLifecycle,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (consumesJobs(this.role)) {
      const result = await this.recover();
      if (result.requeued + result.failed > 0) {
        this.logger.log(
          `Recovered ${result.requeued} unfinished job(s); failed ${result.failed} interrupted too often`,
        );
      }
    }
    // After recovery: with the in-process queue, jobs the last run left 'running' are re-queued by
    // now, so their staging directories count as orphans.
    await this.scratch
      .sweepOrphans()
      .catch((err: Error) => this.logger.warn(`Scratch sweep at start-up failed: ${err.message}`));
    if (consumesJobs(this.role)) await this.callbacks.resumePending();
  }

  async recover(): Promise<{ requeued: number; failed: number }> {
    let requeued = 0;
    let failed = 0;
    for (const job of await this.jobs.findUnfinished()) {
      // With the Redis queue another live worker may be running it: BullMQ's stalled-job check
      // owns redelivery there, and enqueue() below is a no-op for a job it still holds.
      if (job.status === SeparationStatus.Running && this.queue.driver === 'memory') {
        if (job.attempts >= MAX_JOB_ATTEMPTS) {
          await this.lifecycle.giveUp(job);
          failed++;
          continue;
        }
        await this.lifecycle.requeue(job);
      }
      await this.queue.enqueue(JobName.Separate, job.id, { jobId: job.id }, { bypassCapacity: true });
      requeued++;
    }
    return { requeued, failed };
  }
}
