import {
  denoiseStream,
  NoiseProfileEstimator,
  SpectralGateDenoiser,
  type NoiseProfile,
} from './noise-reduction';
import { randomChunks, rng } from '../../../test/support/analysis-signals';

const RATE = 44100;

/** 10 s: white noise at `noiseDb` dBFS RMS throughout, a 1 kHz + 2.5 kHz chord from 3 to 7 s. */
function toneInNoise(channels: number, noiseDb: number) {
  const n = 10 * RATE;
  const clean = new Float32Array(n * channels);
  const noisy = new Float32Array(n * channels);
  const r = rng(12);
  const noiseAmp = 10 ** (noiseDb / 20) * Math.sqrt(3); // uniform: rms = amp / √3
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const env = t < 3 || t > 7 ? 0 : Math.min(1, (t - 3) / 0.05, (7 - t) / 0.05);
    const v = env * (0.1 * Math.sin(2 * Math.PI * 1000 * t) + 0.05 * Math.sin(2 * Math.PI * 2500 * t));
    for (let c = 0; c < channels; c++) {
      clean[i * channels + c] = v;
      noisy[i * channels + c] = v + noiseAmp * (2 * r() - 1);
    }
  }
  return { clean, noisy };
}

function snrDb(clean: Float32Array, test: Float32Array, from: number, to: number): number {
  let s = 0;
  let e = 0;
  for (let i = from; i < to; i++) {
    s += clean[i] * clean[i];
    e += (test[i] - clean[i]) ** 2;
  }
  return 10 * Math.log10(s / e);
}

function rmsDb(x: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return 10 * Math.log10(s / (to - from));
}

function estimate(x: Float32Array, channels: number): NoiseProfile {
  const est = new NoiseProfileEstimator({ sampleRate: RATE, channels });
  for (const c of randomChunks(x, channels, 2, 20000)) est.push(c);
  return est.finish()!;
}

function denoise(profile: NoiseProfile, x: Float32Array, channels: number, seed = 5): Float32Array {
  const sut = new SpectralGateDenoiser(profile, { channels });
  const parts: Float32Array[] = [];
  for (const c of randomChunks(x, channels, seed, 7000)) parts.push(sut.process(c));
  parts.push(sut.flush());
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('spectral-gating noise reduction', () => {
  it.each([1, 2])(
    'improves the SNR of a chord in white noise (%i ch) and quiets the noise-only passages',
    (ch) => {
      const { clean, noisy } = toneInNoise(ch, -45);
      const profile = estimate(noisy, ch);
      // The profile is the noise: its level reads −45 dBFS.
      expect(Math.abs(profile.levelDbfs! + 45)).toBeLessThan(1);
      const out = denoise(profile, noisy, ch);
      expect(out.length).toBe(noisy.length);
      const tone = [Math.round(3.5 * RATE) * ch, Math.round(6.5 * RATE) * ch] as const;
      const before = snrDb(clean, noisy, ...tone);
      const after = snrDb(clean, out, ...tone);
      console.log(
        `noise reduction, ${ch} ch: SNR during the chord ${before.toFixed(1)} → ${after.toFixed(1)} dB`,
      );
      expect(after - before).toBeGreaterThan(10);
      // Noise-only passages drop by close to the 18 dB reduction.
      const quiet = [Math.round(0.5 * RATE) * ch, Math.round(2.5 * RATE) * ch] as const;
      expect(rmsDb(noisy, ...quiet) - rmsDb(out, ...quiet)).toBeGreaterThan(15);
      // The chord keeps its level (±0.5 dB).
      expect(Math.abs(rmsDb(out, ...tone) - rmsDb(clean, ...tone))).toBeLessThan(0.5);
    },
  );

  it('is exact (float32 precision) where the signal stands far above the profile, and chunking does not matter', () => {
    const { noisy } = toneInNoise(2, -45);
    const silentProfile: NoiseProfile = { ...estimate(noisy, 2) };
    silentProfile.power = silentProfile.power.map(() => 1e-20);
    const out = denoise(silentProfile, noisy, 2, 1);
    expect(snrDb(noisy, out, 0, noisy.length)).toBeGreaterThan(120);
    const again = denoise(silentProfile, noisy, 2, 9);
    expect(again).toEqual(out);
  });

  it('denoiseStream runs both passes over a re-playable source and equals the two classes', async () => {
    const { noisy } = toneInNoise(2, -45);
    const open = async function* () {
      yield* randomChunks(noisy, 2, 2, 20000);
    };
    const parts: Float32Array[] = [];
    for await (const c of denoiseStream(open, { sampleRate: RATE, channels: 2 })) parts.push(c);
    const out = new Float32Array(noisy.length);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    expect(o).toBe(noisy.length);
    expect(out).toEqual(denoise(estimate(noisy, 2), noisy, 2));
  });

  it('has no profile for digital silence, and refuses a profile of another frame size', () => {
    const est = new NoiseProfileEstimator({ sampleRate: RATE, channels: 2 });
    est.push(new Float32Array(2 * RATE));
    expect(est.finish()).toBeNull();
    const p = estimate(toneInNoise(1, -40).noisy, 1);
    expect(() => new SpectralGateDenoiser({ ...p, fftSize: 4096 }, { channels: 1 })).toThrow(/profile/);
  });
});
