/**
 * A fixed pool of worker threads, each holding its own SpleeterEngine (and so its own onnxruntime
 * sessions). One separation per worker at a time; extra calls wait in FIFO order. Cancelling a
 * call aborts it inside the worker (the separator checks between segment batches).
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { ErrorCodes, SeparationError } from '../../core/errors';
import type { SpleeterEngineOptions } from '../spleeter-engine';
import type { SeparateParams, SeparationResult } from '../types';
import { deserializeError } from './error-serialization';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

type EngineWorkerOptions = Omit<SpleeterEngineOptions, 'logger' | 'registry' | 'codec'>;

interface Task {
  id: number;
  params: SeparateParams;
  resolve(result: SeparationResult): void;
  reject(err: unknown): void;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
}

export interface WorkerPoolLogger {
  warn(message: string): void;
  error(message: string): void;
}

export class SeparationWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly engineOptions: EngineWorkerOptions,
    private readonly logger: WorkerPoolLogger = { warn: () => undefined, error: () => undefined },
  ) {
    for (let i = 0; i < Math.max(1, size); i++) this.slots.push(this.spawn());
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

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.waiting.splice(0))
      this.finish(t, undefined, new SeparationError(ErrorCodes.INTERNAL, 'Shutting down'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = createWorker(this.engineOptions);
    const slot: Slot = { worker };
    worker.on('message', (msg: WorkerResponse) => this.onMessage(slot, msg));
    worker.on('error', (err) => {
      this.logger.error(`separation worker crashed: ${err.stack ?? err.message}`);
    });
    worker.on('exit', (code) => {
      if (this.closed) return;
      const task = slot.task;
      slot.task = undefined;
      if (task)
        this.finish(
          task,
          undefined,
          new SeparationError(ErrorCodes.INTERNAL, `Separation worker exited (code ${code})`),
        );
      // Replace the dead worker so the pool keeps its size.
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots[index] = this.spawn();
      this.dispatch();
    });
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task || this.waiting.length === 0) continue;
      const task = this.waiting.shift()!;
      slot.task = task;
      const { signal: _s, onProgress: _p, ...params } = task.params;
      this.post(slot, { type: 'separate', id: task.id, params });
    }
  }

  private onMessage(slot: Slot, msg: WorkerResponse): void {
    if (msg.type === 'log') {
      this.logger.warn(msg.message);
      return;
    }
    const task = slot.task;
    if (!task || task.id !== msg.id) return;
    if (msg.type === 'progress') {
      task.params.onProgress?.(msg.fraction, msg.stage);
      return;
    }
    slot.task = undefined;
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
    const slot = this.slots.find((s) => s.task === task);
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
function createWorker(workerData: EngineWorkerOptions): Worker {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `separation.worker${ext}`);
  if (ext === '.ts') {
    const code = `require(${JSON.stringify(require.resolve('@swc-node/register'))}); require(${JSON.stringify(file)});`;
    return new Worker(code, { eval: true, workerData });
  }
  return new Worker(file, { workerData });
}
