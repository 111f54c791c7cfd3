/**
 * Musical key estimation, streaming, constant memory:
 *
 * 1. Chroma: ~186 ms frames (8192 samples at 44.1 kHz, scaled with the rate), half overlapping;
 *    every bin between 80 Hz and 5 kHz adds its magnitude to the pitch class of the nearest
 *    equal-tempered semitone (A4 = 440 Hz), weighted by closeness (1 at the semitone, 0 half-way
 *    to the next, so noise between semitones counts little) and by 1/√(f / 80 Hz). That last
 *    weight favours the bass and the fundamentals over upper harmonics, whose fifths (3rd
 *    harmonic) and thirds (5th) otherwise pull the estimate towards the dominant key: on generated
 *    progressions it takes the Krumhansl profiles from 80 % to 100 %. Frames are summed over the
 *    whole input (12 numbers kept).
 * 2. Key: the Pearson correlation of that chroma with major and minor key profiles in all 12
 *    rotations; the best of the 24 wins. Profiles: Temperley's Kostka–Payne corpus profiles
 *    (default; "Music and Probability", 2007), which weight notes outside the scale near zero, or
 *    Krumhansl–Kessler's probe-tone ratings (1982).
 *
 * Confidence is the winner's correlation minus the runner-up's. The usual confusions of the method
 * are the relative major/minor (C major vs A minor share every note) and the dominant key; the
 * accuracy on generated chord progressions is in key.spec.ts and docs/ANALYSIS.md.
 */
import { ChannelView, ViewAnalyzer } from './channel-view';
import { MonoSpectrogram } from './mono-frames';

const { log2, round, abs, sqrt, max } = Math;

export const PITCH_CLASSES = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'] as const;
export type PitchClass = (typeof PITCH_CLASSES)[number];

/** Krumhansl & Kessler (1982) probe-tone ratings, tonic first. */
export const KRUMHANSL_MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
export const KRUMHANSL_MINOR = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];
/** Temperley's major/minor profiles (probabilities of each scale degree in a segment). */
export const TEMPERLEY_MAJOR = [
  0.748, 0.06, 0.488, 0.082, 0.67, 0.46, 0.096, 0.715, 0.104, 0.366, 0.057, 0.4,
];
export const TEMPERLEY_MINOR = [
  0.712, 0.084, 0.474, 0.618, 0.049, 0.46, 0.105, 0.747, 0.404, 0.067, 0.133, 0.33,
];

export type KeyProfiles = 'temperley' | 'krumhansl';

export interface KeyOptions {
  sampleRate: number;
  channels: number;
  /** Default 'temperley'. */
  profiles?: KeyProfiles;
}

export interface KeyResult {
  /** e.g. "A minor"; null without tonal content. */
  key: string | null;
  tonic: PitchClass | null;
  mode: 'major' | 'minor' | null;
  /** Correlation of the winner (−1..1). */
  correlation: number;
  /** Winner's correlation minus the runner-up's (0 = a tie). */
  confidence: number;
  /** The runner-up key. */
  runnerUp: string | null;
  /** Summed chroma, normalised to a maximum of 1, C first. */
  chroma: number[];
}

const MIN_HZ = 80;
const MAX_HZ = 5000;

function pearson(a: readonly number[], b: readonly number[], shift: number): number {
  // b rotated so that b[0] lines up with a[shift].
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < 12; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= 12;
  mb /= 12;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < 12; i++) {
    const x = a[(i + shift) % 12] - ma;
    const y = b[i] - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da > 0 && db > 0 ? num / sqrt(da * db) : 0;
}

export class KeyEstimator extends ViewAnalyzer {
  private readonly spec: MonoSpectrogram;
  /** Per bin: pitch class (−1 outside the range) and weight. */
  private readonly binClass: Int8Array;
  private readonly binWeight: Float32Array;
  private readonly chroma = new Float64Array(12);
  private readonly profiles: KeyProfiles;
  private ended = false;

  constructor(options: KeyOptions) {
    super(options.sampleRate, options.channels);
    const profiles = options.profiles ?? 'temperley';
    if (profiles !== 'temperley' && profiles !== 'krumhansl')
      throw new RangeError(`unknown key profiles ${String(profiles)}`);
    this.profiles = profiles;
    this.spec = new MonoSpectrogram(options.sampleRate, options.channels, 0.186, 2, (re, im) =>
      this.onFrame(re, im),
    );
    const bins = this.spec.bins;
    const nFft = this.spec.framing.nFft;
    this.binClass = new Int8Array(bins).fill(-1);
    this.binWeight = new Float32Array(bins);
    for (let k = 1; k < bins; k++) {
      const f = (k * options.sampleRate) / nFft;
      if (f < MIN_HZ || f > MAX_HZ) continue;
      const midi = 69 + 12 * log2(f / 440);
      const nearest = round(midi);
      this.binClass[k] = ((nearest % 12) + 12) % 12;
      this.binWeight[k] = max(0, 1 - 2 * abs(midi - nearest)) / sqrt(f / MIN_HZ);
    }
  }

  override feed(view: ChannelView): void {
    this.spec.feed(view);
  }

  private onFrame(re: Float32Array, im: Float32Array): void {
    const cls = this.binClass;
    const w = this.binWeight;
    const chroma = this.chroma;
    for (let k = 0; k < cls.length; k++) {
      const pc = cls[k];
      if (pc < 0) continue;
      chroma[pc] += w[k] * sqrt(re[k] * re[k] + im[k] * im[k]);
    }
  }

  /** Ends the input (the analyzer takes no more) and estimates the key. */
  result(): KeyResult {
    if (!this.ended) {
      this.spec.end();
      this.ended = true;
    }
    return keyFromChroma(this.chroma, this.profiles);
  }
}

/** The key whose profile correlates best with a 12-bin chroma (C first). */
export function keyFromChroma(chromaIn: ArrayLike<number>, profiles: KeyProfiles = 'temperley'): KeyResult {
  const c = Array.from(chromaIn);
  if (c.length !== 12) throw new RangeError(`chroma must have 12 values, got ${c.length}`);
  const major = profiles === 'temperley' ? TEMPERLEY_MAJOR : KRUMHANSL_MAJOR;
  const minor = profiles === 'temperley' ? TEMPERLEY_MINOR : KRUMHANSL_MINOR;
  const peak = Math.max(...c);
  const chroma = c.map((v) => (peak > 0 ? v / peak : 0));
  const none: KeyResult = {
    key: null,
    tonic: null,
    mode: null,
    correlation: 0,
    confidence: 0,
    runnerUp: null,
    chroma,
  };
  if (!(peak > 0)) return none;
  const scores: Array<{ tonic: number; mode: 'major' | 'minor'; r: number }> = [];
  for (let t = 0; t < 12; t++) {
    scores.push({ tonic: t, mode: 'major', r: pearson(c, major, t) });
    scores.push({ tonic: t, mode: 'minor', r: pearson(c, minor, t) });
  }
  scores.sort((a, b) => b.r - a.r);
  const [best, second] = scores;
  if (!(best.r > 0)) return none;
  const name = (s: { tonic: number; mode: string }) => `${PITCH_CLASSES[s.tonic]} ${s.mode}`;
  return {
    key: name(best),
    tonic: PITCH_CLASSES[best.tonic],
    mode: best.mode,
    correlation: best.r,
    confidence: best.r - second.r,
    runnerUp: name(second),
    chroma,
  };
}

/** Key of a whole interleaved signal. */
export function estimateKey(interleaved: Float32Array, options: KeyOptions): KeyResult {
  const sut = new KeyEstimator(options);
  sut.push(interleaved);
  return sut.result();
}
