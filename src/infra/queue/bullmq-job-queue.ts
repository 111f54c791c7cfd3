import { Logger } from '@nestjs/common';
import { Queue, Worker, type Job } from 'bullmq';
import IORedis, { type Redis, type RedisOptions } from 'ioredis';
import { ErrorCodes, SeparationError } from '../../core/errors';
import { DependencyState } from '../redis/dependency-state';
import { JobName, QueueName, type JobPayloads } from './job-names';
import { JobAbortedError, type EnqueueOptions, type JobHandler, type JobQueue } from './job-queue';
import { JobQueueBase, settlesWithin, type JobQueueLimits } from './job-queue-base';

export interface BullMqJobQueueOptions extends JobQueueLimits {
  redisUrl: string;
  prefix: string;
  consume: boolean;
  abortGraceMs?: number;
  /** Deadline for one producer-side operation (add, counts, cancel); default 1.5 s. */
  commandTimeoutMs?: number;
}

/** How long closing one BullMQ object may take at shutdown before it is dropped. */
const CLOSE_TIMEOUT_MS = 1000;
/** What a refused client is told to wait when Redis is away. */
const UNAVAILABLE_RETRY_AFTER_S = 5;

/** QUIT when connected (lets replies drain, bounded), else drop the socket and stop reconnecting. */
async function closeConnection(client: Redis): Promise<void> {
  if (client.status === 'ready' && (await settlesWithin(client.quit(), CLOSE_TIMEOUT_MS).catch(() => false)))
    return;
  client.disconnect(false);
}

/** An upload must get its answer within 2 s even when Redis is gone. */
const COMMAND_TIMEOUT_MS = 1500;

/** Settings every queue connection shares: reconnect forever, at most 2 s apart. */
function queueConnectionDefaults(): RedisOptions {
  return {
    lazyConnect: false,
    connectTimeout: 2000,
    disconnectTimeout: 500,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
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
  /** Whether Redis answers, and the rate-limited log of its outages. */
  readonly redis: DependencyState;

  constructor(private readonly options: BullMqJobQueueOptions) {
    super(options);
    this.redis = new DependencyState({ name: 'Redis (job queue)', logger: this.logger });
    // The producer side (add, counts, cancel) answers HTTP requests: it must fail fast when Redis
    // is away. No offline queue (commands reject at once while disconnected) and a command timeout
    // (a half-open socket cannot hold a request). The worker's blocking connection is separate.
    this.connection = new IORedis(options.redisUrl, {
      ...queueConnectionDefaults(),
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    });
    this.watch(this.connection);
    this.queue = new Queue(QueueName.Separation, { connection: this.connection, prefix: options.prefix });
    // Without a listener BullMQ prints each re-emitted connection error with its stack.
    this.queue.on('error', (err) => this.redis.failed(err));
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
    await this.producer('adding the job', () =>
      this.queue.add(name, payload, {
        jobId: id,
        removeOnComplete: true,
        removeOnFail: true,
        attempts: 1,
      }),
    );
  }

  async hasCapacity(count = 1): Promise<boolean> {
    if (!this.accepting) return false;
    const waiting = await this.producer('counting waiting jobs', () => this.queue.getWaitingCount());
    return waiting + count <= this.options.capacity;
  }

  process<N extends JobName>(name: N, handler: JobHandler<N>): void {
    this.handlers.set(name, handler as unknown as JobHandler<JobName>);
    if (!this.options.consume || this.worker) return;
    // A connection of its own: a worker's blocking reads must not stall the queue's commands.
    // BullMQ requires maxRetriesPerRequest null for blocking reads; no command timeout either.
    this.workerConnection = new IORedis(this.options.redisUrl, {
      ...queueConnectionDefaults(),
      maxRetriesPerRequest: null,
    });
    this.watch(this.workerConnection);
    this.worker = new Worker(QueueName.Separation, (job: Job) => this.run(job), {
      connection: this.workerConnection,
      prefix: this.options.prefix,
      concurrency: this.options.concurrency,
    });
    this.worker.on('error', (err) => this.redis.failed(err));
    this.subscriber = new IORedis(this.options.redisUrl, {
      ...queueConnectionDefaults(),
      maxRetriesPerRequest: null,
    });
    this.watch(this.subscriber);
    void this.subscriber.subscribe(this.cancelChannel);
    this.subscriber.on('message', (_channel: string, id: string) => {
      this.active.get(id)?.controller.abort(new JobAbortedError('canceled'));
    });
  }

  async cancel(id: string): Promise<'removed' | 'aborted' | 'unknown'> {
    const state = await this.producer('reading the job state', () => this.queue.getJobState(id));
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      const removed = await this.producer('removing the job', () => this.queue.remove(id));
      if (removed) return 'removed';
    }
    if (state === 'active' || state === 'waiting') {
      await this.producer('publishing the cancel', () => this.connection.publish(this.cancelChannel, id));
      return 'aborted';
    }
    return 'unknown';
  }

  async position(id: string): Promise<number | null> {
    // A status read must not fail because Redis is away: the position is then unknown (null).
    if (!this.redisReady()) return null;
    const ids = await this.producer('reading queue positions', () =>
      this.queue.getRanges(['waiting'], 0, this.options.capacity * 2, true),
    ).catch(() => [] as string[]);
    const index = ids.indexOf(id);
    return index >= 0 ? index + 1 : null;
  }

  protected async counts(): Promise<{ waiting: number; active: number }> {
    const [waiting, active] = await this.producer('reading queue counts', () =>
      Promise.all([this.queue.getWaitingCount(), this.queue.getActiveCount()]),
    );
    return { waiting, active };
  }

  protected async doShutdown(timeoutMs: number): Promise<void> {
    this.accepting = false;
    if (this.worker) {
      // With Redis away and nothing running there is nothing to drain: waiting on close() would
      // only wait for a connection that may never come back.
      const drain = this.active.size > 0 || this.redisReady();
      const closing = drain ? this.worker.close() : this.worker.close(true);
      closing.catch(() => undefined);
      if (!(await settlesWithin(closing, drain ? timeoutMs : CLOSE_TIMEOUT_MS))) {
        if (this.active.size > 0) {
          this.logger.warn(`Aborting ${this.active.size} running job(s); they will run again after restart`);
          for (const a of this.active.values()) a.controller.abort(new JobAbortedError('shutdown'));
          if (!(await settlesWithin(closing, this.options.abortGraceMs ?? 10_000))) {
            this.logger.error('Job handlers ignored the abort signal; closing anyway');
          }
        }
        await settlesWithin(this.worker.close(true), CLOSE_TIMEOUT_MS);
      }
    }
    await settlesWithin(this.queue.close(), CLOSE_TIMEOUT_MS);
    await Promise.all(
      [this.workerConnection, this.subscriber, this.connection].map((c) =>
        c ? closeConnection(c) : undefined,
      ),
    );
  }

  /** Whether the producer connection is connected and past its ready check. */
  private redisReady(): boolean {
    return this.connection.status === 'ready';
  }

  /**
   * Runs one producer-side operation: at once QUEUE_UNAVAILABLE when Redis is not connected (so
   * nothing is left pending that could still land after the client was told no), else bounded by
   * the command timeout. Any Redis failure becomes QUEUE_UNAVAILABLE with a Retry-After.
   */
  private async producer<T>(what: string, op: () => Promise<T>): Promise<T> {
    const timeoutMs = this.options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    const started = Date.now();
    if (!this.redisReady()) {
      // A known outage: refuse at once. Otherwise (just started, a reconnect under way) wait for
      // the connection within the deadline; `op` runs only once connected, so nothing is left
      // pending that could still land after the client was told no.
      if (!this.redis.available || !(await this.readyWithin(timeoutMs))) {
        throw this.unavailable(what, this.redis.reason || `connection ${this.connection.status}`);
      }
    }
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    let timer: NodeJS.Timeout | undefined;
    const pending = op();
    pending.catch(() => undefined);
    try {
      return await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), left);
        }),
      ]);
    } catch (err) {
      if (err instanceof SeparationError) throw err;
      this.redis.failed(err);
      throw this.unavailable(what, (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves true when the producer connection becomes ready within `ms`, else false. */
  private readyWithin(ms: number): Promise<boolean> {
    if (this.redisReady()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.connection.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(this.redisReady()), ms);
      this.connection.on('ready', onReady);
    });
  }

  private unavailable(what: string, reason: string): SeparationError {
    return new SeparationError(
      ErrorCodes.QUEUE_UNAVAILABLE,
      'The job queue is unavailable (Redis cannot be reached); nothing was accepted, retry later',
      { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_S, operation: what, reason },
    );
  }

  /** Connection errors go through the rate-limited state tracker, never one line each. */
  private watch(client: Redis): void {
    client.on('error', (err: Error) => this.redis.failed(err));
    client.on('ready', () => {
      if ([this.connection, this.workerConnection, this.subscriber].every((c) => !c || c.status === 'ready'))
        this.redis.recovered();
    });
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
