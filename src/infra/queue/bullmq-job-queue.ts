import { Logger } from '@nestjs/common';
import { Queue, Worker, type Job } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';
import { JobName, QueueName, type JobPayloads } from './job-names';
import { JobAbortedError, type EnqueueOptions, type JobHandler, type JobQueue } from './job-queue';
import { JobQueueBase, settlesWithin, type JobQueueLimits } from './job-queue-base';

export interface BullMqJobQueueOptions extends JobQueueLimits {
  redisUrl: string;
  prefix: string;
  consume: boolean;
  abortGraceMs?: number;
}

/**
 * Redis-backed queue (BullMQ): API and worker processes share one queue. Cancelling a job that runs
 * in another process goes through a Redis pub/sub channel that every worker listens to.
 */
export class BullMqJobQueue extends JobQueueBase implements JobQueue {
  readonly driver = 'redis' as const;
  private readonly logger = new Logger(BullMqJobQueue.name);
  private readonly connection: Redis;
  private readonly queue: Queue;
  private worker: Worker | null = null;
  private workerConnection: Redis | null = null;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<JobName, JobHandler<JobName>>();
  private readonly active = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  private readonly cancelChannel: string;

  constructor(private readonly options: BullMqJobQueueOptions) {
    super(options);
    this.connection = new IORedis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    this.connection.on('error', (err) => this.logger.error(`Redis: ${err.message}`));
    this.queue = new Queue(QueueName.Separation, { connection: this.connection, prefix: options.prefix });
    this.cancelChannel = `${options.prefix}:${QueueName.Separation}:cancel`;
  }

  async enqueue<N extends JobName>(
    name: N,
    id: string,
    payload: JobPayloads[N],
    opts: EnqueueOptions = {},
  ): Promise<void> {
    this.assertAccepting();
    if (!opts.bypassCapacity && !(await this.hasCapacity())) {
      throw await this.queueFull();
    }
    // jobId makes add() idempotent: an id already waiting or active is left alone.
    await this.queue.add(name, payload, {
      jobId: id,
      removeOnComplete: true,
      removeOnFail: true,
      attempts: 1,
    });
  }

  async hasCapacity(count = 1): Promise<boolean> {
    if (!this.accepting) return false;
    return (await this.queue.getWaitingCount()) + count <= this.options.capacity;
  }

  process<N extends JobName>(name: N, handler: JobHandler<N>): void {
    this.handlers.set(name, handler as unknown as JobHandler<JobName>);
    if (!this.options.consume || this.worker) return;
    // A connection of its own: a worker's blocking reads must not stall the queue's commands.
    this.workerConnection = this.connection.duplicate();
    this.worker = new Worker(QueueName.Separation, (job: Job) => this.run(job), {
      connection: this.workerConnection,
      prefix: this.options.prefix,
      concurrency: this.options.concurrency,
    });
    this.worker.on('error', (err) => this.logger.error(`Worker: ${err.message}`));
    this.subscriber = this.connection.duplicate();
    void this.subscriber.subscribe(this.cancelChannel);
    this.subscriber.on('message', (_channel: string, id: string) => {
      this.active.get(id)?.controller.abort(new JobAbortedError('canceled'));
    });
  }

  async cancel(id: string): Promise<'removed' | 'aborted' | 'unknown'> {
    const state = await this.queue.getJobState(id);
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      const removed = await this.queue.remove(id);
      if (removed) return 'removed';
    }
    if (state === 'active' || state === 'waiting') {
      await this.connection.publish(this.cancelChannel, id);
      return 'aborted';
    }
    return 'unknown';
  }

  async position(id: string): Promise<number | null> {
    const ids = await this.queue.getRanges(['waiting'], 0, this.options.capacity * 2, true);
    const index = ids.indexOf(id);
    return index >= 0 ? index + 1 : null;
  }

  protected async counts(): Promise<{ waiting: number; active: number }> {
    const [waiting, active] = await Promise.all([this.queue.getWaitingCount(), this.queue.getActiveCount()]);
    return { waiting, active };
  }

  protected async doShutdown(timeoutMs: number): Promise<void> {
    this.accepting = false;
    if (this.worker) {
      // Stop fetching; close() resolves when the active jobs are done.
      const closing = this.worker.close();
      if (!(await settlesWithin(closing, timeoutMs))) {
        this.logger.warn(`Aborting ${this.active.size} running job(s); they will run again after restart`);
        for (const a of this.active.values()) a.controller.abort(new JobAbortedError('shutdown'));
        if (!(await settlesWithin(closing, this.options.abortGraceMs ?? 10_000))) {
          this.logger.error('Job handlers ignored the abort signal; closing anyway');
          await this.worker.close(true).catch(() => undefined);
        }
      }
    }
    await this.workerConnection?.quit().catch(() => undefined);
    await this.subscriber?.quit().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    await this.connection.quit().catch(() => undefined);
  }

  private async run(job: Job): Promise<void> {
    const handler = this.handlers.get(job.name as JobName);
    if (!handler) throw new Error(`No handler for job ${job.name}`);
    const id = job.id!;
    const controller = new AbortController();
    const started = Date.now();
    const done = handler(job.data as never, {
      id,
      signal: controller.signal,
      attempt: job.attemptsStarted || 1,
    });
    this.active.set(id, { controller, done });
    try {
      await done;
      const ms = Date.now() - started;
      this.recordRun(ms);
    } finally {
      this.active.delete(id);
    }
  }
}
