import { Logger } from '@nestjs/common';
import type { JobName, JobPayloads } from './job-names';
import { JobAbortedError, type EnqueueOptions, type JobHandler, type JobQueue } from './job-queue';
import { JobQueueBase, settlesWithin, type JobQueueLimits } from './job-queue-base';

export interface InProcessJobQueueOptions extends JobQueueLimits {
  /** False in an API-only process: jobs are accepted but never run here. */
  consume: boolean;
  /** After shutdown aborts running jobs, how long to wait for their handlers to return. */
  abortGraceMs?: number;
}

interface Waiting {
  name: JobName;
  id: string;
  payload: unknown;
}

interface Active {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * FIFO queue in this process's memory with a fixed number of concurrent runners. Nothing here
 * survives a restart: the database rows do, and recovery enqueues unfinished jobs again at start-up.
 */
export class InProcessJobQueue extends JobQueueBase implements JobQueue {
  readonly driver = 'memory' as const;
  private readonly logger = new Logger(InProcessJobQueue.name);
  private readonly waiting: Waiting[] = [];
  private readonly active = new Map<string, Active>();
  private readonly handlers = new Map<JobName, JobHandler<JobName>>();
  private readonly attempts = new Map<string, number>();

  constructor(private readonly options: InProcessJobQueueOptions) {
    super(options);
  }

  async enqueue<N extends JobName>(
    name: N,
    id: string,
    payload: JobPayloads[N],
    opts: EnqueueOptions = {},
  ): Promise<void> {
    this.assertAccepting();
    if (this.active.has(id) || this.waiting.some((w) => w.id === id)) return;
    if (!opts.bypassCapacity && this.waiting.length >= this.options.capacity) {
      throw await this.queueFull();
    }
    this.waiting.push({ name, id, payload });
    this.pump();
  }

  async hasCapacity(count = 1): Promise<boolean> {
    return this.accepting && this.waiting.length + count <= this.options.capacity;
  }

  process<N extends JobName>(name: N, handler: JobHandler<N>): void {
    this.handlers.set(name, handler as unknown as JobHandler<JobName>);
    this.pump();
  }

  async cancel(id: string): Promise<'removed' | 'aborted' | 'unknown'> {
    const index = this.waiting.findIndex((w) => w.id === id);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      return 'removed';
    }
    const active = this.active.get(id);
    if (active) {
      active.controller.abort(new JobAbortedError('canceled'));
      return 'aborted';
    }
    return 'unknown';
  }

  async position(id: string): Promise<number | null> {
    const index = this.waiting.findIndex((w) => w.id === id);
    return index >= 0 ? index + 1 : null;
  }

  protected async counts(): Promise<{ waiting: number; active: number }> {
    return { waiting: this.waiting.length, active: this.active.size };
  }

  protected async doShutdown(timeoutMs: number): Promise<void> {
    this.accepting = false;
    // Waiting jobs stay 'queued' in the database; the next start enqueues them again.
    this.waiting.length = 0;
    if (this.active.size === 0) return;
    this.logger.log(`Waiting up to ${timeoutMs} ms for ${this.active.size} running job(s)`);
    const allDone = () => Promise.allSettled([...this.active.values()].map((a) => a.done));
    if (await settlesWithin(allDone(), timeoutMs)) return;
    this.logger.warn(`Aborting ${this.active.size} running job(s); they will run again after restart`);
    for (const a of this.active.values()) a.controller.abort(new JobAbortedError('shutdown'));
    if (!(await settlesWithin(allDone(), this.options.abortGraceMs ?? 10_000))) {
      this.logger.error(`${this.active.size} job handler(s) ignored the abort signal; exiting anyway`);
    }
  }

  private pump(): void {
    if (!this.options.consume || !this.accepting) return;
    while (this.active.size < this.options.concurrency) {
      const index = this.waiting.findIndex((w) => this.handlers.has(w.name));
      if (index < 0) return;
      const [job] = this.waiting.splice(index, 1);
      this.run(job);
    }
  }

  private run(job: Waiting): void {
    const handler = this.handlers.get(job.name)!;
    const controller = new AbortController();
    const attempt = (this.attempts.get(job.id) ?? 0) + 1;
    this.attempts.set(job.id, attempt);
    const started = Date.now();
    const done = Promise.resolve()
      .then(() => handler(job.payload as never, { id: job.id, signal: controller.signal, attempt }))
      .then(
        () => this.recordRun(Date.now() - started),
        (err: unknown) =>
          this.logger.error(
            `Job ${job.name} ${job.id} handler failed: ${(err as Error)?.message}`,
            (err as Error)?.stack,
          ),
      )
      .finally(() => {
        this.active.delete(job.id);
        this.attempts.delete(job.id);
        this.pump();
      });
    this.active.set(job.id, { controller, done });
  }
}
