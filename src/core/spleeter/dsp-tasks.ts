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
import { OverlapAddSynthesizer, SPLEETER_FRAMING } from '../dsp/stft';
import { createStftFft, fftBackend, type FftBackendPreference, type StftFft } from '../dsp/wasm-fft';
import { periodicHann } from '../dsp/window';
import { AudioProcessingError, ErrorCodes } from '../errors';
import { MultichannelWienerFilter } from './mwf';
import { RatioMasker } from './ratio-mask';
import type { SegmentBatch } from './segment-pipeline';
import { SPLEETER_BINS, SPLEETER_T } from './types';

const STEREO = 2;
const sqrt = Math.sqrt;

/** Frames before a range whose overlap-add terms its first samples need (nFft / hop − 1). */
export const SYNTH_WARMUP_FRAMES = SPLEETER_FRAMING.nFft / SPLEETER_FRAMING.hop - 1;

/** Runs batches of DSP tasks on other threads (infra/dsp implements it with worker_threads). */
export interface DspThreadPool {
  /** Threads the tasks run on: callers cut their work into about this many tasks. */
  readonly threads: number;
  /**
   * Runs every task (any order, at most `threads` at a time) and resolves with each task's result
   * in task order; rejects with a SpleeterError when a task or a thread fails.
   */
  run(tasks: readonly DspTask[]): Promise<number[]>;
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

/** Per-thread caches: transforms, windows and synthesizers are reused from task to task. */
const ffts = new Map<FftBackendPreference, StftFft>();
const synths = new Map<FftBackendPreference, OverlapAddSynthesizer[]>();
let window: Float64Array | null = null;

function checkBackend(fft: FftBackendPreference): void {
  // 'auto' on the calling thread meant WebAssembly: a thread that could not load it would give
  // other (float64) results, so it refuses instead.
  if (fft === 'auto' && fftBackend(SPLEETER_FRAMING.nFft) !== 'wasm-simd') {
    throw new AudioProcessingError(
      ErrorCodes.INTERNAL,
      'DSP thread cannot load the WebAssembly FFT the separation uses',
    );
  }
}

function synthesizers(fft: FftBackendPreference, count: number): OverlapAddSynthesizer[] {
  let list = synths.get(fft);
  if (!list) synths.set(fft, (list = []));
  while (list.length < count) list.push(new OverlapAddSynthesizer({ channels: STEREO, fftBackend: fft }));
  return list;
}

/** Runs one task in this thread; returns its result (0 for tasks with none). */
export function runDspTask(task: DspTask): number {
  switch (task.kind) {
    case 'stft':
      return runStft(task);
    case 'synth':
      return runSynth(task);
    case 'mwf-accumulate':
      return runMwfAccumulate(task);
    default:
      throw new AudioProcessingError(
        ErrorCodes.INTERNAL,
        `unknown DSP task ${JSON.stringify((task as { kind?: unknown }).kind)}`,
      );
  }
}

function runStft(task: StftTask): number {
  checkBackend(task.fft);
  let fft = ffts.get(task.fft);
  if (!fft) ffts.set(task.fft, (fft = createStftFft(SPLEETER_FRAMING.nFft, task.fft)));
  const w = (window ??= periodicHann(SPLEETER_FRAMING.nFft));
  const { nFft: n, hop } = SPLEETER_FRAMING;
  const { specRe, specIm, storedBins, pack } = task;
  for (let t = task.first; t < task.end; t++) {
    const offset = t * SPLEETER_BINS;
    for (let c = 0; c < STEREO; c++) {
      const frame = task.samples[c].subarray(t * hop, t * hop + n);
      fft.forwardWindowed32(frame, w, specRe[c], specIm[c], offset, storedBins);
    }
    if (pack === null) continue;
    // As SegmentPipeline.packFrame and isZeroFrame, for frame t.
    const F = pack.F;
    let nonzero = 0;
    for (let c = 0; c < STEREO; c++) {
      const re = specRe[c];
      const im = specIm[c];
      const dst = c * pack.channelStride + t * F;
      for (let f = 0; f < F; f++) {
        const r = re[offset + f];
        const i = im[offset + f];
        pack.input[dst + f] = sqrt(r * r + i * i);
      }
      for (let k = offset, e = offset + storedBins; k < e && nonzero === 0; k++) {
        if (re[k] !== 0 || im[k] !== 0) nonzero = 1;
      }
    }
    pack.nonzero[t] = nonzero;
  }
  return 0;
}

/** The SegmentBatch view the maskers read (only the fields they use). */
function batchView(
  task: SpectrumPlanes & { outputs: readonly Float32Array[]; segments: number },
  frames: number,
): SegmentBatch {
  return {
    firstFrame: 0,
    frames,
    segments: task.segments,
    specRe: task.specRe,
    specIm: task.specIm,
    storedBins: SPLEETER_BINS,
    outputs: task.outputs,
    totalSamples: null,
  };
}

function runSynth(task: SynthTask): number {
  checkBackend(task.fft);
  const { hop } = SPLEETER_FRAMING;
  const stems = task.stems;
  const n = task.outputs.length;
  const F = task.F;
  const list = synthesizers(task.fft, stems.length);
  const from = task.first - task.warmup;
  const position = (task.batchFrame + from) * hop;
  for (let k = 0; k < stems.length; k++) {
    const carry = task.warmup === 0 && task.carryIn ? [task.carryIn[2 * k], task.carryIn[2 * k + 1]] : null;
    list[k].restore(position, carry, task.length);
  }
  const scratch = new Float32Array(hop * STEREO);
  let written = 0;
  // Ratio masks: as SpleeterSeparator.separateRatio's batch handler.
  const masker = task.mwf ? null : new RatioMasker(F, n, task.fullBandwidth);
  const gain = new Float64Array(F);
  // Wiener filter: as separateMwf's pass-3 handler.
  const filter = task.mwf
    ? new MultichannelWienerFilter(F, n, task.fullBandwidth, undefined, {
        maxAbs: task.mwf.maxAbs,
        covariance: task.mwf.covariance,
        weight: [],
        finalized: true,
      })
    : null;
  const batch = batchView(task, task.end);
  const outRe = stems.map(() => [new Float64Array(SPLEETER_BINS), new Float64Array(SPLEETER_BINS)]);
  const outIm = stems.map(() => [new Float64Array(SPLEETER_BINS), new Float64Array(SPLEETER_BINS)]);
  for (let t = from; t < task.end; t++) {
    const specOffset = t * SPLEETER_BINS;
    if (masker) {
      for (let c = 0; c < STEREO; c++) {
        masker.prepare(task.outputs, task.segments, t, c);
        for (let k = 0; k < stems.length; k++) {
          const above = masker.mask(task.outputs[stems[k]], task.segments, t, c, gain);
          list[k].addScaledSpectrum(c, gain, F, above, task.specRe[c], task.specIm[c], specOffset);
        }
      }
    } else {
      (filter as MultichannelWienerFilter).filterFrame(batch, t, stems, outRe, outIm);
      for (let k = 0; k < stems.length; k++) {
        for (let c = 0; c < STEREO; c++) list[k].addSpectrum(c, outRe[k][c], outIm[k][c]);
      }
    }
    if (t < task.first) {
      for (let k = 0; k < stems.length; k++) list[k].advance(scratch, 0);
    } else {
      let w = 0;
      for (let k = 0; k < stems.length; k++) w = list[k].advance(task.out[k], task.outOffset + written);
      written += w;
    }
  }
  if (task.carryOut) {
    for (let k = 0; k < stems.length; k++) {
      for (let c = 0; c < STEREO; c++) task.carryOut[2 * k + c].set(list[k].accumulator(c));
    }
  }
  return written;
}

function runMwfAccumulate(task: MwfAccumulateTask): number {
  const filter = new MultichannelWienerFilter(task.F, task.outputs.length, task.fullBandwidth, undefined, {
    maxAbs: task.maxAbs,
    covariance: task.covariance,
    weight: task.weight,
    finalized: false,
  });
  filter.accumulateBins(batchView(task, task.frames), task.from, task.to);
  return 0;
}

/** A Float32Array on shared memory (the planes tasks read and write). */
export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT));
}

/** A Float64Array on shared memory. */
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT));
}
