/**
 * The short test signal a model validation pushes through a model: deterministic, musically
 * plausible (harmonic tones, a chirp, noise bursts, different left/right), so a model that loads
 * but computes garbage (NaN/Inf, wrong shapes) shows it. Everything is generated, nothing is read.
 */
import { RealFft } from '../dsp/fft';
import { periodicHann } from '../dsp/window';

// Module-level aliases: global lookups are slow inside jest's vm sandbox (tests validate often).
const { sin, exp, sqrt, PI } = Math;

/** Interleaved stereo float32 of `frames` frames at `sampleRate`, peak ≈ 0.5. */
export function smokeMixture(frames: number, sampleRate: number): Float32Array {
  const out = new Float32Array(frames * 2);
  let seed = 0x2545f491;
  const noise = () => {
    // xorshift32: reproducible across runs and platforms.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) / 0xffffffff) * 2 - 1;
  };
  const f0 = 220;
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    let harmonic = 0;
    for (let h = 1; h <= 6; h++) harmonic += sin(2 * PI * f0 * h * t) / h;
    const chirp = sin(2 * PI * (300 * t + 1500 * t * t));
    // 8 noise bursts per second, 15 ms each: a percussive component.
    const burst = (t * 8) % 1 < 0.12 ? noise() * exp(-((t * 8) % 1) * 40) : 0;
    out[2 * i] = 0.2 * harmonic + 0.1 * chirp + 0.2 * burst;
    out[2 * i + 1] = 0.2 * harmonic - 0.1 * chirp + 0.15 * burst;
  }
  return out;
}

/**
 * STFT magnitudes of the smoke mixture as one Spleeter segment in CSTF layout [2, 1, T, F]
 * (periodic Hann `frameLength`, hop `frameStep`), the exact tensor a Spleeter U-Net receives.
 */
export function smokeSegmentMagnitudes(
  T: number,
  F: number,
  frameLength = 4096,
  frameStep = 1024,
): Float32Array {
  // Deterministic: computed once per shape and process, copied out (callers may not mutate ours).
  const key = `${T}x${F}x${frameLength}x${frameStep}`;
  let cached = magnitudeCache.get(key);
  if (!cached) {
    cached = computeSegmentMagnitudes(T, F, frameLength, frameStep);
    if (magnitudeCache.size >= 4) magnitudeCache.clear();
    magnitudeCache.set(key, cached);
  }
  return cached.slice();
}

const magnitudeCache = new Map<string, Float32Array>();

function computeSegmentMagnitudes(
  T: number,
  F: number,
  frameLength: number,
  frameStep: number,
): Float32Array {
  const frames = (T - 1) * frameStep + frameLength;
  const mix = smokeMixture(frames, 44100);
  const fft = new RealFft(frameLength);
  const win = periodicHann(frameLength);
  const buf = new Float64Array(frameLength);
  const re = new Float64Array(fft.bins);
  const im = new Float64Array(fft.bins);
  const out = new Float32Array(2 * T * F);
  const bins = Math.min(F, fft.bins);
  for (let c = 0; c < 2; c++) {
    for (let t = 0; t < T; t++) {
      const start = t * frameStep;
      for (let n = 0; n < frameLength; n++) buf[n] = mix[2 * (start + n) + c] * win[n];
      fft.forward(buf, 0, re, im, 0);
      const row = (c * T + t) * F;
      for (let f = 0; f < bins; f++) out[row + f] = sqrt(re[f] * re[f] + im[f] * im[f]);
    }
  }
  return out;
}

export interface FiniteStats {
  count: number;
  nonFinite: number;
  min: number;
  max: number;
  rms: number;
}

export function finiteStats(data: Float32Array): FiniteStats {
  let nonFinite = 0;
  let min = Infinity;
  let max = -Infinity;
  let sq = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    sq += v * v;
  }
  const finite = data.length - nonFinite;
  return { count: data.length, nonFinite, min, max, rms: finite > 0 ? Math.sqrt(sq / finite) : 0 };
}
