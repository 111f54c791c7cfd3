import { RealFft } from './fft';
import {
  computeIstft,
  computeStft,
  OverlapAddSynthesizer,
  SPLEETER_FRAMING,
  Spectrogram,
  StreamingStftAnalyzer,
  stftFrameCount,
} from './stft';
import {
  chirp,
  firstDifference,
  makeRng,
  randomChunks,
  snrDb,
  tones,
  whiteNoise,
} from '../../../test/support/signals';
import { periodicHann } from './window';

const N_FFT = 4096;
const HOP = 1024;
const BINS = 2049;

/**
 * Independent whole-file iSTFT written straight from MODEL-FORMATS A7: one big float64 buffer,
 * frames added in order, × 2/3, crop. Same summation order as the streaming synthesizer.
 */
function referenceIstft(spec: Spectrogram, length: number): Float32Array {
  const channels = spec.re.length;
  const fft = new RealFft(N_FFT);
  const w = periodicHann(N_FFT);
  const total = (spec.frames - 1) * HOP + N_FFT;
  const out = new Float32Array(length * channels);
  const re = new Float64Array(BINS);
  const im = new Float64Array(BINS);
  const frame = new Float64Array(N_FFT);
  for (let c = 0; c < channels; c++) {
    const y = new Float64Array(total);
    for (let f = 0; f < spec.frames; f++) {
      for (let k = 0; k < BINS; k++) {
        re[k] = spec.re[c][f * BINS + k];
        im[k] = spec.im[c][f * BINS + k];
      }
      fft.inverse(re, im, 0, frame, 0);
      for (let i = 0; i < N_FFT; i++) y[f * HOP + i] += frame[i] * w[i];
    }
    for (let i = 0; i < length; i++) out[i * channels + c] = y[N_FFT + i] * (2 / 3);
  }
  return out;
}

/** Naive DFT of frame k of channel c per A3 (front pad 4096, end zero pad), bins [k0, k1). */
function naiveFrame(x: Float32Array, channels: number, c: number, k: number, bin: number): [number, number] {
  const n = x.length / channels;
  let sr = 0;
  let si = 0;
  for (let i = 0; i < N_FFT; i++) {
    const src = k * HOP - N_FFT + i;
    const v = src >= 0 && src < n ? x[src * channels + c] : 0;
    const wv = v * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N_FFT));
    const ang = (-2 * Math.PI * ((bin * i) % N_FFT)) / N_FFT;
    sr += wv * Math.cos(ang);
    si += wv * Math.sin(ang);
  }
  return [sr, si];
}

describe(StreamingStftAnalyzer.name, () => {
  it.each([0, 1, 1023, 1024, 1025, 4095, 4096, 4097, 44100, 12345])(
    'emits ceil((N+4096)/1024) frames for N = %i',
    (n) => {
      const sut = new StreamingStftAnalyzer(2);
      sut.push(whiteNoise(n, 2, n + 1));
      sut.end();
      const re = [new Float32Array(BINS), new Float32Array(BINS)];
      const im = [new Float32Array(BINS), new Float32Array(BINS)];
      let frames = 0;
      while (sut.readFrame(re, im, 0)) frames++;
      expect(frames).toBe(Math.ceil((n + 4096) / 1024));
      expect(sut.totalFrames).toBe(frames);
      expect(stftFrameCount(n)).toBe(frames);
      expect(sut.isExhausted).toBe(true);
    },
  );

  it('places frames as A3 says: forward kernel e^(-2*pi*i*k*n/N), 4096 zeros in front, zero end padding', () => {
    const n = 6000;
    const x = whiteNoise(n, 2, 7);
    const spec = computeStft(x, 2);
    expect(spec.frames).toBe(10);
    for (const [c, k, bin] of [
      [0, 0, 3],
      [1, 1, 100],
      [0, 4, 517],
      [1, 6, 2048],
      [0, 9, 1],
      [1, 9, 0],
    ]) {
      const [r, i] = naiveFrame(x, 2, c, k, bin);
      expect(spec.re[c][k * BINS + bin]).toBeCloseTo(r, 3);
      expect(spec.im[c][k * BINS + bin]).toBeCloseTo(i, 3);
    }
    // frame 0 sees only the front padding
    expect(spec.re[0].subarray(0, BINS).every((v) => v === 0)).toBe(true);
  });

  it('makes frame k available exactly when 1024*k samples have arrived', () => {
    const sut = new StreamingStftAnalyzer(2);
    const re = [new Float32Array(BINS), new Float32Array(BINS)];
    const im = [new Float32Array(BINS), new Float32Array(BINS)];
    expect(sut.readFrame(re, im, 0)).toBe(true); // frame 0: all padding
    expect(sut.readFrame(re, im, 0)).toBe(false);
    sut.push(new Float32Array(2 * 1023));
    expect(sut.readFrame(re, im, 0)).toBe(false);
    sut.push(new Float32Array(2));
    expect(sut.readFrame(re, im, 0)).toBe(true); // frame 1
    expect(sut.readFrame(re, im, 0)).toBe(false);
    sut.end();
    // N = 1024: frames = ceil(5120/1024) = 5 -> frames 2, 3, 4 remain
    let rest = 0;
    while (sut.readFrame(re, im, 0)) rest++;
    expect(rest).toBe(3);
  });

  it('gives bit-identical frames for any chunking, including empty chunks', () => {
    const n = 30000;
    const x = chirp(n, 2, 50, 15000);
    const whole = computeStft(x, 2);
    for (const seed of [1, 2, 3]) {
      const sut = new StreamingStftAnalyzer(2);
      const re = [new Float32Array(whole.frames * BINS), new Float32Array(whole.frames * BINS)];
      const im = [new Float32Array(whole.frames * BINS), new Float32Array(whole.frames * BINS)];
      let f = 0;
      for (const chunk of randomChunks(x, 2, seed === 3 ? 5000 : 700, seed)) {
        sut.push(chunk);
        while (sut.readFrame(re, im, f * BINS)) f++;
      }
      sut.end();
      while (sut.readFrame(re, im, f * BINS)) f++;
      expect(f).toBe(whole.frames);
      for (let c = 0; c < 2; c++) {
        expect(firstDifference(re[c], whole.re[c])).toBe(-1);
        expect(firstDifference(im[c], whole.im[c])).toBe(-1);
      }
    }
  });

  it('rejects chunks that split a sample frame', () => {
    const sut = new StreamingStftAnalyzer(2);
    expect(() => sut.push(new Float32Array(3))).toThrow(RangeError);
  });

  it('with storeBins writes only the low bins, identical to a full read, and leaves the rest untouched', () => {
    const n = 9000;
    const x = whiteNoise(n, 2, 21);
    const whole = computeStft(x, 2);
    const sut = new StreamingStftAnalyzer(2);
    sut.push(x);
    sut.end();
    const stored = 1024;
    const re = [new Float32Array(whole.frames * BINS).fill(7), new Float32Array(whole.frames * BINS).fill(7)];
    const im = [new Float32Array(whole.frames * BINS).fill(7), new Float32Array(whole.frames * BINS).fill(7)];
    let f = 0;
    while (sut.readFrame(re, im, f * BINS, stored)) f++;
    expect(f).toBe(whole.frames);
    for (let c = 0; c < 2; c++) {
      const expectedRe = new Float32Array(whole.frames * BINS).fill(7);
      const expectedIm = new Float32Array(whole.frames * BINS).fill(7);
      for (let t = 0; t < f; t++) {
        expectedRe.set(whole.re[c].subarray(t * BINS, t * BINS + stored), t * BINS);
        expectedIm.set(whole.im[c].subarray(t * BINS, t * BINS + stored), t * BINS);
      }
      expect(firstDifference(re[c], expectedRe)).toBe(-1);
      expect(firstDifference(im[c], expectedIm)).toBe(-1);
    }
  });
});

describe(OverlapAddSynthesizer.name, () => {
  it.each([
    ['white noise', 44100, (n: number) => whiteNoise(n, 2, 99)],
    ['chirp', 30011, (n: number) => chirp(n, 2, 20, 20000)],
    ['tones', 20000, (n: number) => tones(n, 2, [110, 440, 3520, 12000])],
  ])('round-trips %s with SNR >= 100 dB', (_name, n, make) => {
    const x = make(n);
    const y = computeIstft(computeStft(x, 2), n);
    expect(y.length).toBe(x.length);
    expect(snrDb(x, y)).toBeGreaterThan(100);
    // edges too: first and last 4096 samples
    expect(snrDb(x.subarray(0, 8192), y.subarray(0, 8192))).toBeGreaterThan(100);
    expect(snrDb(x.subarray(x.length - 8192), y.subarray(y.length - 8192))).toBeGreaterThan(100);
  });

  it.each([0, 1, 2, 1023, 1024, 1025, 4095, 4096, 4097, 5000, 44100])(
    'returns exactly N = %i samples',
    (n) => {
      const x = whiteNoise(n, 2, n + 3);
      const y = computeIstft(computeStft(x, 2), n);
      expect(y.length).toBe(2 * n);
      if (n > 0) expect(snrDb(x, y)).toBeGreaterThan(100);
    },
  );

  it('matches a straightforward whole-file overlap-add bit for bit, emitting incrementally', () => {
    const n = 23456;
    const x = tones(n, 2, [300, 5000]);
    const spec = computeStft(x, 2);
    // Perturb the spectrum so the result is not just the input.
    const rng = makeRng(5);
    for (const plane of [...spec.re, ...spec.im]) for (let i = 0; i < plane.length; i++) plane[i] *= rng();
    const ref = referenceIstft(spec, n);
    // The reference is float64 RealFft: the JavaScript backend must match it bit for bit.
    const sut = new OverlapAddSynthesizer({ channels: 2, fftBackend: 'js' });
    const out = new Float32Array(2 * n);
    const re = new Float64Array(BINS);
    const im = new Float64Array(BINS);
    let written = 0;
    const progress: number[] = [];
    for (let f = 0; f < spec.frames; f++) {
      if (f === spec.frames - 1) sut.setLength(n);
      for (let c = 0; c < 2; c++) {
        for (let k = 0; k < BINS; k++) {
          re[k] = spec.re[c][f * BINS + k];
          im[k] = spec.im[c][f * BINS + k];
        }
        sut.addSpectrum(c, re, im);
      }
      written += sut.advance(out, written);
      progress.push(written);
    }
    expect(sut.pendingTail).toBe(n - written);
    written += sut.flush(out, written);
    expect(written).toBe(n);
    expect(firstDifference(out, ref)).toBe(-1);
    // nothing before frame 4 (crop), then 1024 per frame
    expect(progress.slice(0, 6)).toEqual([0, 0, 0, 0, 1024, 2048]);
  });

  it('with the default (WebAssembly where available) FFT stays within float32 rounding of the float64 reference', () => {
    const n = 23456;
    const x = tones(n, 2, [300, 5000]);
    const spec = computeStft(x, 2);
    const rng = makeRng(6);
    for (const plane of [...spec.re, ...spec.im]) for (let i = 0; i < plane.length; i++) plane[i] *= rng();
    const ref = referenceIstft(spec, n);
    const out = computeIstft(spec, n);
    let err = 0;
    let peak = 0;
    for (let i = 0; i < out.length; i++) {
      err = Math.max(err, Math.abs(out[i] - ref[i]));
      peak = Math.max(peak, Math.abs(ref[i]));
    }
    expect(peak).toBeGreaterThan(0.1);
    expect(err / peak).toBeLessThan(1e-6);
  });

  it('supports other framings (hop not dividing nFft, crop != front pad) bit-identically to a naive overlap-add', () => {
    const framing = { nFft: 64, hop: 24, frontPad: 40 };
    const n = 500;
    const x = whiteNoise(n, 3, 4);
    const analyzer = new StreamingStftAnalyzer(3, framing);
    const frames = stftFrameCount(n, framing);
    const bins = 33;
    const re = [0, 1, 2].map(() => new Float32Array(frames * bins));
    const im = [0, 1, 2].map(() => new Float32Array(frames * bins));
    let f = 0;
    for (const chunk of randomChunks(x, 3, 37, 9)) {
      analyzer.push(chunk);
      while (analyzer.readFrame(re, im, f * bins)) f++;
    }
    analyzer.end();
    while (analyzer.readFrame(re, im, f * bins)) f++;
    expect(f).toBe(frames);
    const fft = new RealFft(64);
    const w = periodicHann(64);
    const scale = 0.37;
    const cropStart = 30;
    const sut = new OverlapAddSynthesizer({ channels: 3, framing, scale, cropStart, fftBackend: 'js' });
    sut.setLength(n);
    const out = new Float32Array(3 * n);
    const r64 = new Float64Array(bins);
    const i64 = new Float64Array(bins);
    const frame = new Float64Array(64);
    const naive = [0, 1, 2].map(() => new Float64Array((frames - 1) * 24 + 64));
    let written = 0;
    for (let t = 0; t < frames; t++) {
      for (let c = 0; c < 3; c++) {
        for (let k = 0; k < bins; k++) {
          r64[k] = re[c][t * bins + k];
          i64[k] = im[c][t * bins + k];
        }
        sut.addSpectrum(c, r64, i64);
        fft.inverse(r64, i64, 0, frame, 0);
        for (let i = 0; i < 64; i++) naive[c][t * 24 + i] += frame[i] * w[i];
      }
      written += sut.advance(out, written);
    }
    written += sut.flush(out, written);
    const available = (frames - 1) * 24 + 64 - cropStart;
    expect(written).toBe(Math.min(n, available));
    const expected = new Float32Array(3 * n);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < written; i++) expected[3 * i + c] = naive[c][cropStart + i] * scale;
    expect(firstDifference(out, expected)).toBe(-1);
  });

  it.each([
    ['zero', 0],
    ['a constant', 0.25],
  ])(
    'addScaledSpectrum (gain below F, %s above) equals addSpectrum of the products bit for bit',
    (_label, above) => {
      const n = 30000;
      const x = tones(n, 2, [200, 3000, 15000]);
      const spec = computeStft(x, 2);
      const F = 1024;
      const rng = makeRng(8);
      const gains = Array.from({ length: spec.frames * 2 }, () => {
        const g = new Float64Array(F);
        for (let k = 0; k < F; k++) g[k] = rng();
        return g;
      });
      const sut = new OverlapAddSynthesizer();
      const ref = new OverlapAddSynthesizer();
      sut.setLength(n);
      ref.setLength(n);
      const out = new Float32Array(2 * n);
      const expected = new Float32Array(2 * n);
      const re = new Float64Array(BINS);
      const im = new Float64Array(BINS);
      let written = 0;
      let refWritten = 0;
      for (let t = 0; t < spec.frames; t++) {
        for (let c = 0; c < 2; c++) {
          const g = gains[2 * t + c];
          for (let k = 0; k < BINS; k++) {
            // 'model' bandwidth zero-fills above F; otherwise the gain multiplies there too
            const m = k < F ? g[k] : above;
            re[k] = k >= F && above === 0 ? 0 : m * spec.re[c][t * BINS + k];
            im[k] = k >= F && above === 0 ? 0 : m * spec.im[c][t * BINS + k];
          }
          ref.addSpectrum(c, re, im);
          sut.addScaledSpectrum(c, g, F, above, spec.re[c], spec.im[c], t * BINS);
        }
        refWritten += ref.advance(expected, refWritten);
        written += sut.advance(out, written);
      }
      refWritten += ref.flush(expected, refWritten);
      written += sut.flush(out, written);
      expect(written).toBe(n);
      expect(refWritten).toBe(n);
      expect(firstDifference(out, expected)).toBe(-1);
      if (above === 0) {
        // really band-limited: the 15 kHz tone (bin ~1393, about 1e3 per frame before) is gone,
        // down to the float32 transforms' rounding noise
        const back = computeStft(out, 2);
        let high = 0;
        for (let t = 4; t < back.frames - 4; t++) high += back.re[0][t * BINS + 1393] ** 2;
        expect(high).toBeLessThan(1e-9);
      }
    },
  );

  it('uses 2/3 as the Spleeter scale', () => {
    expect(new OverlapAddSynthesizer().scale).toBeCloseTo(2 / 3, 15);
    expect(SPLEETER_FRAMING).toEqual({ nFft: 4096, hop: 1024, frontPad: 4096 });
  });

  it('refuses to flush without a length and rejects impossible lengths', () => {
    const sut = new OverlapAddSynthesizer();
    expect(() => sut.flush(new Float32Array(10), 0)).toThrow();
    expect(() => sut.setLength(-1)).toThrow(RangeError);
    const spec = computeStft(new Float32Array(2 * 100), 2);
    expect(() => computeIstft(spec, 5000)).toThrow(RangeError);
  });
});
