/**
 * Loudness normalisation: the gain that brings a measured programme to a target loudness, the
 * bookkeeping that keeps separated stems summing to the original mixture, and a streaming
 * true-peak limiter for outputs that must stay under a ceiling.
 *
 * Two ways a separation can use it (planLoudnessNormalization):
 * - 'restore' (default): the input is scaled by g before the network so every input reaches the
 *   model at the same loudness, and every stem is scaled by 1/g afterwards. Stems then still sum to
 *   the mixture (up to the model's own error) and nothing is limited: the gain is linear, and
 *   float samples above 0 dBFS between the two steps lose nothing.
 * - 'normalized': the stems keep the gain (they come out at the mixture's target loudness, so
 *   their sum reads the target) and pass through the true-peak limiter, default ceiling −1 dBTP.
 *
 * The limiter (TruePeakLimiter) looks ahead: peaks are detected on the 4×-oversampled signal
 * (true-peak.ts) and the gain reaches the needed reduction before the peak arrives, as the average
 * of a sliding minimum (which can never overshoot the needed reduction), then recovers with an
 * exponential release. All channels share one gain, so the stereo image does not move.
 */
import { checkChannelCount, checkSampleRate, interleavedView } from './channel-view';
import type { LoudnessResult } from './loudness';
import { TruePeakMeter } from './true-peak';

const { min, max, round, exp, log10 } = Math;

export const DEFAULT_TARGET_LUFS = -14;
export const DEFAULT_CEILING_DBTP = -1;
/** No input is raised by more than this (near-silent inputs would otherwise be raised by 60 dB). */
export const DEFAULT_MAX_GAIN_DB = 40;

export function dbToGain(db: number): number {
  return 10 ** (db / 20);
}

export function gainToDb(gain: number): number {
  return 20 * log10(gain);
}

/**
 * Gain in dB that brings `measuredLufs` to `targetLufs`, at most `maxGainDb`; 0 when there is no
 * measurable loudness (digital silence, under 400 ms).
 */
export function normalizationGainDb(
  measuredLufs: number | null,
  targetLufs = DEFAULT_TARGET_LUFS,
  maxGainDb = DEFAULT_MAX_GAIN_DB,
): number {
  if (!Number.isFinite(targetLufs)) throw new RangeError(`targetLufs must be finite, got ${targetLufs}`);
  if (measuredLufs === null || !Number.isFinite(measuredLufs)) return 0;
  return min(maxGainDb, targetLufs - measuredLufs);
}

export type NormalizationMode = 'restore' | 'normalized';

export interface NormalizationOptions {
  targetLufs?: number;
  /** 'restore' (default): stems scaled back to the mixture's level; 'normalized': stems keep the gain, limited. */
  mode?: NormalizationMode;
  ceilingDbtp?: number;
  maxGainDb?: number;
}

export interface NormalizationPlan {
  mode: NormalizationMode;
  targetLufs: number;
  measuredLufs: number | null;
  /** Applied to the input before the network. */
  inputGainDb: number;
  inputGain: number;
  /** Applied to every stem after the network: 1 / inputGain ('restore') or 1 ('normalized'). */
  stemGain: number;
  /** Stems go through TruePeakLimiter with this ceiling ('normalized'); null: no limiting. */
  stemCeilingDbtp: number | null;
}

/** What to do with the input and the stems, from the input's measured loudness. */
export function planLoudnessNormalization(
  measured: LoudnessResult | number | null,
  options: NormalizationOptions = {},
): NormalizationPlan {
  const mode = options.mode ?? 'restore';
  if (mode !== 'restore' && mode !== 'normalized')
    throw new RangeError(`unknown normalization mode ${String(mode)}`);
  const targetLufs = options.targetLufs ?? DEFAULT_TARGET_LUFS;
  const ceiling = options.ceilingDbtp ?? DEFAULT_CEILING_DBTP;
  if (!Number.isFinite(ceiling) || ceiling > 0)
    throw new RangeError(`ceilingDbtp must be ≤ 0, got ${ceiling}`);
  const measuredLufs = typeof measured === 'number' || measured === null ? measured : measured.integratedLufs;
  const inputGainDb = normalizationGainDb(measuredLufs, targetLufs, options.maxGainDb);
  const inputGain = dbToGain(inputGainDb);
  return {
    mode,
    targetLufs,
    measuredLufs,
    inputGainDb,
    inputGain,
    stemGain: mode === 'restore' ? 1 / inputGain : 1,
    stemCeilingDbtp: mode === 'normalized' ? ceiling : null,
  };
}

/** Multiplies an interleaved chunk by `gain` in place (float32 rounding once per sample). */
export function applyGain(chunk: Float32Array, gain: number): Float32Array {
  if (gain !== 1) for (let i = 0; i < chunk.length; i++) chunk[i] *= gain;
  return chunk;
}

export interface TruePeakLimiterOptions {
  sampleRate: number;
  channels: number;
  ceilingDbtp?: number;
  /** Gain applied before limiting (e.g. the normalisation gain). Default 1. */
  gain?: number;
  /** Look-ahead and attack time (default 3 ms). */
  lookaheadMs?: number;
  /** Time constant of the gain recovery (default 100 ms). */
  releaseMs?: number;
}

/**
 * Streaming look-ahead true-peak limiter. `process(chunk)` returns the output available so far
 * (delayed internally by `latency` frames, so early calls return less than they got), `flush()`
 * the rest: over a whole stream the output has exactly as many frames as the input, aligned with
 * it. Output true peak stays at or below the ceiling (within 0.1 dB, measured by the same 4×
 * oversampling); below the ceiling the signal passes unchanged apart from the pre-gain.
 */
export class TruePeakLimiter {
  readonly sampleRate: number;
  readonly channels: number;
  readonly ceiling: number;
  readonly gain: number;
  /** Frames between a sample entering and leaving. */
  readonly latency: number;
  private readonly lookahead: number;
  private readonly release: number;
  private readonly detector: TruePeakMeter;
  private readonly detectorDelay: number;
  /** Pre-gained input, interleaved, ring of `ringFrames`. */
  private readonly delayLine: Float64Array;
  private readonly ringFrames: number;
  /** Sliding minimum of the needed gain over the look-ahead window: monotonic deque of (index, value). */
  private readonly dqIndex: Float64Array;
  private readonly dqValue: Float64Array;
  private dqHead = 0;
  private dqLen = 0;
  /** Last `lookahead` released minima and their sum (box average). */
  private readonly box: Float64Array;
  private boxSum = 0;
  private released = 1;
  private inFrames = 0;
  private outFrames = 0;
  private flushed = false;
  /** Smallest gain applied so far (for reports). */
  minGain = 1;

  constructor(options: TruePeakLimiterOptions) {
    checkSampleRate(options.sampleRate);
    checkChannelCount(options.channels);
    const ceilingDb = options.ceilingDbtp ?? DEFAULT_CEILING_DBTP;
    if (!Number.isFinite(ceilingDb) || ceilingDb > 0)
      throw new RangeError(`ceilingDbtp must be ≤ 0, got ${ceilingDb}`);
    const gain = options.gain ?? 1;
    if (!(gain > 0) || !Number.isFinite(gain))
      throw new RangeError(`gain must be a positive number, got ${gain}`);
    this.sampleRate = options.sampleRate;
    this.channels = options.channels;
    // A hair under the ceiling: the output's own interpolated peaks differ slightly from
    // gain × the input's where the gain moves within the interpolator's span.
    this.ceiling = dbToGain(ceilingDb - 0.02);
    this.gain = gain;
    this.lookahead = max(1, round(((options.lookaheadMs ?? 3) * options.sampleRate) / 1000));
    this.release = exp(-1000 / ((options.releaseMs ?? 100) * options.sampleRate));
    this.detector = new TruePeakMeter(options.channels, options.sampleRate);
    this.detectorDelay = this.detector.delay;
    this.latency = this.detectorDelay + this.lookahead - 1;
    this.ringFrames = this.latency + 1;
    this.delayLine = new Float64Array(this.ringFrames * options.channels);
    this.dqIndex = new Float64Array(this.lookahead + 1);
    this.dqValue = new Float64Array(this.lookahead + 1);
    this.box = new Float64Array(this.lookahead).fill(1);
    this.boxSum = this.lookahead;
    // The stream is taken as preceded by lookahead − 1 frames of silence (need 1): the windows
    // that start before frame 0 then still see the real frames they reach into.
    for (let v = 0; v < this.lookahead - 1; v++) this.slideMin(v, 1);
  }

  /** Gain reduction applied so far at its deepest, in dB (≤ 0). */
  get maxReductionDb(): number {
    return gainToDb(this.minGain);
  }

  process(chunk: Float32Array): Float32Array {
    if (this.flushed) throw new Error('process() after flush()');
    return this.run(chunk, chunk.length / this.channels);
  }

  /** Emits the last `latency` frames (the look-ahead then sees silence). */
  flush(): Float32Array {
    if (this.flushed) return new Float32Array(0);
    const real = this.inFrames;
    const before = this.outFrames;
    const out = this.run(new Float32Array(this.latency * this.channels), this.latency);
    this.flushed = true;
    // Only frames that correspond to real input leave.
    this.outFrames = real;
    return out.subarray(0, max(0, real - before) * this.channels);
  }

  private run(chunk: Float32Array, frames: number): Float32Array {
    const ch = this.channels;
    const view = interleavedView(chunk, ch);
    const g0 = this.gain;
    let pre = chunk;
    if (g0 !== 1) {
      pre = new Float32Array(chunk.length);
      for (let i = 0; i < chunk.length; i++) pre[i] = chunk[i] * g0;
    }
    const peaks = new Float64Array(frames);
    // Samples whose every interpolated neighbour is provably under the ceiling need no exact peak.
    this.detector.process(
      g0 === 1 ? view.arrays : new Array(ch).fill(pre),
      view.starts,
      view.stride,
      frames,
      peaks,
      0,
      this.ceiling,
    );
    const emitted = max(0, this.inFrames + frames - this.latency) - max(0, this.inFrames - this.latency);
    const out = new Float32Array(emitted * ch);
    let o = 0;
    const ring = this.delayLine;
    const R = this.ringFrames;
    for (let j = 0; j < frames; j++) {
      const i = this.inFrames + j;
      const slot = (i % R) * ch;
      for (let c = 0; c < ch; c++) ring[slot + c] = pre[j * ch + c];
      // The detector's value for input i describes the points around frame m = i − delay.
      const m = i - this.detectorDelay;
      if (m < 0) continue;
      const p = peaks[j];
      const need = p > this.ceiling ? this.ceiling / p : 1;
      // Window index v = m + lookahead − 1 counts the silent lead-in (see the constructor).
      const h = this.slideMin(m + this.lookahead - 1, need) as number;
      // h = min of the needed gain over [n, n + lookahead), n = m − lookahead + 1 (n < 0 during
      // the lead-in); released, then averaged over the last `lookahead` values: each of those
      // covers n, so the average never exceeds the gain n needs.
      const rel = 1 - (1 - this.released) * this.release;
      this.released = h < rel ? h : rel;
      const n = m - this.lookahead + 1;
      const bi = (n + this.lookahead) % this.lookahead;
      this.boxSum += this.released - this.box[bi];
      this.box[bi] = this.released;
      if (n < 0) continue;
      const g = min(1, this.boxSum / this.lookahead);
      if (g < this.minGain) this.minGain = g;
      const src = (n % R) * ch;
      for (let c = 0; c < ch; c++) out[o++] = ring[src + c] * g;
    }
    this.inFrames += frames;
    this.outFrames += o / ch;
    return o === out.length ? out : out.subarray(0, o);
  }

  /**
   * Pushes value v for window index m into the sliding-minimum deque; once the window
   * [m − L + 1, m] is full, returns its minimum.
   */
  private slideMin(m: number, v: number): number | null {
    const cap = this.dqIndex.length;
    // Drop larger values from the back: they can never be the minimum again.
    while (this.dqLen > 0 && this.dqValue[(this.dqHead + this.dqLen - 1) % cap] >= v) this.dqLen--;
    const at = (this.dqHead + this.dqLen) % cap;
    this.dqIndex[at] = m;
    this.dqValue[at] = v;
    this.dqLen++;
    const start = m - this.lookahead + 1;
    while (this.dqIndex[this.dqHead] < start) {
      this.dqHead = (this.dqHead + 1) % cap;
      this.dqLen--;
    }
    return start >= 0 ? this.dqValue[this.dqHead] : null;
  }
}

/** Wraps a source: every chunk multiplied by `gain`, in new arrays (sources' chunks stay as they are). */
export async function* gainStream(
  source: AsyncIterable<Float32Array>,
  gain: number,
): AsyncGenerator<Float32Array> {
  for await (const chunk of source) {
    const out = new Float32Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) out[i] = chunk[i] * gain;
    yield out;
  }
}

/** Wraps a source with a TruePeakLimiter: the same number of frames out, limited. */
export async function* limitStream(
  source: AsyncIterable<Float32Array>,
  options: TruePeakLimiterOptions,
): AsyncGenerator<Float32Array> {
  const limiter = new TruePeakLimiter(options);
  for await (const chunk of source) {
    const out = limiter.process(chunk);
    if (out.length) yield out;
  }
  const tail = limiter.flush();
  if (tail.length) yield tail;
}
