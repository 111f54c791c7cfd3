/**
 * Loudness per ITU-R BS.1770-4 and EBU R128 (Tech 3341 / 3342), streaming, for any sample rate
 * and channel count:
 *
 * - K-weighting (biquad.ts) designed for the actual rate, in float64;
 * - mean square per channel over 100 ms sub-blocks, weighted per channel (1.0 front, 1.41
 *   surround, 0 LFE) and summed; 400 ms gating blocks (momentary) and 3 s windows (short-term)
 *   are averages of 4 and 30 consecutive sub-blocks, so both advance every 100 ms (75 % overlap
 *   for the gating blocks, as BS.1770 requires, and the 10 Hz short-term rate Tech 3342 asks for);
 * - integrated loudness: absolute gate −70 LUFS, relative gate −10 LU below the absolute-gated
 *   mean; loudness range: short-term values, −70 LUFS absolute and −20 LU relative gate, the
 *   spread between the 10th and 95th percentiles;
 * - sample peak and true peak (true-peak.ts).
 *
 * Memory does not grow with the input: gated values go into histograms of 0.01 LU bins from −70
 * to +30 LUFS that keep each bin's count and exact energy sum. Means are exact; only which side of
 * the relative gate a block lands on is decided per bin (a block within 0.01 LU of the gate may
 * be counted on the wrong side), and the LRA percentiles take the mean loudness of their bin.
 * Only complete blocks count: a signal shorter than 400 ms has no integrated loudness (null), one
 * shorter than 3 s no loudness range.
 *
 * Measured against ffmpeg's ebur128 filter in test/integration/analysis-loudness-ffmpeg.spec.ts.
 */
import { BiquadCascade, kWeighting } from './biquad';
import { ChannelView, sliceView, toDb, ViewAnalyzer } from './channel-view';
import type { SilenceDetector } from './silence';
import { TruePeakMeter } from './true-peak';

const { log10, round, floor, min, max } = Math;

/** L = −0.691 + 10·log10(Σ G_c·z_c), BS.1770-4 eq. 2. */
export const LOUDNESS_OFFSET = -0.691;
export const ABSOLUTE_GATE_LUFS = -70;
export const RELATIVE_GATE_LU = -10;
export const LRA_RELATIVE_GATE_LU = -20;
export const LRA_LOW_PERCENTILE = 0.1;
export const LRA_HIGH_PERCENTILE = 0.95;
/** BS.1770-4 weight of the surround channels (+1.5 dB). */
export const SURROUND_WEIGHT = 1.41;

const HIST_MIN = ABSOLUTE_GATE_LUFS;
const HIST_MAX = 30;
const HIST_STEP = 0.01;
const HIST_BINS = round((HIST_MAX - HIST_MIN) / HIST_STEP);

export function energyToLufs(energy: number): number {
  return LOUDNESS_OFFSET + 10 * log10(energy);
}

/**
 * BS.1770-4 channel weights for the usual WAV/ffmpeg channel orders: mono, stereo and 3.0 all
 * 1.0; 4 channels = quad (FL FR BL BR); 5 = 5.0 (FL FR FC SL SR); 6 = 5.1 (FL FR FC LFE SL SR, the
 * LFE excluded); 7 = 6.1 (FL FR FC LFE BC SL SR); 8 = 7.1 (FL FR FC LFE BL BR SL SR). Other
 * counts: every channel 1.0 (pass explicit weights when the layout is known to differ).
 */
export function defaultChannelWeights(channels: number): number[] {
  const S = SURROUND_WEIGHT;
  switch (channels) {
    case 4:
      return [1, 1, S, S];
    case 5:
      return [1, 1, 1, S, S];
    case 6:
      return [1, 1, 1, 0, S, S];
    case 7:
      return [1, 1, 1, 0, S, S, S];
    case 8:
      return [1, 1, 1, 0, S, S, S, S];
    default:
      return new Array<number>(channels).fill(1);
  }
}

export interface LoudnessMeterOptions {
  sampleRate: number;
  channels: number;
  /** Per-channel weights G_c (default: defaultChannelWeights). */
  channelWeights?: readonly number[];
  /** Measure the true peak (default true; costs about as much as the rest of the meter). */
  truePeak?: boolean;
}

/** All figures in LUFS / LU / dBFS / dBTP; null where the signal gives no value (silence, too short). */
export interface LoudnessResult {
  integratedLufs: number | null;
  /** The relative gate that integrated loudness used. */
  integratedGateLufs: number | null;
  loudnessRangeLu: number | null;
  lraLowLufs: number | null;
  lraHighLufs: number | null;
  maxMomentaryLufs: number | null;
  maxShortTermLufs: number | null;
  samplePeakDbfs: number | null;
  /** Null when the meter runs without true peak. */
  truePeakDbtp: number | null;
  /** Per channel, same order as the input. */
  channelTruePeaksDbtp: (number | null)[] | null;
  channelSamplePeaksDbfs: (number | null)[];
  durationSec: number;
}

/** Counts and energy sums of gated values in 0.01 LU bins. */
class GatingHistogram {
  private readonly counts = new Float64Array(HIST_BINS);
  private readonly energies = new Float64Array(HIST_BINS);
  total = 0;
  energySum = 0;

  /** Adds a block of mean-square energy `e` (loudness `l`) if it passes the absolute gate. */
  add(e: number, l: number): void {
    if (!(l >= ABSOLUTE_GATE_LUFS)) return;
    const bin = min(HIST_BINS - 1, floor((l - HIST_MIN) / HIST_STEP));
    this.counts[bin]++;
    this.energies[bin] += e;
    this.total++;
    this.energySum += e;
  }

  /** First bin whose centre lies at or above `lufs`. */
  private binAt(lufs: number): number {
    return max(0, min(HIST_BINS, Math.ceil((lufs - HIST_MIN) / HIST_STEP - 0.5)));
  }

  /** Relative gate: the absolute-gated mean loudness + `offsetLu`; null without gated blocks. */
  relativeGate(offsetLu: number): number | null {
    return this.total > 0 ? energyToLufs(this.energySum / this.total) + offsetLu : null;
  }

  /** Mean loudness of the blocks at or above `gate`. */
  gatedMean(gate: number): number | null {
    let n = 0;
    let e = 0;
    for (let b = this.binAt(gate); b < HIST_BINS; b++) {
      n += this.counts[b];
      e += this.energies[b];
    }
    return n > 0 ? energyToLufs(e / n) : null;
  }

  /** Loudness at the given percentiles of the blocks at or above `gate` (ranks as libebur128: round((n−1)·p)). */
  percentiles(gate: number, ps: readonly number[]): (number | null)[] {
    const first = this.binAt(gate);
    let n = 0;
    for (let b = first; b < HIST_BINS; b++) n += this.counts[b];
    if (n === 0) return ps.map(() => null);
    return ps.map((p) => {
      const rank = round((n - 1) * p);
      let seen = 0;
      for (let b = first; b < HIST_BINS; b++) {
        seen += this.counts[b];
        if (seen > rank) return energyToLufs(this.energies[b] / this.counts[b]);
      }
      return null;
    });
  }
}

/**
 * Streaming loudness meter. push()/pushPlanar() any number of chunks, read result() at any time
 * (it measures what was pushed so far and does not disturb the stream).
 */
export class LoudnessMeter extends ViewAnalyzer {
  readonly weights: readonly number[];
  /** Samples per 100 ms sub-block. */
  readonly subBlock: number;
  private readonly filter: BiquadCascade;
  private readonly truePeakMeter: TruePeakMeter | null;
  private readonly samplePeaks: Float64Array;
  /** Stereo with both channels measured: the two filters run in one loop (sumSquaresPair). */
  private readonly pairs: boolean;
  /** Outputs of sumSquaresPair that a call does not need (peaks with a true-peak meter, Σx²). */
  private readonly peakScratch = new Float64Array(2);
  private readonly squaresScratch = new Float64Array(2);
  /** Σ y² of the current sub-block, per channel. */
  private readonly partial: Float64Array;
  private partialFrames = 0;
  /** Weighted mean-square energy of the last 30 sub-blocks (ring). */
  private readonly ring = new Float64Array(30);
  private subBlocks = 0;
  private readonly integrated = new GatingHistogram();
  private readonly shortTerm = new GatingHistogram();
  private maxMomentary = -Infinity;
  private maxShort = -Infinity;
  private frames = 0;

  constructor(options: LoudnessMeterOptions) {
    super(options.sampleRate, options.channels);
    const weights = options.channelWeights ?? defaultChannelWeights(options.channels);
    if (weights.length !== options.channels || weights.some((w) => !(w >= 0) || !Number.isFinite(w)))
      throw new RangeError(`channelWeights must be ${options.channels} finite non-negative numbers`);
    this.weights = [...weights];
    this.subBlock = round(options.sampleRate / 10);
    this.filter = new BiquadCascade(kWeighting(options.sampleRate), options.channels);
    this.truePeakMeter =
      options.truePeak === false ? null : new TruePeakMeter(options.channels, options.sampleRate);
    this.samplePeaks = new Float64Array(options.channels);
    this.partial = new Float64Array(options.channels);
    this.pairs =
      options.channels === 2 && weights[0] !== 0 && weights[1] !== 0 && this.filter.canPairSumSquares;
  }

  get framesReceived(): number {
    return this.frames;
  }

  /** Feeds a view (see channel-view.ts). */
  override feed(view: ChannelView): void {
    this.feedWithSilence(view, null);
  }

  /**
   * feed(), and with `silence` (stereo 'rms', see SilenceDetector.acceptsStereoSums) that
   * detector's block sums and peak from the same loop over the samples, so it needs no pass of its
   * own: the same results as feeding both. Runs end at the detector's block edges as well.
   */
  feedWithSilence(view: ChannelView, silence: SilenceDetector | null): void {
    if (view.frames === 0) return;
    if (silence && !(silence.acceptsStereoSums && this.pairs)) {
      silence.feed(view);
      silence = null;
    }
    this.truePeakMeter?.process(view.arrays, view.starts, view.stride, view.frames);
    if (!this.pairs) {
      if (!this.truePeakMeter) this.trackSamplePeaks(view);
      this.feedChannels(view);
    } else {
      // Stereo: both channels' filters in one loop (the same sums, see sumSquaresPair), which
      // also keeps the sample peaks, and the silence detector's squares when it is given.
      const peaks = this.truePeakMeter ? this.peakScratch : this.samplePeaks;
      const plain = silence ? silence.blockSquares : this.squaresScratch;
      const { arrays, starts, stride } = view;
      let done = 0;
      while (done < view.frames) {
        let n = min(view.frames - done, this.subBlock - this.partialFrames);
        if (silence) n = min(n, silence.blockFramesLeft);
        const offset = done * stride;
        this.filter.sumSquaresPair(
          arrays[0],
          starts[0] + offset,
          arrays[1],
          starts[1] + offset,
          stride,
          n,
          this.partial,
          plain,
          peaks,
        );
        silence?.addSummedFrames(n, max(peaks[0], peaks[1]));
        this.partialFrames += n;
        done += n;
        if (this.partialFrames === this.subBlock) this.completeSubBlock();
      }
    }
    this.frames += view.frames;
  }

  /** Per-channel K-weighted sums, sub-block by sub-block (any channel count). */
  private feedChannels(view: ChannelView): void {
    let done = 0;
    while (done < view.frames) {
      const n = min(view.frames - done, this.subBlock - this.partialFrames);
      const part = sliceView(view, done, n);
      for (let c = 0; c < this.channels; c++) {
        if (this.weights[c] === 0) continue; // LFE: never measured
        this.partial[c] = this.filter.sumSquares(
          c,
          part.arrays[c],
          part.starts[c],
          part.stride,
          n,
          this.partial[c],
        );
      }
      this.partialFrames += n;
      done += n;
      if (this.partialFrames === this.subBlock) this.completeSubBlock();
    }
  }

  private trackSamplePeaks(view: ChannelView): void {
    for (let c = 0; c < this.channels; c++) {
      const a = view.arrays[c];
      let p = this.samplePeaks[c];
      for (let i = 0, k = view.starts[c]; i < view.frames; i++, k += view.stride) {
        const v = a[k] < 0 ? -a[k] : a[k];
        if (v > p) p = v;
      }
      this.samplePeaks[c] = p;
    }
  }

  private completeSubBlock(): void {
    let e = 0;
    for (let c = 0; c < this.channels; c++) e += this.weights[c] * this.partial[c];
    e /= this.subBlock;
    this.partial.fill(0);
    this.partialFrames = 0;
    this.ring[this.subBlocks % 30] = e;
    this.subBlocks++;
    if (this.subBlocks >= 4) {
      const m = this.windowEnergy(4);
      const l = energyToLufs(m);
      this.integrated.add(m, l);
      if (l > this.maxMomentary) this.maxMomentary = l;
    }
    if (this.subBlocks >= 30) {
      const s = this.windowEnergy(30);
      const l = energyToLufs(s);
      this.shortTerm.add(s, l);
      if (l > this.maxShort) this.maxShort = l;
    }
  }

  /** Mean energy of the last `count` sub-blocks. */
  private windowEnergy(count: number): number {
    let sum = 0;
    for (let k = 1; k <= count; k++) sum += this.ring[(this.subBlocks - k) % 30];
    return sum / count;
  }

  /** Momentary loudness (last 400 ms), null before 400 ms or for digital silence. */
  get momentaryLufs(): number | null {
    return this.subBlocks >= 4 ? finiteOrNull(energyToLufs(this.windowEnergy(4))) : null;
  }

  /** Short-term loudness (last 3 s), null before 3 s or for digital silence. */
  get shortTermLufs(): number | null {
    return this.subBlocks >= 30 ? finiteOrNull(energyToLufs(this.windowEnergy(30))) : null;
  }

  result(): LoudnessResult {
    const gate = this.integrated.relativeGate(RELATIVE_GATE_LU);
    const integratedLufs = gate === null ? null : this.integrated.gatedMean(gate);
    const lraGate = this.shortTerm.relativeGate(LRA_RELATIVE_GATE_LU);
    const [low, high] =
      lraGate === null
        ? [null, null]
        : this.shortTerm.percentiles(lraGate, [LRA_LOW_PERCENTILE, LRA_HIGH_PERCENTILE]);
    const tp = this.truePeakMeter;
    const samplePeaks = tp ? tp.samplePeaks : this.samplePeaks;
    let sp = 0;
    for (const p of samplePeaks) sp = max(sp, p);
    return {
      integratedLufs,
      integratedGateLufs: integratedLufs === null ? null : gate,
      loudnessRangeLu: low !== null && high !== null ? high - low : null,
      lraLowLufs: low,
      lraHighLufs: high,
      maxMomentaryLufs: finiteOrNull(this.maxMomentary),
      maxShortTermLufs: finiteOrNull(this.maxShort),
      samplePeakDbfs: toDb(sp),
      truePeakDbtp: tp ? toDb(tp.truePeak) : null,
      channelTruePeaksDbtp: tp ? Array.from(tp.truePeaks, (p, c) => toDb(max(p, tp.samplePeaks[c]))) : null,
      channelSamplePeaksDbfs: Array.from(samplePeaks, (p) => toDb(p)),
      durationSec: this.frames / this.sampleRate,
    };
  }
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Measures a whole interleaved signal (convenience for tests and small inputs). */
export function measureLoudness(interleaved: Float32Array, options: LoudnessMeterOptions): LoudnessResult {
  const meter = new LoudnessMeter(options);
  meter.push(interleaved);
  return meter.result();
}
