/**
 * Job queue port. The in-process implementation runs jobs in this process; the Redis (BullMQ) one
 * shares them between processes. Controllers and services only see this interface.
 *
 * The database row is the source of truth for a job's state; the queue only decides who runs what,
 * when. `enqueue` is idempotent per id, so recovery after a restart can simply enqueue every unfinished
 * job again.
 */
import type { JobName, JobPayloads } from './job-names';

export const JOB_QUEUE = Symbol('JOB_QUEUE');

/** Why a running job's AbortSignal fired (its `reason`). */
export class JobAbortedError extends Error {
  constructor(readonly reason: 'canceled' | 'shutdown') {
    super(reason === 'canceled' ? 'Job canceled' : 'Worker shutting down');
    this.name = 'JobAbortedError';
  }
}

export function abortReasonOf(signal: AbortSignal): 'canceled' | 'shutdown' | null {
  if (!signal.aborted) return null;
  return signal.reason instanceof JobAbortedError ? signal.reason.reason : 'canceled';
}

export interface JobContext {
  id: string;
  /** Fires on cancel (reason 'canceled') or on shutdown after the grace period (reason 'shutdown'). */
  signal: AbortSignal;
  /** 1 for the first delivery of this id to a worker in this process. */
  attempt: number;
}

export type JobHandler<N extends JobName> = (payload: JobPayloads[N], ctx: JobContext) => Promise<void>;

export interface EnqueueOptions {
  /** Recovery re-enqueues jobs accepted before a restart; they must not be refused for capacity. */
  bypassCapacity?: boolean;
}

export interface QueueStats {
  driver: 'memory' | 'redis';
  waiting: number;
  active: number;
  capacity: number;
  concurrency: number;
  accepting: boolean;
  /** Moving average of job run times in ms (null until one finished here). */
  averageRunMs: number | null;
}

export interface JobQueue {
  readonly driver: 'memory' | 'redis';
  /**
   * Adds a job. Throws SeparationError QUEUE_FULL (with `retryAfterSeconds`) when `capacity` jobs
   * are already waiting, SHUTTING_DOWN once shutdown began. No-op if the id is already queued/active.
   */
  enqueue<N extends JobName>(
    name: N,
    id: string,
    payload: JobPayloads[N],
    options?: EnqueueOptions,
  ): Promise<void>;
  /** Whether one more job would be accepted now (a cheap early check before reading an upload). */
  hasCapacity(count?: number): Promise<boolean>;
  /** Seconds a refused client should wait before retrying (an estimate from run times). */
  retryAfterSeconds(): Promise<number>;
  /** Starts consuming jobs of this name in this process (worker role). */
  process<N extends JobName>(name: N, handler: JobHandler<N>): void;
  /** Removes a waiting job, or aborts a running one with reason 'canceled'. */
  cancel(id: string): Promise<'removed' | 'aborted' | 'unknown'>;
  /** 1-based position among waiting jobs; null when not waiting. */
  position(id: string): Promise<number | null>;
  stats(): Promise<QueueStats>;
  /**
   * Graceful stop: take no new jobs, let running ones finish for up to `timeoutMs`, then abort them
   * with reason 'shutdown' (their handlers put them back to queued) and wait for the handlers.
   */
  shutdown(timeoutMs: number): Promise<void>;
}
