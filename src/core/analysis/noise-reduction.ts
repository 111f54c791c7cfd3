/**
 * Spectral-gating noise reduction in two streaming passes:
 *
 * 1. NoiseProfileEstimator: the average power spectrum of the quietest passages (by default the
 *    quietest 10 % of the STFT frames that are not digital silence), kept in 1 dB buckets of frame
 *    energy so memory does not grow with the input (at most a few hundred spectra of ~1000 bins).
 * 2. SpectralGateDenoiser: per frame and bin, a gain from how far the power (smoothed over
 *    3 bins and ~2 frames, so that the random peaks of noise do not open the gate) stands above
 *    the profile: full level from `thresholdDb` (default 9 dB) above it, `reductionDb` (default
 *    18 dB) down from `thresholdDb − kneeDb` (default 3 dB) and below, linear in dB between; the
 *    gains then rise with a 10 ms and fall with an 80 ms time constant, so that gated noise does
 *    not turn into "musical noise" and note tails are not chopped. One gain per bin for all
 *    channels keeps the stereo image. Resynthesis is the project's STFT/overlap-add (src/core/dsp,
 *    WebAssembly FFT): periodic Hann analysis and synthesis, 75 % overlap, ~46 ms frames (2048 at
 *    44.1/48 kHz, scaled with the rate); with all gains 1 the output equals the input to float32
 *    precision (> 130 dB SNR).
 *
 * The profile comes from the input itself: where the quietest passages are music, not noise, the
 * gate attenuates quiet music too. It is an opt-in preprocessing step for recordings with audible
 * hiss or room noise between phrases.
 */
import { OverlapAddSynthesizer, StreamingStftAnalyzer, type FramingConfig } from '../dsp/stft';
import { checkChannelCount, checkSampleRate } from './channel-view';

const { log10, max, min, exp, round, pow, floor } = Math;

export const DEFAULT_REDUCTION_DB = 18;
export const DEFAULT_GATE_THRESHOLD_DB = 9;
export const DEFAULT_KNEE_DB = 6;
export const DEFAULT_QUIET_FRACTION = 0.1;
const ATTACK_MS = 10;
const RELEASE_MS = 80;
/** Weight of the previous frames in the smoothed power (≈ 2-frame memory at 75 % overlap). */
const POWER_MEMORY = 0.5;

/** ~46 ms frames (a power of two), 75 % overlap, front padding so every sample gets 4 frames. */
export function noiseReductionFraming(sampleRate: number, fftSize?: number): FramingConfig {
  checkSampleRate(sampleRate);
  const nFft = fftSize ?? 2 ** round(Math.log2(0.046 * sampleRate));
  if (!Number.isInteger(nFft) || nFft < 64 || (nFft & (nFft - 1)) !== 0)
    throw new RangeError(`fftSize must be a power of two >= 64, got ${nFft}`);
  return { nFft, hop: nFft / 4, frontPad: nFft - nFft / 4 };
}

export interface NoiseProfile {
  sampleRate: number;
  fftSize: number;
  /** Mean power per bin (nFft/2 + 1 values) of the frames taken as noise, channels averaged. */
  power: Float64Array;
  /** STFT frames it was averaged over. */
  frames: number;
  /** RMS level of that noise, dBFS (from the spectrum by Parseval); null for digital silence. */
  levelDbfs: number | null;
}

interface Planes {
  re: Float32Array[];
  im: Float32Array[];
}

function planes(channels: number, bins: number): Planes {
  return {
    re: Array.from({ length: channels }, () => new Float32Array(bins)),
    im: Array.from({ length: channels }, () => new Float32Array(bins)),
  };
}

/** Channel-averaged power of the frame in `p` into `out`; returns its sum. */
function framePower(p: Planes, out: Float64Array): number {
  const ch = p.re.length;
  const bins = out.length;
  out.fill(0);
  for (let c = 0; c < ch; c++) {
    const re = p.re[c];
    const im = p.im[c];
    for (let k = 0; k < bins; k++) out[k] += re[k] * re[k] + im[k] * im[k];
  }
  let sum = 0;
  for (let k = 0; k < bins; k++) {
    out[k] /= ch;
    sum += out[k];
  }
  return sum;
}

export interface NoiseProfileOptions {
  sampleRate: number;
  channels: number;
  fftSize?: number;
  /** Share of the non-silent frames, quietest first, that make the profile (default 0.1). */
  quietFraction?: number;
}

const BUCKET_MIN_DB = -250;
const BUCKET_MAX_DB = 150;

/** Pass 1: streaming estimate of the noise spectrum from the quietest frames. */
export class NoiseProfileEstimator {
  readonly sampleRate: number;
  readonly channels: number;
  readonly framing: FramingConfig;
  private readonly analyzer: StreamingStftAnalyzer;
  private readonly quietFraction: number;
  private readonly frame: Planes;
  private readonly power: Float64Array;
  /** Per 1 dB bucket of frame energy: Σ power spectra and frame count. */
  private readonly buckets = new Map<number, { sum: Float64Array; count: number }>();
  private counted = 0;

  constructor(options: NoiseProfileOptions) {
    checkChannelCount(options.channels);
    this.sampleRate = options.sampleRate;
    this.channels = options.channels;
    this.framing = noiseReductionFraming(options.sampleRate, options.fftSize);
    const q = options.quietFraction ?? DEFAULT_QUIET_FRACTION;
    if (!(q > 0 && q <= 1)) throw new RangeError(`quietFraction must be in (0, 1], got ${q}`);
    this.quietFraction = q;
    this.analyzer = new StreamingStftAnalyzer(options.channels, this.framing);
    this.frame = planes(options.channels, this.analyzer.bins);
    this.power = new Float64Array(this.analyzer.bins);
  }

  /** Interleaved chunk; it is read later, in place: do not modify it afterwards. */
  push(chunk: Float32Array): void {
    this.analyzer.push(chunk);
    this.drain();
  }

  private drain(): void {
    while (this.analyzer.readFrame(this.frame.re, this.frame.im, 0)) {
      const energy = framePower(this.frame, this.power);
      if (energy <= 0) continue; // digital silence says nothing about the noise
      const db = max(BUCKET_MIN_DB, min(BUCKET_MAX_DB, floor(10 * log10(energy))));
      let b = this.buckets.get(db);
      if (!b) {
        b = { sum: new Float64Array(this.power.length), count: 0 };
        this.buckets.set(db, b);
      }
      for (let k = 0; k < this.power.length; k++) b.sum[k] += this.power[k];
      b.count++;
      this.counted++;
    }
  }

  /** Ends the input and returns the profile; null when every frame was digital silence. */
  finish(): NoiseProfile | null {
    if (!this.analyzer.isEnded) {
      this.analyzer.end();
      this.drain();
    }
    if (this.counted === 0) return null;
    const want = max(1, round(this.counted * this.quietFraction));
    const power = new Float64Array(this.power.length);
    let taken = 0;
    for (const db of [...this.buckets.keys()].sort((a, b) => a - b)) {
      const b = this.buckets.get(db)!;
      for (let k = 0; k < power.length; k++) power[k] += b.sum[k];
      taken += b.count;
      if (taken >= want) break;
    }
    let total = 0;
    for (let k = 0; k < power.length; k++) {
      power[k] /= taken;
      total += (k === 0 || k === power.length - 1 ? 1 : 2) * power[k];
    }
    // Parseval over the full spectrum, divided by N·Σw² (Σw² = 3N/8 for periodic Hann).
    const n = this.framing.nFft;
    const meanSquare = total / (n * ((3 * n) / 8));
    return {
      sampleRate: this.sampleRate,
      fftSize: n,
      power,
      frames: taken,
      levelDbfs: meanSquare > 0 ? 10 * log10(meanSquare) : null,
    };
  }
}

export interface SpectralGateOptions {
  channels: number;
  /** Attenuation of bins at or below the noise profile (default 18 dB). */
  reductionDb?: number;
  /** Bins this far above the profile pass untouched (default 9 dB). */
  thresholdDb?: number;
  /** Width of the transition below the threshold; further down the full reduction applies (default 6 dB). */
  kneeDb?: number;
  /** Gain smoothing: rise and fall time constants (default 10 ms and 80 ms). */
  attackMs?: number;
  releaseMs?: number;
}

/**
 * Pass 2: streaming spectral gate. process() returns what is ready (the STFT delays output by up
 * to one frame), flush() the rest; over a stream the output has exactly the input's length and
 * alignment.
 */
export class SpectralGateDenoiser {
  readonly channels: number;
  readonly framing: FramingConfig;
  private readonly analyzer: StreamingStftAnalyzer;
  private readonly synth: OverlapAddSynthesizer;
  private readonly noise: Float64Array;
  private readonly frame: Planes;
  private readonly power: Float64Array;
  private readonly gainDb: Float64Array;
  private readonly gain: Float64Array;
  private readonly smoothed: Float64Array;
  /** Power per bin, smoothed over neighbouring bins and a few frames (noise decisions need fewer outliers). */
  private readonly smoothPower: Float64Array;
  private readonly powerMemory: number;
  private readonly reductionDb: number;
  private readonly thresholdDb: number;
  private readonly kneeDb: number;
  private readonly attack: number;
  private readonly release: number;
  private lengthSet = false;
  private finished = false;

  constructor(profile: NoiseProfile, options: SpectralGateOptions) {
    checkChannelCount(options.channels);
    this.channels = options.channels;
    this.framing = noiseReductionFraming(profile.sampleRate, profile.fftSize);
    this.reductionDb = options.reductionDb ?? DEFAULT_REDUCTION_DB;
    this.thresholdDb = options.thresholdDb ?? DEFAULT_GATE_THRESHOLD_DB;
    if (!(this.reductionDb >= 0 && this.reductionDb <= 120))
      throw new RangeError(`reductionDb must be in 0..120, got ${this.reductionDb}`);
    if (!(this.thresholdDb > 0 && this.thresholdDb <= 60))
      throw new RangeError(`thresholdDb must be in (0, 60], got ${this.thresholdDb}`);
    this.kneeDb = options.kneeDb ?? DEFAULT_KNEE_DB;
    if (!(this.kneeDb > 0 && this.kneeDb <= this.thresholdDb))
      throw new RangeError(`kneeDb must be in (0, thresholdDb], got ${this.kneeDb}`);
    this.analyzer = new StreamingStftAnalyzer(options.channels, this.framing);
    const bins = this.analyzer.bins;
    if (profile.power.length !== bins) throw new RangeError('noise profile does not match the framing');
    this.synth = new OverlapAddSynthesizer({ channels: options.channels, framing: this.framing });
    // A floor keeps log ratios finite for bins the profile saw as exact zeros.
    this.noise = Float64Array.from(profile.power, (p) => max(p, 1e-30));
    this.frame = planes(options.channels, bins);
    this.power = new Float64Array(bins);
    this.gainDb = new Float64Array(bins);
    this.gain = new Float64Array(bins);
    this.smoothed = new Float64Array(bins).fill(1);
    this.smoothPower = new Float64Array(bins);
    this.powerMemory = POWER_MEMORY;
    const hopSec = this.framing.hop / profile.sampleRate;
    this.attack = exp(-hopSec / ((options.attackMs ?? ATTACK_MS) / 1000));
    this.release = exp(-hopSec / ((options.releaseMs ?? RELEASE_MS) / 1000));
  }

  /** Interleaved chunk; it is read later, in place: do not modify it afterwards. */
  process(chunk: Float32Array): Float32Array {
    if (this.finished) throw new Error('process() after flush()');
    this.analyzer.push(chunk);
    return this.drain(false);
  }

  flush(): Float32Array {
    if (this.finished) return new Float32Array(0);
    this.analyzer.end();
    this.finished = true;
    return this.drain(true);
  }

  private drain(final: boolean): Float32Array {
    const a = this.analyzer;
    const parts: Float32Array[] = [];
    let total = 0;
    while (true) {
      if (a.isEnded && !this.lengthSet) {
        this.synth.setLength(a.samplesReceived);
        this.lengthSet = true;
      }
      if (!a.readFrame(this.frame.re, this.frame.im, 0)) break;
      this.computeGains();
      for (let c = 0; c < this.channels; c++) {
        this.synth.addScaledSpectrum(
          c,
          this.gain,
          this.gain.length,
          0,
          this.frame.re[c],
          this.frame.im[c],
          0,
        );
      }
      const out = new Float32Array(this.synth.samplesFor(1, false) * this.channels);
      const n = this.synth.advance(out, 0);
      if (n > 0) {
        parts.push(out.subarray(0, n * this.channels));
        total += n * this.channels;
      }
    }
    if (final) {
      const tail = new Float32Array(this.synth.pendingTail * this.channels);
      const n = this.synth.flush(tail, 0);
      parts.push(tail.subarray(0, n * this.channels));
      total += n * this.channels;
    }
    if (parts.length === 1) return parts[0];
    const out = new Float32Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  private computeGains(): void {
    framePower(this.frame, this.power);
    const bins = this.power.length;
    const R = this.reductionDb;
    const T = this.thresholdDb;
    const K = this.kneeDb;
    const P = this.power;
    const Ps = this.smoothPower;
    const m = this.powerMemory;
    for (let k = 0; k < bins; k++) {
      // [1 2 1]/4 across bins, then a short recursive average over frames: the power of a noise
      // bin is exponentially distributed, and single-frame outliers would open the gate.
      const lo = P[k > 0 ? k - 1 : k];
      const hi = P[k < bins - 1 ? k + 1 : k];
      const p = 0.25 * lo + 0.5 * P[k] + 0.25 * hi;
      Ps[k] = m * Ps[k] + (1 - m) * p;
      const ratio = 10 * log10(Ps[k] / this.noise[k] + 1e-30);
      this.gainDb[k] = ratio >= T ? 0 : ratio <= T - K ? -R : (-R * (T - ratio)) / K;
    }
    const att = this.attack;
    const rel = this.release;
    for (let k = 0; k < bins; k++) {
      const g = pow(10, this.gainDb[k] / 20);
      const s = this.smoothed[k];
      const a = g >= s ? att : rel;
      const v = s * a + g * (1 - a);
      this.smoothed[k] = v;
      this.gain[k] = v;
    }
  }
}

/**
 * Both passes over a re-playable source: the profile from one pass, the gated audio streamed from
 * a second. Yields the source unchanged when it has no non-silent frame to learn noise from.
 */
export async function* denoiseStream(
  openSource: () => AsyncIterable<Float32Array>,
  options: NoiseProfileOptions & Omit<SpectralGateOptions, 'channels'>,
): AsyncGenerator<Float32Array> {
  const estimator = new NoiseProfileEstimator(options);
  for await (const chunk of openSource()) estimator.push(chunk);
  const profile = estimator.finish();
  if (!profile) {
    yield* openSource();
    return;
  }
  const gate = new SpectralGateDenoiser(profile, options);
  for await (const chunk of openSource()) {
    const out = gate.process(chunk);
    if (out.length) yield out;
  }
  const tail = gate.flush();
  if (tail.length) yield tail;
}
