import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { CallbackSender } from '../../infra/http/callback-sender.service';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { SeparationReader } from './separation-reader.service';

/**
 * Delivers the final job JSON to the job's callbackUrl (when it has one) and records the outcome on
 * the job. Deliveries interrupted by a shutdown stay 'pending' and are resumed at the next start.
 */
@Injectable()
export class SeparationCallbackService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(SeparationCallbackService.name);
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly jobs: SeparationJobRepository,
    private readonly reader: SeparationReader,
    private readonly sender: CallbackSender,
  ) {}

  /** Fire and forget: starts the delivery for a finished job unless one is already running. */
  schedule(jobId: string): void {
    if (this.inFlight.has(jobId)) return;
    const run = this.deliver(jobId)
      .catch((err: Error) => this.logger.error(`Callback for job ${jobId} failed: ${err.message}`, err.stack))
      .finally(() => this.inFlight.delete(jobId));
    this.inFlight.set(jobId, run);
  }

  /** Restart recovery: deliveries that never completed. */
  async resumePending(): Promise<number> {
    const pending = await this.jobs.findPendingCallbacks(500);
    for (const job of pending) this.schedule(job.id);
    return pending.length;
  }

  async beforeApplicationShutdown(): Promise<void> {
    // The sender stops retrying on shutdown; wait for requests already on the wire.
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Resolves when every delivery started so far has ended (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  private async deliver(jobId: string): Promise<void> {
    const job = await this.jobs.findById(jobId);
    if (!job?.callbackUrl || job.callbackStatus !== 'pending') return;
    const body = await this.reader.toResponse(job);
    const outcome = await this.sender.deliver({
      url: job.callbackUrl,
      event: `separation.${job.status}`,
      body,
      onAttempt: (attempt) => this.jobs.update(jobId, { callbackAttempts: job.callbackAttempts + attempt }),
    });
    if (outcome.interrupted) return;
    await this.jobs.update(jobId, { callbackStatus: outcome.delivered ? 'delivered' : 'failed' });
    if (!outcome.delivered) {
      this.logger.warn(
        `Gave up on the callback of job ${jobId} after ${outcome.attempts} attempt(s): ${outcome.lastError}`,
      );
    }
  }
}
