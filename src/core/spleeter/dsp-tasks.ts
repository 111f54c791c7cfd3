/**
 * The DSP tasks of dsp-pool.ts, run in the thread that calls runDspTask (a DSP worker thread, or
 * this one in tests). Transforms, windows and synthesizers are cached per thread.
 */
import { OverlapAddSynthesizer, SPLEETER_FRAMING } from '../dsp/stft';
import { createStftFft, fftBackend, type FftBackendPreference, type StftFft } from '../dsp/wasm-fft';
import { periodicHann } from '../dsp/window';
import { AudioProcessingError, ErrorCodes } from '../errors';
import type { DspTask, MwfAccumulateTask, StftTask, SynthTask } from './dsp-pool';
import { MultichannelWienerFilter } from './mwf';
import { RatioMasker } from './ratio-mask';
import type { SegmentBatch } from './segment-pipeline';
import { SPLEETER_BINS } from './types';

const STEREO = 2;
const sqrt = Math.sqrt;

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
  task: Pick<SynthTask, 'specRe' | 'specIm' | 'outputs' | 'segments'>,
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
