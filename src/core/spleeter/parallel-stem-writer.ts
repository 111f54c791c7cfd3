/**
 * The separator's batch handlers with DSP threads (dsp-pool.ts says why the results are the same
 * as StemWriter's, bit for bit): this thread copies the model outputs into shared planes, cuts the
 * batch into frame ranges for the threads' `synth` tasks, and hands each stem's interleaved output
 * to the sink as a fresh array. Shared memory per separation: the model outputs of one batch per
 * instrument, one batch of output per stem and two sets of overlap-add accumulators.
 */
import { OverlapAddSynthesizer, SPLEETER_FRAMING } from '../dsp/stft';
import { fftBackend } from '../dsp/wasm-fft';
import {
  emittedBefore,
  splitRange,
  SYNTH_WARMUP_FRAMES,
  type DspSession,
  type MwfAccumulateTask,
  type SynthTask,
} from './dsp-pool';
import type { MultichannelWienerFilter } from './mwf';
import type { PassCounters, SegmentBatch } from './segment-pipeline';
import type { StemSink } from '../separation/types';
import { SPLEETER_T } from './types';

const STEREO = 2;
/**
 * Fewest frames per synthesis range: each range but the first re-computes SYNTH_WARMUP_FRAMES (3)
 * frames, so short ranges would waste more than they gain.
 */
const MIN_RANGE_FRAMES = 32;
/** Fewest bins per Wiener-statistics range. */
const MIN_RANGE_BINS = 64;

/** Model outputs of the batch being handled, copied into shared memory for the threads. */
export class SharedModelOutputs {
  private readonly planes: Float32Array[];

  constructor(session: DspSession, instruments: number, maxSegments: number, F: number) {
    this.planes = Array.from({ length: instruments }, () =>
      session.float32(STEREO * maxSegments * SPLEETER_T * F),
    );
  }

  /** The batch's outputs (CSTF for its own segment count) as shared views. */
  copy(batch: SegmentBatch): Float32Array[] {
    const outputs = batch.outputs as readonly Float32Array[];
    return outputs.map((o, i) => {
      const plane = this.planes[i].subarray(0, o.length);
      plane.set(o);
      return plane;
    });
  }
}

/** The FFT the threads must use: the one this thread's STFT classes get. */
export function threadFft(): 'auto' | 'js' {
  return fftBackend(SPLEETER_FRAMING.nFft) === 'js' ? 'js' : 'auto';
}

/**
 * Pass 2 of the Wiener filter on the threads: ranges of bins, each with its own sums
 * (MultichannelWienerFilter.accumulateBins). The filter's statistics must be shared arrays.
 */
export async function accumulateMwfParallel(
  pool: DspSession,
  filter: MultichannelWienerFilter,
  outputs: SharedModelOutputs,
  batch: SegmentBatch,
  F: number,
  fullBandwidth: boolean,
): Promise<void> {
  const state = filter.state();
  const shared = outputs.copy(batch);
  const tasks = splitRange(filter.bins, pool.threads, MIN_RANGE_BINS).map(
    ([from, to]): MwfAccumulateTask => ({
      kind: 'mwf-accumulate',
      specRe: batch.specRe,
      specIm: batch.specIm,
      outputs: shared,
      segments: batch.segments,
      frames: batch.frames,
      F,
      fullBandwidth,
      maxAbs: state.maxAbs,
      covariance: state.covariance,
      weight: state.weight,
      from,
      to,
    }),
  );
  await pool.run(tasks);
}

export class ParallelStemWriter {
  private readonly outputs: SharedModelOutputs;
  /** Per stem: one batch of interleaved stereo output. */
  private readonly out: Float32Array[];
  /** Two sets (alternating per batch) of accumulators per stem and channel (index 2k + c). */
  private readonly carry: [Float64Array[], Float64Array[]];
  private length: number | null = null;
  private framesDone = 0;
  private batches = 0;

  constructor(
    private readonly pool: DspSession,
    private readonly stemNames: readonly string[],
    private readonly stemIndices: readonly number[],
    private readonly sink: StemSink,
    private readonly counters: PassCounters,
    private readonly model: {
      readonly F: number;
      readonly instruments: number;
      readonly fullBandwidth: boolean;
    },
    maxSegments: number,
  ) {
    this.outputs = new SharedModelOutputs(pool, model.instruments, maxSegments, model.F);
    this.out = stemNames.map(() => pool.float32(maxSegments * SPLEETER_T * SPLEETER_FRAMING.hop * STEREO));
    const set = () =>
      Array.from({ length: STEREO * stemNames.length }, () => pool.float64(SPLEETER_FRAMING.nFft));
    this.carry = [set(), set()];
  }

  /**
   * Synthesizes the batch on the threads (ratio masks, or the Wiener filter after pass 2) and
   * writes it to the sink.
   */
  async batch(b: SegmentBatch, filter: MultichannelWienerFilter | null): Promise<void> {
    const t0 = performance.now();
    if (b.totalSamples !== null) this.length ??= b.totalSamples;
    const { hop } = SPLEETER_FRAMING;
    const length = this.length;
    const start = b.firstFrame * hop;
    const count = emittedBefore(start + b.frames * hop, length) - emittedBefore(start, length);
    const outputs = this.outputs.copy(b);
    const parity = this.batches % 2;
    const mwf = filter ? { maxAbs: filter.state().maxAbs, covariance: filter.state().covariance } : null;
    const fft = threadFft();
    const tasks = splitRange(b.frames, this.pool.threads, MIN_RANGE_FRAMES).map(
      ([first, end]): SynthTask => ({
        kind: 'synth',
        fft,
        specRe: b.specRe,
        specIm: b.specIm,
        outputs,
        segments: b.segments,
        F: this.model.F,
        fullBandwidth: this.model.fullBandwidth,
        stems: this.stemIndices,
        mwf,
        batchFrame: b.firstFrame,
        first,
        end,
        warmup: first === 0 ? 0 : SYNTH_WARMUP_FRAMES,
        length,
        carryIn: first === 0 ? this.carry[parity] : null,
        carryOut: end === b.frames ? this.carry[1 - parity] : null,
        out: this.out,
        outOffset: emittedBefore(start + first * hop, length) - emittedBefore(start, length),
      }),
    );
    await this.pool.run(tasks);
    this.batches++;
    this.framesDone = b.firstFrame + b.frames;
    this.counters.dspMs += performance.now() - t0;
    // Fresh arrays for the sink (slice() of a shared view is an ordinary array).
    if (count > 0) await this.write(this.out.map((o) => o.slice(0, count * STEREO)));
  }

  /** After the last batch: the overlap tail up to N samples (StemWriter.finish). */
  async finish(totalSamples: number): Promise<void> {
    const carry = this.carry[this.batches % 2];
    const position = this.framesDone * SPLEETER_FRAMING.hop;
    const synths = this.stemNames.map((_, k) => {
      const s = new OverlapAddSynthesizer({ channels: STEREO, framing: SPLEETER_FRAMING });
      s.restore(position, [carry[2 * k], carry[2 * k + 1]], this.length ?? totalSamples);
      return s;
    });
    const count = synths[0].pendingTail;
    if (count === 0) return;
    await this.write(
      synths.map((s) => {
        const o = new Float32Array(count * STEREO);
        s.flush(o, 0);
        return o;
      }),
    );
  }

  private async write(arrays: Float32Array[]): Promise<void> {
    const map = new Map<string, Float32Array>();
    this.stemNames.forEach((name, k) => map.set(name, arrays[k]));
    const t0 = performance.now();
    await this.sink.write(map);
    this.counters.sinkMs += performance.now() - t0;
  }
}
