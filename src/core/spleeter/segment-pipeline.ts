/**
 * One streaming pass over the source: interleaved stereo chunks → Spleeter STFT frames → batches of
 * 512-frame segments → (optionally) one SegmentModel.run per batch → a handler per batch.
 *
 * Passes with the model are pipelined (double buffering): batch k+1 is analysed (STFT, model
 * input) and queued behind batch k in the model, then batch k is handled (masks, iSTFT, sink
 * writes) when its result arrives, so with worker-thread inference the model never waits for this
 * thread between batches. Handlers still run one at a time, in batch order, so sink writes stay in
 * order and every result is the same computation as without pipelining. Cancellation is checked between batches; a model call already
 * dispatched is awaited (its result dropped) before the pass rejects, so nothing keeps running
 * behind the caller's back.
 *
 * Memory is bounded by the batch: at most two batch buffers (the one being handled and the one
 * queued in the model), each the mixture spectrum of `batchSegments × 512` frames (float32 re/im
 * planes, 2049 bins, 2 channels; only the `storedBins` the pass asks for are written) plus its
 * model input, the model outputs of the batch being handled (and of the next one once its call
 * resolves), and the STFT analyzer's 4096-sample window. Buffers are allocated once per pipeline
 * and reused for every batch and pass.
 *
 * Segments of digital silence are not sent to the model (`skipSilentSegments`, default on): a
 * segment whose 512 frames have an all-zero spectrum in every stored bin (its input samples,
 * including the STFT's 4096-sample context, are all zero) gets all-zero model outputs instead.
 * The stems do not change, bit for bit: every mask is finite and non-negative, so masking a ±0
 * spectrum gives ±0, whose inverse FFT adds ±0 to overlap-add accumulators that start at +0 and
 * are never −0, and the Wiener filter's statistics gain exactly nothing from such frames either
 * (silent-segments.spec.ts, separator.spec.ts). A batch with some silent segments sends the
 * others as a smaller batch: like `batchSegments`, that relies on the model treating the segments
 * of a batch independently.
 */
import { ErrorCodes, ModelError, SeparationError, ValidationError } from '../errors';
import { SPLEETER_FRAMING, StreamingStftAnalyzer, stftFrameCount } from '../dsp/stft';
import { fftBackend } from '../dsp/wasm-fft';
import { splitRange, type DspSession, type StftTask } from './dsp-pool';
import { SPLEETER_BINS, SPLEETER_T, ProgressCallback, SegmentModel } from './types';

export const STEREO = 2;

// Module-level aliases: global lookups in hot loops are slow in sandboxed contexts (jest's vm).
const sqrt = Math.sqrt;
const now = (): number => performance.now();

export interface SegmentBatch {
  /** Global index of the batch's first STFT frame. */
  readonly firstFrame: number;
  /** Real STFT frames in the batch; the rest of its last segment is zero padding. */
  readonly frames: number;
  /** Segments sent to the model (ceil(frames / 512)). */
  readonly segments: number;
  /**
   * Mixture spectrum per channel, frame-major: bin k of frame t at t*2049 + k. Only bins <
   * `storedBins` are valid (the pass asked for no more); the rest are stale.
   */
  readonly specRe: readonly Float32Array[];
  readonly specIm: readonly Float32Array[];
  readonly storedBins: number;
  /** Per instrument, CSTF [2, segments, 512, F] magnitudes; null for passes without the model. */
  readonly outputs: readonly Float32Array[] | null;
  /** Sample frames of the source, known once it has ended (always set on the batch with the last frames). */
  readonly totalSamples: number | null;
}

/** Counters shared by all passes of one separation. */
export interface PassCounters {
  modelCalls: number;
  /**
   * Wall time with at least one model call in flight (dispatch → result observed). Overlapping calls
   * count once, so this never exceeds the separation's wall time; it overlaps dspMs when pipelined.
   */
  inferenceMs: number;
  /** Time this thread sat blocked waiting for a model result (inference not hidden by DSP). */
  inferenceWaitMs: number;
  dspMs: number;
  sinkMs: number;
  /** Segments of digital silence not sent to the model. */
  skippedSegments: number;
}

export interface PassOptions {
  withModel: boolean;
  stage: string;
  /** Progress range of this pass within the whole separation. */
  progressFrom: number;
  progressTo: number;
  /** Expected STFT frames, for progress; null when unknown. */
  expectedFrames: number | null;
  /** Spectrum bins the handler reads (the STFT stores no more; at least F with the model). Default 2049. */
  storedBins?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface PassResult {
  samples: number;
  frames: number;
  segments: number;
}

/**
 * True when both channels of the frame at `offset` are exactly zero in every stored bin: the model
 * sees a zero magnitude there and the masks have nothing to scale.
 */
export function isZeroFrame(
  slot: { readonly specRe: readonly Float32Array[]; readonly specIm: readonly Float32Array[] },
  offset: number,
  bins: number,
): boolean {
  for (let c = 0; c < STEREO; c++) {
    const re = slot.specRe[c];
    const im = slot.specIm[c];
    for (let k = offset, end = offset + bins; k < end; k++) if (re[k] !== 0 || im[k] !== 0) return false;
  }
  return true;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new SeparationError(
      ErrorCodes.JOB_CANCELED,
      'Separation was canceled',
      {},
      { cause: signal.reason },
    );
  }
}

/** One batch's buffers: mixture spectrum planes and the model input built from them. */
interface BatchSlot {
  readonly specRe: Float32Array[];
  readonly specIm: Float32Array[];
  /** CSTF model input for `maxSegments` segments; empty when the pipeline has no model pass. */
  readonly input: Float32Array;
  /** Per segment: 1 while every frame read into it so far had an all-zero spectrum. */
  readonly silent: Uint8Array;
  /** With DSP threads: the batch's raw samples, the model input they write and per-frame zero flags. */
  readonly shared: {
    readonly samples: Float32Array[];
    readonly input: Float32Array;
    readonly nonzero: Uint8Array;
  } | null;
}

/** A batch read into a slot, possibly in the model. */
interface PendingBatch {
  readonly slot: BatchSlot;
  readonly frames: number;
  readonly segments: number;
  /** Model outputs once dispatched (settled-state tracking is up to the caller). */
  inference: Promise<Float32Array[]> | null;
}

/** State of the source iterator shared by the reads of one pass. */
interface SourceState {
  readonly analyzer: StreamingStftAnalyzer;
  readonly iterator: AsyncIterator<Float32Array>;
  done: boolean;
}

export class SegmentPipeline {
  private readonly F: number;
  private readonly maxSegments: number;
  private readonly maxFrames: number;
  /** Slot 1 is allocated on the first read-ahead (passes without the model never need it). */
  private readonly slots: Array<BatchSlot | null> = [null, null];
  /** Model calls in flight, and since when at least one has been (for counters.inferenceMs). */
  private inFlight = 0;
  private busySince = 0;

  constructor(
    private readonly model: SegmentModel,
    batchSegments: number,
    private readonly counters: PassCounters,
    private readonly skipSilentSegments = true,
    /** Runs the STFT of each batch on other threads (dsp-pool.ts); null: all in this thread. */
    private readonly pool: DspSession | null = null,
  ) {
    this.F = model.F;
    this.maxSegments = batchSegments;
    this.maxFrames = batchSegments * SPLEETER_T;
  }

  /**
   * Streams `source` once. `onBatch` runs once per batch, in order, each call awaited before the
   * next; with the model, the next batch's inference runs while it does. Nothing is processed for
   * an empty source.
   */
  async run(
    source: AsyncIterable<Float32Array>,
    options: PassOptions,
    onBatch: (batch: SegmentBatch) => Promise<void> | void,
  ): Promise<PassResult> {
    const state: SourceState = {
      analyzer: new StreamingStftAnalyzer(STEREO, SPLEETER_FRAMING),
      iterator: source[Symbol.asyncIterator](),
      done: false,
    };
    const { analyzer } = state;
    const { signal, withModel } = options;
    const storedBins = Math.min(
      SPLEETER_BINS,
      Math.max(withModel ? this.F : 0, options.storedBins ?? SPLEETER_BINS),
    );
    let firstFrame = 0;
    let segments = 0;
    let current: PendingBatch | null = null;
    let next: PendingBatch | null = null;
    /** With DSP threads: the next batch's read, running while the current batch is handled. */
    let reading: Promise<PendingBatch | null> | null = null;
    try {
      throwIfAborted(signal);
      current = await this.read(state, this.slot(0), withModel, storedBins, signal);
      if (current && withModel) current.inference = this.dispatch(current, signal);
      while (current !== null) {
        throwIfAborted(signal);
        // Read the next batch into the other slot and queue it behind `current` in the model at
        // once: the model (one worker thread per instrument, taking calls in order) goes from one
        // batch to the next without waiting for this thread. Reading 512 frames takes a fraction
        // of a segment's inference, so the first output is not delayed by it.
        next = null;
        if (withModel && !analyzer.isExhausted && this.pool) {
          // With DSP threads this thread mostly gathers samples and copies planes: that and the
          // next batch's STFT on the threads overlap the current batch's synthesis there.
          reading = this.read(state, this.otherSlot(current.slot), true, storedBins, signal).then((b) => {
            if (b !== null) b.inference = this.dispatch(b, signal);
            return b;
          });
          reading.catch(() => undefined);
        } else if (withModel && !analyzer.isExhausted) {
          next = await this.read(state, this.otherSlot(current.slot), true, storedBins, signal);
          if (next !== null) next.inference = this.dispatch(next, signal);
        }
        let outputs: Float32Array[] | null = null;
        if (current.inference !== null) {
          const t0 = now();
          outputs = await current.inference;
          current.inference = null;
          this.counters.inferenceWaitMs += now() - t0;
        }
        throwIfAborted(signal);
        await onBatch({
          firstFrame,
          frames: current.frames,
          segments: current.segments,
          specRe: current.slot.specRe,
          specIm: current.slot.specIm,
          storedBins,
          outputs,
          totalSamples: analyzer.isEnded ? analyzer.samplesReceived : null,
        });
        if (reading !== null) {
          next = await reading;
          reading = null;
        }
        firstFrame += current.frames;
        segments += current.segments;
        this.reportProgress(options, firstFrame);
        if (next === null && !analyzer.isExhausted) {
          // A pass without the model: read now, into the slot just handled.
          throwIfAborted(signal);
          next = await this.read(state, current.slot, withModel, storedBins, signal);
          if (next !== null && withModel) {
            throwIfAborted(signal);
            next.inference = this.dispatch(next, signal);
          }
        }
        current = next;
        next = null;
      }
    } finally {
      // A model call still running (cancellation, a failing handler or source): let it finish so
      // that no inference outlives this call; its result or error is irrelevant now.
      if (reading !== null) next = await reading.catch(() => null);
      for (const b of [current, next]) {
        if (b?.inference) await b.inference.catch(() => undefined);
      }
      if (!state.done) await state.iterator.return?.();
    }
    const samples = analyzer.samplesReceived;
    return { samples, frames: samples === 0 ? 0 : stftFrameCount(samples), segments };
  }

  private slot(index: 0 | 1): BatchSlot {
    let slot = this.slots[index];
    if (slot === null) {
      const planeLength = this.maxFrames * SPLEETER_BINS;
      const inputLength = STEREO * this.maxSegments * SPLEETER_T * this.F;
      // With DSP threads the planes they write live in shared memory; the model input stays an
      // ordinary array (in-thread onnxruntime sessions refuse SharedArrayBuffer-backed tensors).
      const pool = this.pool;
      const plane = pool
        ? (length: number) => pool.float32(length)
        : (length: number) => new Float32Array(length);
      const { nFft, hop } = SPLEETER_FRAMING;
      const samples = (this.maxFrames - 1) * hop + nFft;
      slot = {
        specRe: [plane(planeLength), plane(planeLength)],
        specIm: [plane(planeLength), plane(planeLength)],
        input: new Float32Array(inputLength),
        silent: new Uint8Array(this.maxSegments),
        shared: pool
          ? {
              samples: [pool.float32(samples), pool.float32(samples)],
              input: pool.float32(inputLength),
              nonzero: pool.bytes(this.maxFrames),
            }
          : null,
      };
      this.slots[index] = slot;
    }
    return slot;
  }

  private otherSlot(slot: BatchSlot): BatchSlot {
    return this.slot(slot === this.slots[0] ? 1 : 0);
  }

  /**
   * Fills `slot` with the next batch of STFT frames (pulling source chunks as needed) and, for
   * model passes, their magnitudes in the model input, frame by frame while the spectrum is still
   * in cache. Returns null when the source has no more frames (or was empty).
   */
  private async read(
    state: SourceState,
    slot: BatchSlot,
    withModel: boolean,
    storedBins: number,
    signal: AbortSignal | undefined,
  ): Promise<PendingBatch | null> {
    if (this.pool) return this.readParallel(this.pool, state, slot, withModel, storedBins, signal);
    const { analyzer } = state;
    let frames = 0;
    slot.silent.fill(1);
    while (frames < this.maxFrames) {
      const t0 = now();
      while (
        frames < this.maxFrames &&
        analyzer.readFrame(slot.specRe, slot.specIm, frames * SPLEETER_BINS, storedBins)
      ) {
        if (withModel) {
          this.packFrame(slot, frames);
          const segment = (frames / SPLEETER_T) | 0;
          if (slot.silent[segment] && !isZeroFrame(slot, frames * SPLEETER_BINS, storedBins))
            slot.silent[segment] = 0;
        }
        frames++;
      }
      this.counters.dspMs += now() - t0;
      if (frames >= this.maxFrames || analyzer.isExhausted) break;
      await this.pull(state, signal);
    }
    if (frames === 0 || (analyzer.isEnded && analyzer.samplesReceived === 0)) return null;
    return { slot, frames, segments: Math.ceil(frames / SPLEETER_T), inference: null };
  }

  /**
   * read() with DSP threads: this thread only gathers the batch's samples (readFrameSamples); the
   * threads compute the frames by ranges, with their model input magnitudes and zero flags
   * (dsp-pool.ts `stft`, the same computations as readFrame, packFrame and isZeroFrame).
   */
  private async readParallel(
    pool: DspSession,
    state: SourceState,
    slot: BatchSlot,
    withModel: boolean,
    storedBins: number,
    signal: AbortSignal | undefined,
  ): Promise<PendingBatch | null> {
    const { analyzer } = state;
    const shared = slot.shared!;
    let frames = 0;
    while (frames < this.maxFrames) {
      const t0 = now();
      frames += analyzer.readFrameSamples(shared.samples, frames, this.maxFrames - frames);
      this.counters.dspMs += now() - t0;
      if (frames >= this.maxFrames || analyzer.isExhausted) break;
      await this.pull(state, signal);
    }
    if (frames === 0 || (analyzer.isEnded && analyzer.samplesReceived === 0)) return null;
    const t0 = now();
    const F = this.F;
    const channelStride = this.maxSegments * SPLEETER_T * F;
    const fft = fftBackend(SPLEETER_FRAMING.nFft) === 'js' ? 'js' : 'auto';
    const tasks = splitRange(frames, pool.threads).map(([first, end]): StftTask => ({
      kind: 'stft',
      fft,
      samples: shared.samples,
      specRe: slot.specRe,
      specIm: slot.specIm,
      first,
      end,
      storedBins,
      pack: withModel ? { input: shared.input, F, channelStride, nonzero: shared.nonzero } : null,
    }));
    await pool.run(tasks);
    if (withModel) {
      for (let c = 0; c < STEREO; c++) {
        const from = c * channelStride;
        slot.input.set(shared.input.subarray(from, from + frames * F), from);
      }
      slot.silent.fill(1);
      for (let t = 0; t < frames; t++) if (shared.nonzero[t]) slot.silent[(t / SPLEETER_T) | 0] = 0;
    }
    this.counters.dspMs += now() - t0;
    return { slot, frames, segments: Math.ceil(frames / SPLEETER_T), inference: null };
  }

  /**
   * Magnitudes of bins < F of frame `t` into the model input, channel c at c × (maxSegments
   * segments) + t × F (dispatch() moves channel 1 when the batch turns out shorter).
   */
  private packFrame(slot: BatchSlot, t: number): void {
    const F = this.F;
    const input = slot.input;
    const src = t * SPLEETER_BINS;
    const maxStride = this.maxSegments * SPLEETER_T * F;
    for (let c = 0; c < STEREO; c++) {
      const re = slot.specRe[c];
      const im = slot.specIm[c];
      const dst = c * maxStride + t * F;
      for (let f = 0; f < F; f++) {
        const r = re[src + f];
        const i = im[src + f];
        input[dst + f] = sqrt(r * r + i * i);
      }
    }
  }

  /** Feeds the analyzer the source's next chunk, or ends it when the source is done. */
  private async pull(state: SourceState, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    const chunk = await state.iterator.next();
    if (chunk.done) {
      state.done = true;
      state.analyzer.end();
    } else {
      this.push(state.analyzer, chunk.value);
    }
  }

  private push(analyzer: StreamingStftAnalyzer, chunk: unknown): void {
    if (!(chunk instanceof Float32Array)) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'Audio source must yield Float32Array chunks');
    }
    if (chunk.length % STEREO !== 0) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `Audio chunk of ${chunk.length} values is not interleaved stereo`,
        {
          length: chunk.length,
        },
      );
    }
    analyzer.push(chunk);
  }

  /**
   * Completes the batch's CSTF model input (segment count now known: zero padding, channel 1 at
   * its final offset) and starts the model on it. The returned promise is marked handled so that
   * a failure while this thread is busy elsewhere is not reported as unhandled; it still rejects
   * for whoever awaits it.
   */
  private dispatch(batch: PendingBatch, signal: AbortSignal | undefined): Promise<Float32Array[]> {
    const F = this.F;
    const t0 = now();
    const { frames, segments } = batch;
    const stride = segments * SPLEETER_T * F;
    const maxStride = this.maxSegments * SPLEETER_T * F;
    const full = batch.slot.input;
    const input = segments === this.maxSegments ? full : full.subarray(0, STEREO * stride);
    if (stride !== maxStride) full.copyWithin(stride, maxStride, maxStride + frames * F);
    for (let c = 0; c < STEREO; c++) input.fill(0, c * stride + frames * F, (c + 1) * stride);
    const t1 = now();
    this.counters.dspMs += t1 - t0;
    const kept: number[] = [];
    for (let s = 0; s < segments; s++) if (!(this.skipSilentSegments && batch.slot.silent[s])) kept.push(s);
    if (kept.length === segments) return this.call(input, segments, signal, t1);
    this.counters.skippedSegments += segments - kept.length;
    const outputs = this.model.instruments.map(() => new Float32Array(input.length));
    if (kept.length === 0) return Promise.resolve(outputs);
    // The other segments go to the model as one smaller batch; their outputs land in place.
    const block = SPLEETER_T * F;
    const compact = new Float32Array(STEREO * kept.length * block);
    for (let c = 0; c < STEREO; c++) {
      kept.forEach((s, j) => {
        const from = c * stride + s * block;
        compact.set(input.subarray(from, from + block), (c * kept.length + j) * block);
      });
    }
    const inference = this.call(compact, kept.length, signal, t1).then((small) => {
      small.forEach((out, i) => {
        for (let c = 0; c < STEREO; c++) {
          kept.forEach((s, j) => {
            const from = (c * kept.length + j) * block;
            outputs[i].set(out.subarray(from, from + block), c * stride + s * block);
          });
        }
      });
      return outputs;
    });
    inference.catch(() => undefined);
    return inference;
  }

  /** Starts one model call (counted and timed); the promise is marked handled (see dispatch). */
  private call(
    input: Float32Array,
    segments: number,
    signal: AbortSignal | undefined,
    t1: number,
  ): Promise<Float32Array[]> {
    this.counters.modelCalls++;
    if (this.inFlight++ === 0) this.busySince = t1;
    const inference = this.infer(input, segments, signal).finally(() => {
      if (--this.inFlight === 0) this.counters.inferenceMs += now() - this.busySince;
    });
    inference.catch(() => undefined);
    return inference;
  }

  /** One model call with error wrapping and output shape checks. */
  private async infer(
    input: Float32Array,
    segments: number,
    signal: AbortSignal | undefined,
  ): Promise<Float32Array[]> {
    let outputs: Float32Array[];
    try {
      outputs = await this.model.run(input, segments, signal);
    } catch (err) {
      throwIfAborted(signal);
      if (err instanceof ModelError) throw err;
      throw new ModelError(
        ErrorCodes.MODEL_INFERENCE_FAILED,
        `Model inference failed: ${(err as Error)?.message ?? String(err)}`,
        {},
        { cause: err },
      );
    }
    const n = this.model.instruments.length;
    if (
      !Array.isArray(outputs) ||
      outputs.length !== n ||
      outputs.some((o) => !(o instanceof Float32Array) || o.length !== input.length)
    ) {
      throw new ModelError(
        ErrorCodes.MODEL_INFERENCE_FAILED,
        `Model returned outputs of the wrong shape (expected ${n} × ${input.length} floats)`,
      );
    }
    return outputs;
  }

  private reportProgress(options: PassOptions, framesDone: number): void {
    if (!options.onProgress || options.expectedFrames === null || options.expectedFrames <= 0) return;
    const within = Math.min(1, framesDone / options.expectedFrames);
    options.onProgress(
      options.progressFrom + (options.progressTo - options.progressFrom) * within,
      options.stage,
    );
  }
}
