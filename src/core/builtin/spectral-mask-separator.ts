/**
 * Streaming two-stem separation by complementary spectral masks: STFT (periodic Hann 4096, hop
 * 1024), a mask estimator decides M ∈ [0, 1] per channel and bin for each frame, stem A = iSTFT(M·X),
 * stem B = iSTFT((1 − M)·X). Because the masks are complementary and the STFT/iSTFT pair reconstructs
 * exactly (Hann² at 75 % overlap sums to 1.5 everywhere a sample is covered by its 4 frames), the
 * stems sum back to the mixture up to float rounding.
 *
 * Memory is bounded: the analyzer keeps one frame window, the engine `latency + 1` frames of
 * spectra (estimators that look ahead, like the HPSS time median, need them) and one output block.
 */
import { FramingConfig, OverlapAddSynthesizer, StreamingStftAnalyzer, stftFrameCount } from '../dsp/stft';
import { ErrorCodes, SeparationError } from '../errors';
import type { SeparateOptions, SeparationStats, StemSeparator, StemSink } from '../separation/types';

export const BUILTIN_SAMPLE_RATE = 44100;
/**
 * 3072 = nFft − hop zeros in front: the first frame already covers sample 0 with its last quarter,
 * so every sample has its full 4 frames and no frame is wasted on pure padding.
 */
export const BUILTIN_FRAMING: Readonly<FramingConfig> = Object.freeze({
  nFft: 4096,
  hop: 1024,
  frontPad: 3072,
});

export interface SpectralMaskEstimator {
  /** Frames the estimator must see after frame t before it can give t's mask. */
  readonly latency: number;
  /**
   * Feed frame `t` (per-channel re/im planes of `bins` values), or null for a zero frame after the
   * end of the signal. Once t ≥ latency, writes the stem-A mask of frame t − latency into `mask`
   * (per channel, `bins` values in [0, 1]) and returns true; returns false before that.
   */
  push(re: readonly Float32Array[] | null, im: readonly Float32Array[] | null, mask: Float32Array[]): boolean;
  /** Forget all state (a new signal starts). */
  reset(): void;
}

export interface SpectralMaskSeparatorOptions {
  /** Stem names: [masked, complement]. */
  stems: readonly [string, string];
  createEstimator: (bins: number) => SpectralMaskEstimator;
  /** Output block size in samples per stem per sink write (default 65536). */
  blockSamples?: number;
}

const CHANNELS = 2;

export class SpectralMaskSeparator implements StemSeparator {
  readonly stems: readonly string[];
  readonly sampleRate = BUILTIN_SAMPLE_RATE;
  readonly executionProvider = 'dsp';
  private readonly blockSamples: number;

  constructor(private readonly options: SpectralMaskSeparatorOptions) {
    this.stems = [...options.stems];
    this.blockSamples = options.blockSamples ?? 65536;
  }

  async separate(
    openSource: () => AsyncIterable<Float32Array>,
    sink: StemSink,
    opts: SeparateOptions = {},
  ): Promise<SeparationStats> {
    const framing = BUILTIN_FRAMING;
    const analyzer = new StreamingStftAnalyzer(CHANNELS, framing);
    const bins = analyzer.bins;
    const estimator = this.options.createEstimator(bins);
    const latency = estimator.latency;
    const synthA = new OverlapAddSynthesizer({ channels: CHANNELS, framing, cropStart: framing.frontPad });
    const synthB = new OverlapAddSynthesizer({ channels: CHANNELS, framing, cropStart: framing.frontPad });

    // Ring of the last latency+1 frames' spectra: a frame's mask arrives `latency` frames later.
    const ringSize = latency + 1;
    const ringRe = Array.from({ length: ringSize }, () => [new Float32Array(bins), new Float32Array(bins)]);
    const ringIm = Array.from({ length: ringSize }, () => [new Float32Array(bins), new Float32Array(bins)]);
    const mask = [new Float32Array(bins), new Float32Array(bins)];
    const specRe = new Float64Array(bins);
    const specIm = new Float64Array(bins);

    const block = this.blockSamples;
    // + nFft: flush() may add up to nFft − hop samples on top of a nearly full block.
    const outA = new Float32Array((block + framing.nFft) * CHANNELS);
    const outB = new Float32Array((block + framing.nFft) * CHANNELS);
    let pending = 0;
    let written = 0;
    let dspMs = 0;
    let framesIn = 0;
    let framesOut = 0;
    const total = opts.totalSamples;

    const flushBlock = async (force: boolean): Promise<void> => {
      if (pending === 0 || (!force && pending < block)) return;
      const a = outA.slice(0, pending * CHANNELS);
      const b = outB.slice(0, pending * CHANNELS);
      written += pending;
      pending = 0;
      await sink.write(
        new Map([
          [this.stems[0], a],
          [this.stems[1], b],
        ]),
      );
      if (total && total > 0) opts.onProgress?.(Math.min(1, written / total), 'separating');
    };

    const synthesize = (slot: number): void => {
      for (let c = 0; c < CHANNELS; c++) {
        const re = ringRe[slot][c];
        const im = ringIm[slot][c];
        const m = mask[c];
        for (let k = 0; k < bins; k++) {
          specRe[k] = re[k] * m[k];
          specIm[k] = im[k] * m[k];
        }
        synthA.addSpectrum(c, specRe, specIm);
        for (let k = 0; k < bins; k++) {
          const r = 1 - m[k];
          specRe[k] = re[k] * r;
          specIm[k] = im[k] * r;
        }
        synthB.addSpectrum(c, specRe, specIm);
      }
      const nA = synthA.advance(outA, pending);
      const nB = synthB.advance(outB, pending);
      if (nA !== nB) throw new Error('synthesizers out of step');
      pending += nA;
      framesOut++;
    };

    const drain = async (): Promise<void> => {
      for (;;) {
        const t0 = performance.now();
        const slot = framesIn % ringSize;
        if (!analyzer.readFrame(ringRe[slot], ringIm[slot], 0)) {
          dspMs += performance.now() - t0;
          return;
        }
        framesIn++;
        // ringSize = latency + 1, so frame t − latency sits in the slot after t's (same slot if 0).
        if (estimator.push(ringRe[slot], ringIm[slot], mask)) synthesize((framesIn - 1 - latency) % ringSize);
        dspMs += performance.now() - t0;
        if (pending >= block) await flushBlock(false);
      }
    };

    const checkAbort = (): void => {
      if (opts.signal?.aborted) {
        throw new SeparationError(ErrorCodes.JOB_CANCELED, 'separation aborted', {
          reason: String(opts.signal.reason),
        });
      }
    };

    for await (const chunk of openSource()) {
      checkAbort();
      if (chunk.length % CHANNELS !== 0) {
        throw new SeparationError(
          ErrorCodes.INTERNAL,
          `source chunk of ${chunk.length} values is not stereo-interleaved`,
        );
      }
      analyzer.push(chunk);
      await drain();
    }
    checkAbort();
    analyzer.end();
    const N = analyzer.samplesReceived;
    const totalFrames = stftFrameCount(N, framing);
    // Before the remaining frames: their overlap reaches past N and must be cropped.
    synthA.setLength(N);
    synthB.setLength(N);
    await drain();

    const t0 = performance.now();
    // Zero frames past the end let a look-ahead estimator finish the last `latency` frames.
    for (let j = 0; j < latency && framesOut < totalFrames; j++) {
      if (estimator.push(null, null, mask)) synthesize((framesIn + j - latency) % ringSize);
      if (pending >= block) await flushBlock(false);
    }
    const tailA = synthA.flush(outA, pending);
    const tailB = synthB.flush(outB, pending);
    if (tailA !== tailB) throw new Error('synthesizers out of step');
    pending += tailA;
    dspMs += performance.now() - t0;
    await flushBlock(true);
    if (written !== N) {
      throw new SeparationError(ErrorCodes.INTERNAL, `produced ${written} samples for ${N} input samples`);
    }
    return { samples: N, frames: totalFrames, segments: 0, inferenceMs: 0, dspMs, modelCalls: 0 };
  }
}
