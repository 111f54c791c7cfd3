import {
  channel,
  chirp,
  collect,
  firstMismatch,
  noise,
  rms,
  snrDb,
  tone,
  toneAmplitude,
} from '../../../test/factories/audio';
import { resample, resampledLength, Resampler, resampleStream } from './resample';

const RATES = [8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000];

/** Ideal sine at `rate` (the reference every resampled tone is compared with, phase included). */
function idealSine(frequency: number, rate: number, frames: number, amplitude = 0.5): Float32Array {
  return tone({ frequency, sampleRate: rate, frames, channels: 1, amplitude }).data;
}

function streamInChunks(sut: Resampler, input: Float32Array, sizes: number[]): Float32Array {
  const parts: Float32Array[] = [];
  let offset = 0;
  for (let i = 0; offset < input.length; i++) {
    const n = Math.min(sizes[i % sizes.length] * sut.channels, input.length - offset);
    parts.push(sut.process(input.subarray(offset, offset + n)));
    offset += n;
  }
  parts.push(sut.flush());
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe(Resampler.name, () => {
  describe('output length', () => {
    it.each([
      [0, 48000, 44100],
      [1, 48000, 44100],
      [2, 44100, 48000],
      [1000, 44100, 48000],
      [1001, 8000, 44100],
      [12345, 192000, 44100],
      [7, 44100, 8000],
      [44100, 44100, 22050],
      [99_999, 44100, 96001],
    ])('is round(N·out/in) for N=%i, %i → %i Hz', (frames, from, to) => {
      const out = resample(noise({ frames, channels: 2, sampleRate: from }).data, 2, from, to);
      expect(out.length / 2).toBe(Math.round((frames * to) / from));
    });

    it('rounds exact halves up, with integer arithmetic', () => {
      expect(resampledLength(1, 44100, 22050)).toBe(1); // 0.5 → 1
      expect(resampledLength(3, 2, 1)).toBe(2); // 1.5 → 2
      expect(resampledLength(10 * 3600 * 192000, 192000, 44100)).toBe(10 * 3600 * 44100);
    });
  });

  describe('quality', () => {
    it('48 kHz → 44.1 kHz → 48 kHz keeps a 1 kHz sine with SNR above 90 dB', () => {
      const frames = 24000;
      const x = idealSine(1000, 48000, frames);
      const there = resample(x, 1, 48000, 44100);
      const back = resample(there, 1, 44100, 48000);
      expect(back.length).toBe(frames);
      // Edges are transients (the signal starts and stops abruptly); judge the steady middle.
      expect(snrDb(idealSine(1000, 44100, there.length), there, 2000)).toBeGreaterThan(100);
      expect(snrDb(x, back, 2000)).toBeGreaterThan(90);
    });

    it.each(RATES.filter((r) => r !== 44100))(
      '%i Hz ↔ 44.1 kHz reproduces a 1 kHz tone with zero delay (SNR > 90 dB)',
      (rate) => {
        const frames = Math.round(rate * 0.25);
        const y = resample(idealSine(1000, rate, frames), 1, rate, 44100);
        expect(snrDb(idealSine(1000, 44100, y.length), y, 1500)).toBeGreaterThan(90);
        const z = resample(idealSine(1000, 44100, 11025), 1, 44100, rate);
        expect(snrDb(idealSine(1000, rate, z.length), z, Math.round(rate / 30))).toBeGreaterThan(90);
      },
    );

    it('passband is flat to 0.9 × the lower Nyquist (within 0.01 dB)', () => {
      for (const [from, to] of [
        [48000, 44100],
        [44100, 48000],
        [8000, 44100],
        [44100, 16000],
      ]) {
        const f = 0.9 * (Math.min(from, to) / 2);
        const y = resample(idealSine(f, from, from / 2), 1, from, to);
        const skip = Math.round(y.length / 8);
        const gainDb = 20 * Math.log10(toneAmplitude(y, f, to, skip, y.length - skip) / 0.5);
        expect(Math.abs(gainDb)).toBeLessThan(0.01);
      }
    });

    it('attenuates what would alias by more than 90 dB (downsampling)', () => {
      for (const [from, to, f] of [
        [48000, 44100, 22500],
        [48000, 44100, 23900],
        [96000, 44100, 30000],
        [192000, 44100, 60000],
        [44100, 8000, 4200],
      ]) {
        const y = resample(idealSine(f, from, from / 4), 1, from, to);
        const levelDb = 20 * Math.log10(rms(y, 2000, y.length - 2000) / (0.5 / Math.SQRT2));
        expect(levelDb).toBeLessThan(-90);
      }
    });

    it('leaves no images above the input Nyquist when upsampling (> 90 dB down)', () => {
      for (const [from, to, f] of [
        [44100, 48000, 19000],
        [8000, 44100, 3500],
        [44100, 192000, 19000],
      ]) {
        const y = resample(idealSine(f, from, from / 4), 1, from, to);
        // Everything that is not the tone itself is an image (or error).
        expect(snrDb(idealSine(f, to, y.length), y, 3000)).toBeGreaterThan(90);
      }
    });

    it('has unit DC gain on every polyphase branch', () => {
      const dc = new Float32Array(20000).fill(0.25);
      const y = resample(dc, 1, 44100, 48000);
      let worst = 0;
      for (let i = 1000; i < y.length - 1000; i++) worst = Math.max(worst, Math.abs(y[i] - 0.25));
      expect(worst).toBeLessThan(1e-6);
    });

    it('handles coprime rates (interpolated taps) at the same quality', () => {
      const y = resample(idealSine(1000, 44100, 22050), 1, 44100, 96001);
      expect(y.length).toBe(Math.round((22050 * 96001) / 44100));
      expect(snrDb(idealSine(1000, 96001, y.length), y, 3000)).toBeGreaterThan(90);
    });

    it('keeps channels independent', () => {
      const x = tone({ frames: 12000, channels: 2, sampleRate: 48000, frequency: 500, channelSpread: 2 });
      const y = resample(x.data, 2, 48000, 44100);
      expect(snrDb(idealSine(500, 44100, y.length / 2), channel(y, 2, 0), 1500)).toBeGreaterThan(90);
      expect(snrDb(idealSine(1500, 44100, y.length / 2), channel(y, 2, 1), 1500)).toBeGreaterThan(90);
    });
  });

  describe('streaming', () => {
    it.each([
      [48000, 44100, 2],
      [44100, 48000, 3],
      [22050, 44100, 1],
      [44100, 96001, 2],
    ])('%i → %i Hz, %i ch: chunked output is bit-identical to whole-signal output', (from, to, channels) => {
      const x = chirp({ frames: 30001, channels, sampleRate: from, from: 50, to: from / 2 - 100 });
      const whole = resample(x.data, channels, from, to);
      for (const sizes of [[1], [0, 3, 1, 0, 2], [4096], [17, 1000, 3, 9999]]) {
        const sut = new Resampler({ inputRate: from, outputRate: to, channels });
        expect(firstMismatch(streamInChunks(sut, x.data, sizes), whole)).toBe(-1);
        expect(sut.framesOut).toBe(whole.length / channels);
      }
    });

    it('resampleStream matches resample() and passes through when rates are equal', async () => {
      const x = noise({ frames: 5000, channels: 2, sampleRate: 32000, seed: 9 });
      async function* chunks(data: Float32Array, size: number) {
        for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
      }
      const streamed = await collect(
        resampleStream(chunks(x.data, 998), { inputRate: 32000, outputRate: 44100, channels: 2 }),
      );
      expect(firstMismatch(streamed, resample(x.data, 2, 32000, 44100))).toBe(-1);
      const same = await collect(
        resampleStream(chunks(x.data, 998), { inputRate: 32000, outputRate: 32000, channels: 2 }),
      );
      expect(firstMismatch(same, x.data)).toBe(-1);
    });
  });

  describe('misuse', () => {
    it('rejects invalid rates, partial frames and use after flush', () => {
      expect(() => new Resampler({ inputRate: 0, outputRate: 44100, channels: 2 })).toThrow(RangeError);
      expect(() => new Resampler({ inputRate: 44100.5, outputRate: 44100, channels: 2 })).toThrow(RangeError);
      const sut = new Resampler({ inputRate: 48000, outputRate: 44100, channels: 2 });
      expect(() => sut.process(new Float32Array(3))).toThrow(RangeError);
      sut.flush();
      expect(() => sut.process(new Float32Array(2))).toThrow();
      expect(sut.flush()).toHaveLength(0);
    });
  });
});
