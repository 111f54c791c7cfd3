import { butterworthHighPassGainDb } from './biquad';
import { AudioPreprocessor, preprocessStream } from './preprocess';
import { randomChunks } from '../../../test/support/analysis-signals';

/** Amplitude of the `freq` component of channel c over frames [from, to) (projection). */
function amplitude(
  x: Float32Array,
  channels: number,
  c: number,
  freq: number,
  rate: number,
  from: number,
  to: number,
) {
  let re = 0;
  let im = 0;
  const w = (2 * Math.PI * freq) / rate;
  for (let i = from; i < to; i++) {
    re += x[i * channels + c] * Math.cos(w * i);
    im += x[i * channels + c] * Math.sin(w * i);
  }
  return (2 * Math.hypot(re, im)) / (to - from);
}

function sines(rate: number, seconds: number, freqs: number[], amp: number, dc = 0): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    let v = dc;
    for (const f of freqs) v += amp * Math.sin((2 * Math.PI * f * i) / rate);
    x[2 * i] = v;
    x[2 * i + 1] = -v;
  }
  return x;
}

describe(AudioPreprocessor.name, () => {
  it.each([44100, 48000, 96000, 192000])('removes DC and keeps a 440 Hz tone at %i Hz', (rate) => {
    const x = sines(rate, 2, [440], 0.2, 0.3);
    const sut = new AudioPreprocessor({ sampleRate: rate, channels: 2 });
    const y = sut.process(x);
    const n = x.length / 2;
    // After settling (first 0.5 s), the mean is gone and the tone is untouched (±0.01 dB).
    let mean = 0;
    for (let i = n / 2; i < n; i++) mean += y[2 * i];
    mean /= n / 2;
    expect(Math.abs(mean)).toBeLessThan(1e-4);
    const a = amplitude(y, 2, 0, 440, rate, Math.round(rate * 0.5), Math.round(rate * 1.5));
    expect(Math.abs(20 * Math.log10(a / 0.2))).toBeLessThan(0.01);
  });

  it.each([
    [44100, 4, 100],
    [48000, 2, 80],
    [96000, 8, 150],
    [192000, 4, 40],
  ])('high-pass at %i Hz, order %i, corner %i Hz: attenuation as designed (±0.1 dB)', (rate, order, fc) => {
    const freqs = [fc / 4, fc / 2, fc, 2 * fc, 10 * fc];
    const sut = new AudioPreprocessor({
      sampleRate: rate,
      channels: 2,
      removeDc: false,
      highPassHz: fc,
      highPassOrder: order,
    });
    const y = sut.process(sines(rate, 3, freqs, 0.1));
    // Measure over whole periods of every tone after 1 s of settling.
    const from = rate;
    const to = 3 * rate;
    for (const f of freqs) {
      const got = 20 * Math.log10(amplitude(y, 2, 1, f, rate, from, to) / 0.1);
      const want = butterworthHighPassGainDb(order, fc, f, rate);
      expect(Math.abs(got - Math.max(want, -100))).toBeLessThan(want < -60 ? 3 : 0.1);
    }
  });

  it('is the same streamed in any chunks, and leaves its input alone', async () => {
    const x = sines(44100, 1, [50, 3000], 0.3, 0.1);
    const copy = Float32Array.from(x);
    const whole = new AudioPreprocessor({ sampleRate: 44100, channels: 2, highPassHz: 60 }).process(x);
    async function* source() {
      yield* randomChunks(x, 2, 4, 3000);
    }
    const parts: Float32Array[] = [];
    for await (const c of preprocessStream(source(), { sampleRate: 44100, channels: 2, highPassHz: 60 }))
      parts.push(c);
    const streamed = new Float32Array(x.length);
    let o = 0;
    for (const p of parts) {
      streamed.set(p, o);
      o += p.length;
    }
    expect(streamed).toEqual(whole);
    expect(x).toEqual(copy);
  });

  it('with nothing enabled copies the signal, and refuses a corner at or above Nyquist', () => {
    const sut = new AudioPreprocessor({ sampleRate: 48000, channels: 1, removeDc: false });
    expect(sut.active).toBe(false);
    const x = Float32Array.from([0.5, -0.25, 1]);
    expect(sut.process(x)).toEqual(x);
    expect(() => new AudioPreprocessor({ sampleRate: 48000, channels: 2, highPassHz: 24000 })).toThrow(
      /corner/,
    );
  });
});
