import { ErrorCodes, SeparationError } from '../../core/errors';
import type { QueueStats } from './job-queue';

/** What both queue drivers are configured with. */
export interface JobQueueLimits {
  concurrency: number;
  /** Max waiting (not yet running) jobs. */
  capacity: number;
}

/**
 * State and rules the queue drivers share: accepting/shutting down, the capacity error, the
 * run-time average behind Retry-After, stats and a once-only shutdown.
 */
export abstract class JobQueueBase {
  abstract readonly driver: QueueStats['driver'];
  protected accepting = true;
  protected averageRunMs: number | null = null;
  private shutdownPromise: Promise<void> | null = null;

  constructor(private readonly limits: JobQueueLimits) {}

  /** Jobs waiting and running, for stats(). */
  protected abstract counts(): Promise<{ waiting: number; active: number }>;

  protected abstract doShutdown(timeoutMs: number): Promise<void>;

  async retryAfterSeconds(): Promise<number> {
    // Time until one waiting slot frees: one run time spread over the runners, at least a second.
    const avg = this.averageRunMs ?? 10_000;
    return Math.min(300, Math.max(1, Math.ceil(avg / 1000 / this.limits.concurrency)));
  }

  async stats(): Promise<QueueStats> {
    const { waiting, active } = await this.counts();
    return {
      driver: this.driver,
      waiting,
      active,
      capacity: this.limits.capacity,
      concurrency: this.limits.concurrency,
      accepting: this.accepting,
      averageRunMs: this.averageRunMs,
    };
  }

  shutdown(timeoutMs: number): Promise<void> {
    this.shutdownPromise ??= this.doShutdown(timeoutMs);
    return this.shutdownPromise;
  }

  /** Throws SHUTTING_DOWN once shutdown began. */
  protected assertAccepting(): void {
    if (!this.accepting) {
      throw new SeparationError(
        ErrorCodes.SHUTTING_DOWN,
        'The server is shutting down; retry on another instance',
        { retryAfterSeconds: 5 },
      );
    }
  }

  protected async queueFull(): Promise<SeparationError> {
    return new SeparationError(
      ErrorCodes.QUEUE_FULL,
      `The job queue is full (${this.limits.capacity} waiting)`,
      { retryAfterSeconds: await this.retryAfterSeconds(), limit: this.limits.capacity },
    );
  }

  /** Folds one finished run into the moving average. */
  protected recordRun(ms: number): void {
    this.averageRunMs = this.averageRunMs === null ? ms : this.averageRunMs * 0.8 + ms * 0.2;
  }
}

/** Whether `promise` settles within `ms` (it is not canceled either way). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
