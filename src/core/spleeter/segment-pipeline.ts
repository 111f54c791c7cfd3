/**
 * One streaming pass over the source: interleaved stereo chunks → Spleeter STFT frames → batches of
 * 512-frame segments → (optionally) one SegmentModel.run per batch → a handler per batch.
 *
 * Memory is bounded by the batch: the mixture spectrum of `batchSegments × 512` frames (float32
 * re/im planes, 2049 bins, 2 channels), the model input/outputs for those segments, and the STFT
 * analyzer's 4096-sample window. Buffers are allocated once per pass and reused for every batch.
 */
import { ErrorCodes, ModelError, SeparationError, ValidationError } from '../errors';
import { SPLEETER_FRAMING, StreamingStftAnalyzer, stftFrameCount } from '../dsp/stft';
import { SPLEETER_BINS, SPLEETER_T, ProgressCallback, SegmentModel } from './types';

export const STEREO = 2;

// Module-level alias: global lookups in hot loops are slow in sandboxed contexts (jest's vm).
const sqrt = Math.sqrt;

export interface SegmentBatch {
  /** Global index of the batch's first STFT frame. */
  readonly firstFrame: number;
  /** Real STFT frames in the batch; the rest of its last segment is zero padding. */
  readonly frames: number;
  /** Segments sent to the model (ceil(frames / 512)). */
  readonly segments: number;
  /** Mixture spectrum per channel, frame-major: bin k of frame t at t*2049 + k. */
  readonly specRe: readonly Float32Array[];
  readonly specIm: readonly Float32Array[];
  /** Per instrument, CSTF [2, segments, 512, F] magnitudes; null for passes without the model. */
  readonly outputs: readonly Float32Array[] | null;
  /** Sample frames of the source, known once it has ended (always set on the batch with the last frames). */
  readonly totalSamples: number | null;
}

/** Counters shared by all passes of one separation. */
export interface PassCounters {
  modelCalls: number;
  inferenceMs: number;
  dspMs: number;
  sinkMs: number;
}

export interface PassOptions {
  withModel: boolean;
  stage: string;
  /** Progress range of this pass within the whole separation. */
  progressFrom: number;
  progressTo: number;
  /** Expected STFT frames, for progress; null when unknown. */
  expectedFrames: number | null;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface PassResult {
  samples: number;
  frames: number;
  segments: number;
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

export class SegmentPipeline {
  private readonly F: number;
  private readonly maxSegments: number;
  private readonly maxFrames: number;
  private readonly specRe: Float32Array[];
  private readonly specIm: Float32Array[];
  private readonly input: Float32Array;

  constructor(
    private readonly model: SegmentModel,
    batchSegments: number,
    private readonly counters: PassCounters,
  ) {
    this.F = model.F;
    this.maxSegments = batchSegments;
    this.maxFrames = batchSegments * SPLEETER_T;
    const planeLength = this.maxFrames * SPLEETER_BINS;
    this.specRe = [new Float32Array(planeLength), new Float32Array(planeLength)];
    this.specIm = [new Float32Array(planeLength), new Float32Array(planeLength)];
    this.input = new Float32Array(STEREO * batchSegments * SPLEETER_T * this.F);
  }

  /**
   * Streams `source` once. `onBatch` runs after each batch (awaited before the next one is read);
   * nothing is processed for an empty source.
   */
  async run(
    source: AsyncIterable<Float32Array>,
    options: PassOptions,
    onBatch: (batch: SegmentBatch) => Promise<void> | void,
  ): Promise<PassResult> {
    const analyzer = new StreamingStftAnalyzer(STEREO, SPLEETER_FRAMING);
    const iterator = source[Symbol.asyncIterator]();
    let sourceDone = false;
    let firstFrame = 0;
    let segments = 0;
    const { signal } = options;
    try {
      for (;;) {
        throwIfAborted(signal);
        let frames = 0;
        while (frames < this.maxFrames) {
          const t0 = performance.now();
          while (
            frames < this.maxFrames &&
            analyzer.readFrame(this.specRe, this.specIm, frames * SPLEETER_BINS)
          )
            frames++;
          this.counters.dspMs += performance.now() - t0;
          if (frames >= this.maxFrames || analyzer.isExhausted) break;
          throwIfAborted(signal);
          const next = await iterator.next();
          if (next.done) {
            sourceDone = true;
            analyzer.end();
          } else {
            this.push(analyzer, next.value);
          }
        }
        if (frames === 0 || (analyzer.isEnded && analyzer.samplesReceived === 0)) break;
        throwIfAborted(signal);
        const batchSegments = Math.ceil(frames / SPLEETER_T);
        const outputs = options.withModel ? await this.infer(frames, batchSegments, signal) : null;
        throwIfAborted(signal);
        await onBatch({
          firstFrame,
          frames,
          segments: batchSegments,
          specRe: this.specRe,
          specIm: this.specIm,
          outputs,
          totalSamples: analyzer.isEnded ? analyzer.samplesReceived : null,
        });
        firstFrame += frames;
        segments += batchSegments;
        this.reportProgress(options, firstFrame);
        if (analyzer.isExhausted) break;
      }
    } finally {
      if (!sourceDone) await iterator.return?.();
    }
    const samples = analyzer.samplesReceived;
    return { samples, frames: samples === 0 ? 0 : stftFrameCount(samples), segments };
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

  /** Packs magnitudes of bins < F into the CSTF input and runs the model once. */
  private async infer(
    frames: number,
    segments: number,
    signal: AbortSignal | undefined,
  ): Promise<Float32Array[]> {
    const F = this.F;
    const t0 = performance.now();
    const channelStride = segments * SPLEETER_T * F;
    const input = segments === this.maxSegments ? this.input : this.input.subarray(0, STEREO * channelStride);
    for (let c = 0; c < STEREO; c++) {
      const re = this.specRe[c];
      const im = this.specIm[c];
      const base = c * channelStride;
      for (let t = 0; t < frames; t++) {
        const src = t * SPLEETER_BINS;
        const dst = base + t * F;
        for (let f = 0; f < F; f++) {
          const r = re[src + f];
          const i = im[src + f];
          input[dst + f] = sqrt(r * r + i * i);
        }
      }
      input.fill(0, base + frames * F, base + channelStride);
    }
    const t1 = performance.now();
    this.counters.dspMs += t1 - t0;
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
    } finally {
      this.counters.inferenceMs += performance.now() - t1;
      this.counters.modelCalls++;
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
