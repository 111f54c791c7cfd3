/**
 * Cross-job batching: one scheduler in front of a SegmentModel that several separations share
 * (the Spleeter family caches one model per directory and precision). Each separation gets its
 * own `client()`, a SegmentModel whose run() goes through the scheduler.
 *
 * While a model call is in flight, further run() calls queue. When the model is free, the queued
 * calls are merged, in arrival order, into one call of at most `maxBatchSegments` segments
 * (segment-batch.ts concatenates them along S per channel; a caller's request is never split, so
 * one larger than the limit runs alone) and the outputs are split back per caller. On a GPU one
 * call of 8 segments costs far less than 8 calls of one (launch overhead, idle SMs between
 * calls); on a CPU the network's cost is linear in S and there is little to gain.
 *
 * A call arriving at an idle model waits for one turn of the event loop (setImmediate), or up to
 * `batchWindowMs` when that is > 0, for the other jobs to join (a full `maxBatchSegments` starts it
 * at once). The turn matters: onnxruntime-node's in-thread run() blocks the JS thread (measured:
 * no timer fires during a 200 ms call), so the other jobs of the thread cannot queue behind a call
 * in flight; they can only join one that has not started yet. A call alone in its batch is passed
 * through unchanged (same buffers, same AbortSignal).
 *
 * Results are bit-identical to separate calls: the model computes the segments of a batch
 * independently (test/integration/engine-cross-job-batching.spec.ts checks it with onnxruntime).
 *
 * Failure and cancellation stay per caller: a caller whose signal aborts while queued is removed
 * (rejected with JOB_CANCELED, the others unaffected); one whose signal aborts after its request
 * was merged gets JOB_CANCELED when the merged call ends (its result is dropped, the others get
 * theirs). An error of a merged call rejects every caller in it with that error.
 */
import { ErrorCodes, SeparationError } from '../errors';
import { mergeSegmentInputs, splitSegmentOutput } from './segment-batch';
import type { SegmentModel } from './types';

/** Default of performance.max_batch_segments: 16 segments ≈ 3 min of audio, ≈ 67 MB per tensor at F=1024. */
export const DEFAULT_MAX_BATCH_SEGMENTS = 16;

export interface SegmentSchedulerOptions {
  /** Segments per merged call at most (default 16). */
  maxBatchSegments?: number;
  /** How long a call arriving at an idle model waits for others, ms (default 0: not at all). */
  batchWindowMs?: number;
}

/** What a scheduler did since it was created. */
export interface SegmentSchedulerStats {
  /** run() calls of all clients. */
  requests: number;
  /** Calls of the underlying model. */
  modelCalls: number;
  /** Model calls that carried the requests of more than one client. */
  sharedCalls: number;
}

interface Request {
  readonly client: SharedSegmentModel;
  readonly input: Float32Array;
  readonly S: number;
  readonly signal?: AbortSignal;
  resolve(outputs: Float32Array[]): void;
  reject(err: unknown): void;
  onAbort?: () => void;
}

function canceled(signal: AbortSignal | undefined): SeparationError {
  return new SeparationError(ErrorCodes.JOB_CANCELED, 'inference aborted', {
    reason: String(signal?.reason),
  });
}

export class SegmentScheduler {
  readonly maxBatchSegments: number;
  readonly batchWindowMs: number;
  private readonly queue: Request[] = [];
  private busy = false;
  /** A start of an idle model is scheduled (next turn, or the end of the batch window). */
  private windowTimer: { cancel(): void } | null = null;
  private readonly counters: SegmentSchedulerStats = { requests: 0, modelCalls: 0, sharedCalls: 0 };

  constructor(
    readonly model: SegmentModel,
    options: SegmentSchedulerOptions = {},
  ) {
    this.maxBatchSegments = Math.max(1, Math.floor(options.maxBatchSegments ?? DEFAULT_MAX_BATCH_SEGMENTS));
    this.batchWindowMs = Math.max(0, options.batchWindowMs ?? 0);
  }

  get stats(): SegmentSchedulerStats {
    return { ...this.counters };
  }

  /** A SegmentModel for one separation; its counters say how many of its calls were shared. */
  client(): SharedSegmentModel {
    return new SharedSegmentModel(this);
  }

  /** SharedSegmentModel.run. */
  submit(
    client: SharedSegmentModel,
    input: Float32Array,
    S: number,
    signal?: AbortSignal,
  ): Promise<Float32Array[]> {
    if (signal?.aborted) return Promise.reject(canceled(signal));
    this.counters.requests++;
    return new Promise<Float32Array[]>((resolve, reject) => {
      const request: Request = { client, input, S, signal, resolve, reject };
      if (signal) {
        request.onAbort = () => {
          const index = this.queue.indexOf(request);
          if (index < 0) return; // already in a model call: dropped when it ends
          this.queue.splice(index, 1);
          reject(canceled(signal));
        };
        signal.addEventListener('abort', request.onAbort, { once: true });
      }
      this.queue.push(request);
      if (this.busy) return; // taken when the call in flight ends
      if (this.queuedSegments() >= this.maxBatchSegments) this.next();
      else
        this.windowTimer ??= this.later(() => {
          this.windowTimer = null;
          this.next();
        });
    });
  }

  private later(fn: () => void): { cancel(): void } {
    if (this.batchWindowMs > 0) {
      const timer = setTimeout(fn, this.batchWindowMs);
      return { cancel: () => clearTimeout(timer) };
    }
    const immediate = setImmediate(fn);
    return { cancel: () => clearImmediate(immediate) };
  }

  private queuedSegments(): number {
    let s = 0;
    for (const r of this.queue) s += r.S;
    return s;
  }

  /** Starts the next model call when the model is free and requests wait. */
  private next(): void {
    if (this.busy || this.queue.length === 0) return;
    if (this.windowTimer !== null) {
      this.windowTimer.cancel();
      this.windowTimer = null;
    }
    // Arrival order; stop at the first request that does not fit (no overtaking: FIFO).
    const batch = [this.queue.shift()!];
    let segments = batch[0].S;
    while (this.queue.length > 0 && segments + this.queue[0].S <= this.maxBatchSegments) {
      segments += this.queue[0].S;
      batch.push(this.queue.shift()!);
    }
    for (const r of batch) if (r.onAbort) r.signal!.removeEventListener('abort', r.onAbort);
    void this.execute(batch, segments);
  }

  private async execute(batch: Request[], segments: number): Promise<void> {
    this.busy = true;
    this.counters.modelCalls++;
    const shared = new Set(batch.map((r) => r.client)).size > 1;
    if (shared) this.counters.sharedCalls++;
    for (const r of batch) {
      r.client.calls++;
      if (shared) r.client.sharedCalls++;
    }
    try {
      if (batch.length === 1) {
        // Alone: the caller's own call, unchanged (its buffers, its signal).
        const [r] = batch;
        const outputs = await this.model.run(r.input, r.S, r.signal);
        r.resolve(outputs);
      } else {
        const F = this.model.F;
        const outputs = await this.model.run(mergeSegmentInputs(batch, F), segments);
        const sizes = batch.map((r) => r.S);
        // parts[k][i]: instrument k's output for request i.
        const parts = outputs.map((out) => splitSegmentOutput(out, sizes, F));
        batch.forEach((r, i) => {
          if (r.signal?.aborted) r.reject(canceled(r.signal));
          else r.resolve(parts.map((p) => p[i]));
        });
      }
    } catch (err) {
      for (const r of batch) r.reject(err);
    } finally {
      this.busy = false;
      this.next();
    }
  }
}

/** One separation's view of a SegmentScheduler. */
export class SharedSegmentModel implements SegmentModel {
  /** Model calls that carried this client's requests (one per request). */
  calls = 0;
  /** Of those, calls that also carried another client's requests. */
  sharedCalls = 0;

  constructor(private readonly scheduler: SegmentScheduler) {}

  get instruments(): readonly string[] {
    return this.scheduler.model.instruments;
  }

  get F(): number {
    return this.scheduler.model.F;
  }

  get executionProvider(): string {
    return this.scheduler.model.executionProvider;
  }

  run(input: Float32Array, S: number, signal?: AbortSignal): Promise<Float32Array[]> {
    return this.scheduler.submit(this, input, S, signal);
  }

  /** The shared model belongs to whoever created the scheduler. */
  async dispose(): Promise<void> {}
}
