/**
 * The measuring helpers of the one-call GPU check (scripts/gpu/check-lib.ts, planDuration): the
 * numbers the GPU run reports are only as good as these, and the GPU run itself cannot be
 * repeated cheaply.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  addOneUlp,
  compareWavFiles,
  fftInPlace,
  readWavInfo,
  segmentMagnitudes,
  snrDb,
  SnrAccumulator,
  TestSong,
  WavFloatWriter,
  WavReader,
  writeTestInput,
} from '../../scripts/gpu/check-lib';
import { comparablePrefixFrames, planDuration } from '../../scripts/gpu/gpu-check';
import { encodeWav, makeTempDir, tone } from '../factories/audio';

describe('GPU check helpers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('gpu-check-lib-');
  });
  afterAll(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  describe('addOneUlp', () => {
    it('moves every non-zero value exactly one float32 step away from zero and keeps zeros', () => {
      const values = new Float32Array([1, -1, 0.3, -0.3, 1e-30, -2.5e7, 0, -0, 3.4e38]);
      const before = values.slice();
      addOneUlp(values);
      for (let i = 0; i < values.length; i++) {
        const a = before[i];
        const b = values[i];
        if (a === 0) {
          expect(Object.is(b, a)).toBe(true); // +0 and −0 both stay as they are
          continue;
        }
        expect(Math.abs(b)).toBeGreaterThan(Math.abs(a));
        expect(Math.sign(b)).toBe(Math.sign(a));
        // No float32 lies strictly between a and b: halfway is not representable.
        const mid = (a + b) / 2;
        expect(Math.fround(mid) === a || Math.fround(mid) === b).toBe(true);
      }
    });

    it('is a perturbation of about 144 dB on music-like data', () => {
      const x = new TestSong(3).next(new Float32Array(2 * 44100));
      const y = addOneUlp(x.slice());
      const db = snrDb(x, y)!;
      expect(db).toBeGreaterThan(135);
      expect(db).toBeLessThan(155);
    });
  });

  describe('SNR', () => {
    it('gives 10·log10(signal/noise) in dB, Infinity for equal inputs and null for NaN', () => {
      const ref = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 7));
      const scaled = ref.map((v) => v * 1.01);
      expect(snrDb(ref, scaled)).toBeCloseTo(40, 3);
      expect(snrDb(ref, ref)).toBe(Infinity);
      const bad = ref.slice();
      bad[5] = NaN;
      expect(snrDb(ref, bad)).toBeNull();
    });

    it('accumulates over chunks exactly as over the whole signal', () => {
      const ref = new TestSong(1).next(new Float32Array(20000));
      const x = ref.map((v, i) => v + 1e-3 * Math.cos(i));
      const acc = new SnrAccumulator();
      for (let i = 0; i < ref.length; i += 3001) acc.add(ref.subarray(i, i + 3001), x.subarray(i, i + 3001));
      expect(acc.db).toBeCloseTo(snrDb(ref, x)!, 9);
      expect(acc.count).toBe(ref.length);
    });
  });

  describe('WAV', () => {
    it('writes float32 WAV that reads back bit for bit, in chunks of any size', () => {
      const file = path.join(dir, 'f32.wav');
      const data = new TestSong(9).next(new Float32Array(2 * 5000));
      const w = new WavFloatWriter(file, 5000);
      w.write(data.subarray(0, 2 * 1234));
      w.write(data.subarray(2 * 1234));
      w.close();
      const info = readWavInfo(file);
      expect(info).toMatchObject({
        format: 3,
        channels: 2,
        sampleRate: 44100,
        bitsPerSample: 32,
        frames: 5000,
      });
      const r = new WavReader(file);
      expect(Array.from(r.read(0, 5000))).toEqual(Array.from(data));
      expect(Array.from(r.read(4990, 100))).toEqual(Array.from(data.subarray(2 * 4990)));
      r.close();
    });

    it('refuses to close a file whose header announces more frames than were written', () => {
      const w = new WavFloatWriter(path.join(dir, 'short.wav'), 10);
      w.write(new Float32Array(8));
      expect(() => w.close()).toThrow(/wrote 4 frames, header says 10/);
    });

    it('reads 16-bit PCM and WAVE_FORMAT_EXTENSIBLE float as the product writes them', async () => {
      const signal = tone({ seconds: 0.1, channels: 2 });
      const pcm = path.join(dir, 's16.wav');
      await fs.promises.writeFile(pcm, encodeWav(signal, { encoding: 's16' }));
      const r16 = new WavReader(pcm);
      const x = r16.read(0, r16.info.frames);
      expect(r16.info.format).toBe(1);
      expect(snrDb(signal.data, x)!).toBeGreaterThan(80);
      r16.close();
      const ext = path.join(dir, 'ext.wav');
      await fs.promises.writeFile(ext, encodeWav(signal, { encoding: 'f32', extensible: true }));
      expect(readWavInfo(ext)).toMatchObject({ format: 3, bitsPerSample: 32, channels: 2 });
    });

    it('compares two files over their common length, chunk by chunk', () => {
      const a = path.join(dir, 'a.wav');
      const b = path.join(dir, 'b.wav');
      const frames = 300_000; // more than one 2^18-frame chunk
      const data = new TestSong(4).next(new Float32Array(2 * frames));
      const noisy = data.map((v, i) => v * (1 + (i % 2 ? 1e-3 : -1e-3)));
      for (const [f, d] of [
        [a, data],
        [b, noisy],
      ] as const) {
        const w = new WavFloatWriter(f, frames);
        w.write(d);
        w.close();
      }
      const cmp = compareWavFiles(a, b);
      expect(cmp.frames).toBe(frames);
      expect(cmp.snrDb!).toBeCloseTo(snrDb(data, noisy)!, 6);
      expect(cmp.snrDb!).toBeCloseTo(60, 0);
      expect(compareWavFiles(a, a).snrDb).toBe(Infinity);
    });
  });

  describe('test input', () => {
    it('is deterministic, differs from segment to segment, and stays below full scale', () => {
      const one = new TestSong(7).next(new Float32Array(2 * 44100 * 3));
      const two = new TestSong(7).next(new Float32Array(2 * 44100 * 3));
      expect(Buffer.from(one.buffer).equals(Buffer.from(two.buffer))).toBe(true);
      const peak = one.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(peak).toBeLessThan(1);
      expect(peak).toBeGreaterThan(0.1);
      const s1 = one.subarray(0, 2 * 44100);
      const s2 = one.subarray(2 * 44100, 4 * 44100);
      expect(snrDb(s1, s2)!).toBeLessThan(3); // unrelated seconds, not a loop
      const left = one.filter((_, i) => i % 2 === 0);
      const right = one.filter((_, i) => i % 2 === 1);
      expect(snrDb(left, right)!).toBeLessThan(20); // panned: the channels differ
    });

    it('writes the +1 ulp twin of the same input', () => {
      const a = path.join(dir, 'mix.wav');
      const b = path.join(dir, 'mix-ulp.wav');
      writeTestInput(a, 2, { ulpFile: b });
      const x = new WavReader(a).read(0, 88200);
      const y = new WavReader(b).read(0, 88200);
      expect(Array.from(y)).toEqual(Array.from(addOneUlp(x.slice())));
    });
  });

  describe('segment magnitudes', () => {
    it('computes the FFT of the DFT definition', () => {
      const n = 64;
      const re = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + (i % 5) / 5);
      const im = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
      const fr = re.slice();
      const fi = im.slice();
      fftInPlace(fr, fi);
      for (const k of [0, 1, 7, 31, 63]) {
        let sr = 0;
        let si = 0;
        for (let t = 0; t < n; t++) {
          const a = (-2 * Math.PI * k * t) / n;
          sr += re[t] * Math.cos(a) - im[t] * Math.sin(a);
          si += re[t] * Math.sin(a) + im[t] * Math.cos(a);
        }
        expect(fr[k]).toBeCloseTo(sr, 9);
        expect(fi[k]).toBeCloseTo(si, 9);
      }
    });

    it('frames like Spleeter: 4096 zeros in front, a tone in its bin, CSTF layout', () => {
      const T = 16;
      const F = 64;
      const bin = 10;
      const frames = 44100;
      const stereo = new Float32Array(2 * frames);
      for (let i = 0; i < frames; i++) stereo[2 * i] = Math.sin((2 * Math.PI * bin * i) / 4096); // left only
      const m = segmentMagnitudes(stereo, T, F);
      expect(m.length).toBe(2 * T * F);
      // frame 0 covers samples [-4096, 0): padding only
      expect(Math.max(...m.subarray(0, F))).toBe(0);
      // frame 8 is inside the signal: the tone's bin is the peak, periodic Hann sum = 2048 / 2
      const f8 = m.subarray(8 * F, 9 * F);
      expect(f8.indexOf(Math.max(...f8))).toBe(bin);
      expect(f8[bin]).toBeCloseTo(1024, 0);
      // the right channel (second CSTF plane) is silent
      expect(Math.max(...m.subarray(T * F))).toBe(0);
    });
  });

  describe('planDuration', () => {
    const level = (cpu: number, gpu?: number) => ({
      '4stems': {
        timings: [
          { provider: 'cpu', batch: 1, realtimeFactor: cpu },
          ...(gpu ? [{ provider: 'webgpu-NCHW', batch: 1, realtimeFactor: gpu }] : []),
        ],
      },
    });

    it('keeps the whole input when the measured speed fits the time limit', () => {
      const p = planDuration(level(200, 2000), '4stems', { audioSeconds: 600 }, 150);
      expect(p).toMatchObject({ seconds: 600, gpuSeconds: 600, cut: false });
    });

    it('cuts the CPU runs to an excerpt when the CPU is the slow one, keeping the GPU run whole', () => {
      // CPU: (0.6 · 150 − 15) · 5 · 0.25 = 93 s; GPU: 75 · 2000 · 0.5 ≫ 600
      const slow = planDuration(level(5, 2000), '4stems', { audioSeconds: 600 }, 150);
      expect(slow).toMatchObject({ seconds: 93, gpuSeconds: 600, cut: true });
      expect(planDuration(level(40, 2000), '4stems', { audioSeconds: 600 }, 150).cut).toBe(false);
    });

    it('plans a failed WebGPU (the CLI falls back to the CPU) at CPU speed, never below 36 s', () => {
      const p = planDuration(level(2), '4stems', { audioSeconds: 600 }, 150);
      expect(p).toMatchObject({ gpuSeconds: 75, seconds: 37 });
      expect(planDuration(level(0.1), '4stems', { audioSeconds: 600 }, 150).seconds).toBe(36);
      expect(planDuration(undefined, '4stems', { audioSeconds: 600 }, 150).seconds).toBe(600);
    });
  });

  describe('comparablePrefixFrames', () => {
    it('keeps the whole segments of an excerpt but the last, and nothing of one under 2 segments', () => {
      const seg = 512 * 1024;
      expect(comparablePrefixFrames(36)).toBe(2 * seg - 4096); // 36 s = 3.03 segments with the padding
      expect(comparablePrefixFrames(20)).toBe(0);
      expect(comparablePrefixFrames(600)).toBe(49 * seg - 4096);
      expect(comparablePrefixFrames(600) / 44100).toBeLessThan(600);
    });
  });
});
