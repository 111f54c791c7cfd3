/**
 * DSP threads for the Spleeter separator (core/spleeter/dsp-pool.ts: the DspThreadPool port): a
 * fixed number of worker threads, started on the first task, sharing one queue between every
 * separation of the engine. Tasks travel as messages holding SharedArrayBuffer-backed views (the
 * planes are shared, not copied). A worker holds the process open only while it has a task
 * (ref/unref), so an idle pool never keeps a CLI or library process alive; terminate() ends the
 * threads (the engine's dispose), and a later task starts new ones.
 *
 * Shared buffers are reused between separations (DspSession says why): released ones wait in a
 * free list of at most MAX_SPARE_BYTES, handed out again for the same size and zero-filled.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { Worker } from 'worker_threads';
import { AudioProcessingError, ErrorCodes, type ErrorCode } from '../../core/errors';
import type { DspTask, DspThreadPool } from '../../core/spleeter/dsp-pool';
import type { DspWorkerReply, DspWorkerRequest } from './dsp-worker';

/** Compiled (dist) builds run the .js worker; from sources (jest, swc-node) the .ts one via swc. */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = join(__dirname, 'dsp-worker.js');
  if (existsSync(js)) return { file: js, execArgv: [] };
  return { file: join(__dirname, 'dsp-worker.ts'), execArgv: ['-r', require.resolve('@swc-node/register')] };
}

/** Bytes of released shared buffers kept for reuse (oldest dropped first). */
const MAX_SPARE_BYTES = 512 * 1024 * 1024;

interface Job {
  readonly id: number;
  readonly task: DspTask;
  readonly resolve: (result: number) => void;
  readonly reject: (error: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  job: Job | null;
}

function failure(message: string, code?: string | null, cause?: unknown): AudioProcessingError {
  const known = Object.values(ErrorCodes).find((c) => c === code) as ErrorCode | undefined;
  return new AudioProcessingError(known ?? ErrorCodes.INTERNAL, message, {}, cause ? { cause } : undefined);
}

export class DspWorkerPool implements DspThreadPool {
  private readonly queue: Job[] = [];
  private readonly workers: Thread[] = [];
  private nextId = 1;
  private readonly spare: SharedArrayBuffer[] = [];
  private spareBytes = 0;
  /** Workers started since the last terminate() (for tests and stats). */
  started = 0;

  constructor(
    readonly threads: number,
    private readonly maxSpareBytes = MAX_SPARE_BYTES,
  ) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`DSP threads must be >= 1, got ${threads}`);
  }

  /** Threads running now. */
  get size(): number {
    return this.workers.length;
  }

  async run(tasks: readonly DspTask[]): Promise<number[]> {
    const results = tasks.map(
      (task) =>
        new Promise<number>((resolve, reject) => {
          this.queue.push({ id: this.nextId++, task, resolve, reject });
        }),
    );
    this.pump();
    // Settles once every task has: a failed batch's other tasks may still write to its planes.
    const settled = await Promise.allSettled(results);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<number>).value);
  }

  acquire(bytes: number): SharedArrayBuffer {
    const i = this.spare.findIndex((b) => b.byteLength === bytes);
    if (i < 0) return new SharedArrayBuffer(bytes);
    const buffer = this.spare.splice(i, 1)[0];
    this.spareBytes -= bytes;
    new Uint8Array(buffer).fill(0);
    return buffer;
  }

  release(buffers: readonly SharedArrayBuffer[]): void {
    for (const b of buffers) {
      this.spare.push(b);
      this.spareBytes += b.byteLength;
    }
    while (this.spareBytes > this.maxSpareBytes)
      this.spareBytes -= (this.spare.shift() as SharedArrayBuffer).byteLength;
  }

  /** Ends every thread; tasks still queued or running are rejected. */
  async terminate(): Promise<void> {
    const threads = this.workers.splice(0);
    const queued = this.queue.splice(0);
    this.spare.length = 0;
    this.spareBytes = 0;
    const error = failure('DSP threads were released');
    for (const j of queued) j.reject(error);
    await Promise.all(
      threads.map(async (t) => {
        t.job?.reject(error);
        t.job = null;
        t.worker.removeAllListeners('exit');
        await t.worker.terminate();
      }),
    );
  }

  /** Hands queued tasks to idle threads, starting threads up to `threads`. */
  private pump(): void {
    while (this.queue.length > 0) {
      let thread = this.workers.find((t) => t.job === null);
      if (!thread && this.workers.length < this.threads) thread = this.start();
      if (!thread) return;
      const job = this.queue.shift() as Job;
      thread.job = job;
      thread.worker.ref();
      thread.worker.postMessage({ id: job.id, task: job.task } satisfies DspWorkerRequest);
    }
  }

  private start(): Thread {
    const entry = workerEntry();
    const worker = new Worker(entry.file, { execArgv: entry.execArgv });
    const thread: Thread = { worker, job: null };
    this.workers.push(thread);
    this.started++;
    worker.unref();
    worker.on('message', (m: DspWorkerReply) => {
      const job = thread.job;
      if (!job || job.id !== m.id) return;
      thread.job = null;
      if ('error' in m) job.reject(failure(`DSP thread task failed: ${m.error}`, m.code));
      else job.resolve(m.result);
      if (this.queue.length > 0) this.pump();
      else worker.unref();
    });
    const lost = (why: string, cause?: unknown) => {
      const i = this.workers.indexOf(thread);
      if (i < 0) return;
      this.workers.splice(i, 1);
      thread.job?.reject(failure(`DSP thread ${why}`, null, cause));
      thread.job = null;
      this.pump();
    };
    worker.on('error', (err) => lost(`crashed: ${err.message}`, err));
    worker.on('exit', (code) => lost(`exited (code ${code})`));
    return thread;
  }
}
