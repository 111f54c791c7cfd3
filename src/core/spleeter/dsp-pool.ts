/**
 * The DSP of one Spleeter batch cut into tasks that other threads can run (issue 14: with a GPU
 * the model is nearly free and this thread's STFT/iSTFT is the bottleneck). Every task reads and
 * writes SharedArrayBuffer-backed planes and is pure maths; a `DspThreadPool` (the port, injected
 * by the engine; its worker_threads live in infra/dsp) runs them. Results are bit-identical to the
 * single-thread path because every output value is the same computation in the same order:
 *
 * - `stft`: frames [first, end) of a batch from the batch's raw samples (each frame's FFT is its
 *   own), plus the model input magnitudes and an all-zero flag per frame (segment-pipeline.ts).
 * - `synth`: masks (ratio or Wiener) and overlap-add of frames [first, end) for every stem and
 *   channel. An output sample is the float64 sum, from +0, of the contributions of the frames that
 *   cover it, in frame order (nFft / hop = 4 of them). A range that does not start the batch
 *   re-computes the `warmup` (3) frames before it into a zeroed accumulator and discards what they
 *   emit, so its first sample gets the same four terms in the same order. The range that starts
 *   the batch loads the accumulators the previous batch's last range saved (`carryIn`), the last
 *   range saves its own (`carryOut`); the two sets alternate between batches so that they never
 *   overlap in time.
 * - `mwf-accumulate`: the Wiener filter's statistics for a range of bins (each bin its own sums).
 */
import { SPLEETER_FRAMING } from '../dsp/stft';
import type { FftBackendPreference } from '../dsp/wasm-fft';

/** Frames before a range whose overlap-add terms its first samples need (nFft / hop − 1). */
export const SYNTH_WARMUP_FRAMES = SPLEETER_FRAMING.nFft / SPLEETER_FRAMING.hop - 1;

/** Runs batches of DSP tasks on other threads (infra/dsp implements it with worker_threads). */
export interface DspThreadPool {
  /** Threads the tasks run on: callers cut their work into about this many tasks. */
  readonly threads: number;
  /**
   * Runs every task (any order, at most `threads` at a time) and resolves with each task's result
   * in task order; rejects with a SpleeterError when a task or a thread fails, once none of the
   * tasks runs any more.
   */
  run(tasks: readonly DspTask[]): Promise<number[]>;
  /** A zero-filled shared buffer of exactly `bytes`, reused from released ones where possible. */
  acquire(bytes: number): SharedArrayBuffer;
  /** Buffers no task uses any more, for later acquire() calls. */
  release(buffers: readonly SharedArrayBuffer[]): void;
}

/** Mixture spectrum planes of a batch (frame-major, SPLEETER_BINS per frame), shared. */
interface SpectrumPlanes {
  readonly specRe: readonly Float32Array[];
  readonly specIm: readonly Float32Array[];
}

export interface StftTask extends SpectrumPlanes {
  readonly kind: 'stft';
  /** The FFT the calling thread uses: the threads must use the same one (same results). */
  readonly fft: FftBackendPreference;
  /** Per channel: the batch's padded samples, frame t's window at t × hop (readFrameSamples). */
  readonly samples: readonly Float32Array[];
  readonly first: number;
  readonly end: number;
  readonly storedBins: number;
  /** Model input magnitudes (bins < F of frame t, channel c at c × channelStride + t × F) and per-frame zero flags. */
  readonly pack: {
    readonly input: Float32Array;
    readonly F: number;
    readonly channelStride: number;
    readonly nonzero: Uint8Array;
  } | null;
}

export interface SynthTask extends SpectrumPlanes {
  readonly kind: 'synth';
  readonly fft: FftBackendPreference;
  /** Model outputs per instrument, CSTF [2, segments, 512, F], shared. */
  readonly outputs: readonly Float32Array[];
  readonly segments: number;
  readonly F: number;
  readonly fullBandwidth: boolean;
  /** Instruments emitted (indices into outputs), in output order. */
  readonly stems: readonly number[];
  /** Ratio masks, or the Wiener filter's statistics after pass 2. */
  readonly mwf: { readonly maxAbs: number; readonly covariance: readonly Float64Array[] } | null;
  /** Global index of the batch's first frame. */
  readonly batchFrame: number;
  readonly first: number;
  readonly end: number;
  /** Frames before `first` re-computed and discarded (0 for the range that starts the batch). */
  readonly warmup: number;
  /** Output length cap (samples per channel), null while unknown. */
  readonly length: number | null;
  /** Per stem, per channel (index 2k + c): accumulators to start from (range at 0) and to save (last range). */
  readonly carryIn: readonly Float64Array[] | null;
  readonly carryOut: readonly Float64Array[] | null;
  /** Per stem: the batch's interleaved stereo output; this range writes from sample frame `outOffset`. */
  readonly out: readonly Float32Array[];
  readonly outOffset: number;
}

export interface MwfAccumulateTask extends SpectrumPlanes {
  readonly kind: 'mwf-accumulate';
  readonly outputs: readonly Float32Array[];
  readonly segments: number;
  readonly frames: number;
  readonly F: number;
  readonly fullBandwidth: boolean;
  readonly maxAbs: number;
  readonly covariance: readonly Float64Array[];
  readonly weight: readonly Float64Array[];
  readonly from: number;
  readonly to: number;
}

export type DspTask = StftTask | SynthTask | MwfAccumulateTask;

/** [first, end) ranges covering `count` items in at most `parts` nearly equal parts of at least `minSize`. */
export function splitRange(count: number, parts: number, minSize = 1): Array<[number, number]> {
  const n = Math.max(1, Math.min(parts, Math.floor(count / Math.max(1, minSize))));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const a = Math.floor((count * i) / n);
    const b = Math.floor((count * (i + 1)) / n);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/** Sample frames emitted before padded sample `position` (OverlapAddSynthesizer's crop). */
export function emittedBefore(position: number, length: number | null): number {
  const crop = SPLEETER_FRAMING.frontPad;
  return Math.max(0, Math.min(position, crop + (length ?? Number.POSITIVE_INFINITY)) - crop);
}

/**
 * One separation's use of a pool. Its shared planes come from the pool's free list and go back
 * with close() once no task of the separation runs: the threads keep the views a task message
 * gave them until their own (rare) garbage collections, so fresh buffers per separation would
 * pile up (measured: +200 MB of RSS per separation with 4-segment batches).
 */
export class DspSession {
  private readonly buffers: SharedArrayBuffer[] = [];

  constructor(private readonly pool: DspThreadPool) {}

  get threads(): number {
    return this.pool.threads;
  }

  run(tasks: readonly DspTask[]): Promise<number[]> {
    return this.pool.run(tasks);
  }

  /** A zero-filled shared Float32Array. */
  float32(length: number): Float32Array {
    return new Float32Array(this.take(length * Float32Array.BYTES_PER_ELEMENT), 0, length);
  }

  /** A zero-filled shared Float64Array. */
  float64(length: number): Float64Array {
    return new Float64Array(this.take(length * Float64Array.BYTES_PER_ELEMENT), 0, length);
  }

  /** A zero-filled shared Uint8Array. */
  bytes(length: number): Uint8Array {
    return new Uint8Array(this.take(length), 0, length);
  }

  /** Hands every buffer back to the pool (call when no task of this session can still run). */
  close(): void {
    this.pool.release(this.buffers.splice(0));
  }

  private take(bytes: number): SharedArrayBuffer {
    const buffer = this.pool.acquire(bytes);
    this.buffers.push(buffer);
    return buffer;
  }
}
