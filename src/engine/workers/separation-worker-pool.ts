/**
 * A pool of up to `size` worker threads, each holding its own SpleeterEngine (and so its own
 * onnxruntime sessions). Up to `jobsPerWorker` separations per worker at a time (default 1); extra
 * calls wait in FIFO order. A job goes to the busiest worker that has room, so the jobs of a worker
 * share its model sessions (one copy of the weights, and with cross-job batching, merged model
 * calls); a new worker starts only when every live one is full. Cancelling a call aborts it inside
 * the worker (the separator checks between segment batches); the worker's other jobs go on. A
 * worker that dies fails every job it was running.
 *
 * Workers start on demand and, with `idleReleaseMs` > 0, a worker that has run nothing for that
 * long is retired: it disposes its engine (sessions, instrument threads) and exits, which hands back
 * its whole onnxruntime arena, its weights and its V8 heap — terminating the thread is the only way
 * to give back all of it. The next job starts a fresh worker (a cold start: model load again).
 *
 * Thread budget: the pool owns its process's InferenceThreadBudget (infra/onnx/inference-thread-budget)
 * and hands its shared buffer to every worker, so the model calls of all jobs running at once draw
 * from one budget of inference threads instead of each job sizing its sessions for the whole machine
 * (N jobs × all cores threads). `stats.inferenceThreads` shows it.
 *
 * Release vs. a new job: everything here runs on the owner's event loop, so a slot is either still
 * in `slots` (and takes the job) or already removed (retiring) when a job arrives; a job never goes
 * to a retiring worker, it starts a new one instead.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { ErrorCodes, SeparationError } from '../../core/errors';
import { InferenceThreadBudget, inferenceThreadBudgetSize } from '../../infra/onnx/inference-thread-budget';
import type { SpleeterEngineOptions } from '../spleeter-engine';
import type { SeparateParams, SeparationResult } from '../types';
import { deserializeError } from './error-serialization';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

type EngineWorkerOptions = Omit<SpleeterEngineOptions, 'logger' | 'registry' | 'codec'>;

/** What a separation worker receives as workerData. */
export type SeparationWorkerData = EngineWorkerOptions & {
  /** The pool's InferenceThreadBudget buffer, shared by all its workers. */
  inferenceThreadBudget: SharedArrayBuffer;
  /** Nice value the worker gives its own thread first (0: none). */
  workerNice: number;
  /** This worker's ledger of held permits (InferenceThreadBudget.createLedger). */
  inferenceThreadLedger: SharedArrayBuffer;
};

interface Task {
  id: number;
  params: SeparateParams;
  resolve(result: SeparationResult): void;
  reject(err: unknown): void;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  /** Jobs running in this worker (at most jobsPerWorker). */
  readonly tasks: Set<Task>;
  idleTimer?: NodeJS.Timeout;
  /** Set once the slot left `slots`: its exit is expected and replaces nothing. */
  retiring?: boolean;
  /** Set once the thread has ended. */
  exited?: boolean;
  /** Once asked to stop: settles when the thread has ended. */
  stopped?: Promise<void>;
}

export interface WorkerPoolLogger {
  warn(message: string): void;
  error(message: string): void;
  debug?(message: string): void;
}

export interface SeparationWorkerPoolOptions {
  /** Retire a worker after this many ms without a job; 0 or absent: keep workers for the pool's life. */
  idleReleaseMs?: number;
  /** A retiring worker that has not exited after this many ms is terminated. Default 5000. */
  retireGraceMs?: number;
  /**
   * Inference threads all workers' model calls may use at once (performance.inference_thread_budget);
   * 0 or absent: the larger of the engine's intraOpThreads and the number of cores.
   */
  inferenceThreadBudget?: number;
  /**
   * Nice value of the worker threads (performance.worker_nice; Linux: per thread, inherited by the
   * threads and processes they start), so the owner's event loop (HTTP, upload probes) runs first
   * on busy CPUs. 0 or absent: unchanged.
   */
  workerNice?: number;
  /**
   * Separations one worker runs at once, sharing its engine and sessions
   * (performance.jobs_per_worker). Default 1: a worker per job.
   */
  jobsPerWorker?: number;
}

export interface WorkerPoolStats {
  /** Workers that can take a job (busy or idle). */
  live: number;
  /** Workers running at least one job. */
  busy: number;
  /** Jobs running in all workers. */
  running: number;
  /** Workers disposing their engine on the way out. */
  retiring: number;
  waiting: number;
  /** Workers started since the pool was created (cold starts). */
  started: number;
  /** Workers retired for being idle. */
  released: number;
  /** The shared inference thread budget: its size, threads in use now, most in use at once. */
  inferenceThreads: { total: number; inUse: number; peak: number };
}

export class SeparationWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly retiringSlots = new Set<Slot>();
  private readonly waiting: Task[] = [];
  private nextId = 1;
  private closed = false;
  private startedCount = 0;
  private releasedCount = 0;
  private readonly size: number;
  private readonly idleReleaseMs: number;
  private readonly retireGraceMs: number;
  private readonly budget: InferenceThreadBudget;
  private readonly workerNice: number;
  private readonly jobsPerWorker: number;

  constructor(
    size: number,
    private readonly engineOptions: EngineWorkerOptions,
    private readonly logger: WorkerPoolLogger = { warn: () => undefined, error: () => undefined },
    options: SeparationWorkerPoolOptions = {},
  ) {
    this.size = Math.max(1, size);
    this.idleReleaseMs = Math.max(0, options.idleReleaseMs ?? 0);
    this.retireGraceMs = options.retireGraceMs ?? 5000;
    this.workerNice = Math.max(0, Math.min(19, options.workerNice ?? 0));
    this.jobsPerWorker = Math.max(1, Math.floor(options.jobsPerWorker ?? 1));
    this.budget = InferenceThreadBudget.create(
      inferenceThreadBudgetSize(options.inferenceThreadBudget ?? 0, engineOptions.intraOpThreads),
    );
  }

  get stats(): WorkerPoolStats {
    return {
      live: this.slots.length,
      busy: this.slots.filter((s) => s.tasks.size > 0).length,
      running: this.slots.reduce((n, s) => n + s.tasks.size, 0),
      retiring: this.retiringSlots.size,
      waiting: this.waiting.length,
      started: this.startedCount,
      released: this.releasedCount,
      inferenceThreads: {
        total: this.budget.total,
        inUse: this.budget.total - this.budget.available,
        peak: this.budget.peakInUse,
      },
    };
  }

  separate(params: SeparateParams): Promise<SeparationResult> {
    if (this.closed)
      return Promise.reject(new SeparationError(ErrorCodes.INTERNAL, 'Separation pool is shut down'));
    if (params.signal?.aborted) return Promise.reject(canceled());
    return new Promise<SeparationResult>((resolve, reject) => {
      const task: Task = { id: this.nextId++, params, resolve, reject };
      if (params.signal) {
        task.onAbort = () => this.cancel(task);
        params.signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.waiting.push(task);
      this.dispatch();
    });
  }

  /**
   * Retires every idle worker now (what the idle timer does per worker). Returns how many; resolves
   * once they have exited. Jobs submitted meanwhile start new workers.
   */
  async releaseIdle(): Promise<number> {
    const idle = this.slots.filter((s) => s.tasks.size === 0);
    await Promise.all(idle.map((s) => this.retire(s)));
    return idle.length;
  }

  /**
   * Ends every worker: jobs still waiting or running are rejected (INTERNAL, "Shutting down"); each
   * worker is asked to cancel what it runs, dispose its engine and exit, and is terminated only if
   * it has not after the retire grace (see stop()).
   */
  async close(): Promise<void> {
    this.closed = true;
    const shuttingDown = () => new SeparationError(ErrorCodes.INTERNAL, 'Shutting down');
    for (const t of this.waiting.splice(0)) this.finish(t, undefined, shuttingDown());
    const live = this.slots.splice(0);
    for (const s of live) {
      clearTimeout(s.idleTimer);
      s.idleTimer = undefined;
      s.retiring = true;
      for (const t of s.tasks) this.finish(t, undefined, shuttingDown());
      s.tasks.clear();
    }
    await Promise.all([...live.map((s) => this.stop(s)), ...[...this.retiringSlots].map((s) => s.stopped)]);
  }

  private spawn(): Slot {
    const ledger = InferenceThreadBudget.createLedger();
    const worker = createWorker({
      ...this.engineOptions,
      inferenceThreadBudget: this.budget.shared,
      workerNice: this.workerNice,
      inferenceThreadLedger: ledger,
    });
    const slot: Slot = { worker, tasks: new Set() };
    this.startedCount++;
    worker.on('message', (msg: WorkerResponse) => this.onMessage(slot, msg));
    worker.on('error', (err) => {
      this.logger.error(`separation worker crashed: ${err.stack ?? err.message}`);
    });
    worker.on('exit', (code) => {
      slot.exited = true;
      // A worker that died inside a model call (crash, terminate) gives its threads back.
      const lost = this.budget.reclaim(ledger);
      if (lost > 0 && !this.closed)
        this.logger.warn(`separation worker exited holding ${lost} inference thread(s); returned them`);
      clearTimeout(slot.idleTimer);
      this.retiringSlots.delete(slot);
      if (this.closed || slot.retiring) return;
      const tasks = [...slot.tasks];
      slot.tasks.clear();
      for (const task of tasks)
        this.finish(
          task,
          undefined,
          new SeparationError(ErrorCodes.INTERNAL, `Separation worker exited (code ${code})`),
        );
      // Drop the dead worker; dispatch starts a new one if jobs wait.
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      this.dispatch();
    });
    return slot;
  }

  private dispatch(): void {
    if (this.closed) return;
    while (this.waiting.length > 0) {
      let slot = this.busiestWithRoom();
      if (!slot) {
        if (this.slots.length >= this.size) break;
        slot = this.spawn();
        this.slots.push(slot);
      }
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      const task = this.waiting.shift()!;
      slot.tasks.add(task);
      const { signal: _s, onProgress: _p, ...params } = task.params;
      this.post(slot, { type: 'separate', id: task.id, params });
    }
    for (const slot of this.slots) if (slot.tasks.size === 0 && !slot.idleTimer) this.armIdleTimer(slot);
  }

  /** The live worker with the most jobs that can take one more (jobs share its sessions). */
  private busiestWithRoom(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots)
      if (s.tasks.size < this.jobsPerWorker && (!best || s.tasks.size > best.tasks.size)) best = s;
    return best;
  }

  private armIdleTimer(slot: Slot): void {
    if (this.idleReleaseMs <= 0) return;
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      if (slot.tasks.size > 0 || this.closed) return;
      this.logger.debug?.(`retiring a separation worker idle for ${this.idleReleaseMs} ms`);
      void this.retire(slot);
    }, this.idleReleaseMs);
    // An idle timer never keeps the process alive.
    slot.idleTimer.unref();
  }

  /** Takes an idle slot out of service, lets its engine dispose, waits for the thread to end. */
  private retire(slot: Slot): Promise<void> {
    const index = this.slots.indexOf(slot);
    if (index < 0 || slot.tasks.size > 0) return Promise.resolve();
    this.slots.splice(index, 1);
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    slot.retiring = true;
    this.retiringSlots.add(slot);
    this.releasedCount++;
    return this.stop(slot);
  }

  /**
   * Asks a worker to end (it cancels its jobs, disposes its engine and exits) and resolves once the
   * thread has ended. One that has not after the retire grace is terminated, never inside a model
   * call or a session creation: terminate() cannot interrupt native code, and a thread ended while
   * onnxruntime-node runs a call in it aborts the whole process when the call returns. So the
   * terminate happens under the budget's exclusive hold (InferenceThreadBudget.exclusive), when no
   * thread of this process is in onnxruntime.
   */
  private stop(slot: Slot): Promise<void> {
    if (slot.stopped) return slot.stopped;
    if (slot.exited) return (slot.stopped = Promise.resolve());
    const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    const timer = setTimeout(() => {
      if (slot.exited) return;
      this.logger.warn(`a separation worker did not exit within ${this.retireGraceMs} ms; terminating it`);
      void this.terminateSafely(slot);
    }, this.retireGraceMs);
    timer.unref();
    this.post(slot, { type: 'dispose' });
    slot.stopped = exited.finally(() => clearTimeout(timer));
    return slot.stopped;
  }

  /** terminate() with no thread of this process inside onnxruntime (see stop()). */
  private terminateSafely(slot: Slot): Promise<void> {
    return this.budget
      .exclusive(async () => {
        if (!slot.exited) await slot.worker.terminate();
      })
      .catch((err: Error) => this.logger.error(`terminating a separation worker failed: ${err.message}`));
  }

  private onMessage(slot: Slot, msg: WorkerResponse): void {
    if (msg.type === 'log') {
      this.logger.warn(msg.message);
      return;
    }
    const task = [...slot.tasks].find((t) => t.id === msg.id);
    if (!task) return;
    if (msg.type === 'progress') {
      task.params.onProgress?.(msg.fraction, msg.stage);
      return;
    }
    slot.tasks.delete(task);
    if (msg.type === 'result') this.finish(task, msg.result);
    else this.finish(task, undefined, deserializeError(msg.error));
    this.dispatch();
  }

  private cancel(task: Task): void {
    const index = this.waiting.indexOf(task);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      this.finish(task, undefined, canceled());
      return;
    }
    const slot = this.slots.find((s) => s.tasks.has(task));
    if (slot) this.post(slot, { type: 'cancel', id: task.id });
  }

  private finish(task: Task, result?: SeparationResult, error?: unknown): void {
    if (task.onAbort) task.params.signal?.removeEventListener('abort', task.onAbort);
    if (error) task.reject(error);
    else task.resolve(result!);
  }

  private post(slot: Slot, msg: WorkerRequest): void {
    slot.worker.postMessage(msg);
  }
}

function canceled(): SeparationError {
  return new SeparationError(ErrorCodes.JOB_CANCELED, 'Separation was canceled');
}

/**
 * Compiled code runs `separation.worker.js`; from TypeScript sources (development, jest) the worker
 * first registers swc so it can load the `.ts` file.
 */
function createWorker(workerData: SeparationWorkerData): Worker {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `separation.worker${ext}`);
  if (ext === '.ts') {
    const code = `require(${JSON.stringify(require.resolve('@swc-node/register'))}); require(${JSON.stringify(file)});`;
    return new Worker(code, { eval: true, workerData });
  }
  return new Worker(file, { workerData });
}
