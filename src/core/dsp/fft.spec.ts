import { ComplexFft, RealFft } from './fft';

/** Deterministic uniform noise in [-1, 1). */
function noise(n: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** O(n^2) reference DFT with exact angle reduction, kernel e^(-2*pi*i*k*n/N) (sign = -1). */
function naiveDft(re: Float64Array, im: Float64Array, sign: number): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / n);
    sin[i] = Math.sin((2 * Math.PI * i) / n);
  }
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const idx = (k * j) % n;
      const c = cos[idx];
      const s = sign * sin[idx];
      sr += re[j] * c - im[j] * s;
      si += re[j] * s + im[j] * c;
    }
    outRe[k] = sr;
    outIm[k] = si;
  }
  return { re: outRe, im: outIm };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

describe(ComplexFft.name, () => {
  it.each([1, 2, 3, 4, 5, 8, 12, 15, 60, 64, 2048, 2560, 3072, 3840, 7, 14, 202, 1009])(
    'matches a naive DFT forward and inverse for n = %i',
    (n) => {
      const sut = new ComplexFft(n);
      const re = noise(n, 11 + n);
      const im = noise(n, 97 + n);
      const input = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        input[2 * i] = re[i];
        input[2 * i + 1] = im[i];
      }
      const copy = input.slice();
      for (const sign of [-1, 1]) {
        const out = new Float64Array(2 * n);
        if (sign === -1) sut.forward(input, out);
        else sut.inverse(input, out);
        const ref = naiveDft(re, im, sign);
        let err = 0;
        for (let k = 0; k < n; k++) {
          err = Math.max(err, Math.abs(out[2 * k] - ref.re[k]), Math.abs(out[2 * k + 1] - ref.im[k]));
        }
        expect(err / Math.max(maxAbs(ref.re), maxAbs(ref.im))).toBeLessThan(1e-12);
      }
      expect(input).toEqual(copy);
    },
  );
});

describe(RealFft.name, () => {
  it.each([2, 4, 6, 8, 10, 30, 64, 4096, 5120, 6144, 7680, 202, 15, 9])(
    'matches a naive DFT and round-trips for n = %i',
    (n) => {
      const sut = new RealFft(n);
      expect(sut.bins).toBe(Math.floor(n / 2) + 1);
      const x = noise(n, 5 + n);
      const offset = 3;
      const padded = new Float64Array(n + offset);
      padded.set(x, offset);
      const re = new Float64Array(sut.bins + 1);
      const im = new Float64Array(sut.bins + 1);
      sut.forward(padded, offset, re, im, 1);
      const ref = naiveDft(x, new Float64Array(n), -1);
      let err = 0;
      for (let k = 0; k < sut.bins; k++) {
        err = Math.max(err, Math.abs(re[k + 1] - ref.re[k]), Math.abs(im[k + 1] - ref.im[k]));
      }
      expect(err / maxAbs(ref.re)).toBeLessThan(1e-12);
      expect(im[1]).toBe(0);
      if (n % 2 === 0) expect(im[1 + n / 2]).toBe(0);

      const back = new Float64Array(n + 2);
      sut.inverse(re, im, 1, back, 2);
      let rt = 0;
      for (let i = 0; i < n; i++) rt = Math.max(rt, Math.abs(back[i + 2] - x[i]));
      expect(rt / maxAbs(x)).toBeLessThan(1e-13);
    },
  );

  it('round-trips 4096 in place-free fast path without touching the input', () => {
    const sut = new RealFft(4096);
    const x = noise(4096, 42);
    const copy = x.slice();
    const re = new Float64Array(2049);
    const im = new Float64Array(2049);
    sut.forward(x, 0, re, im, 0);
    expect(x).toEqual(copy);
    const back = new Float64Array(4096);
    sut.inverse(re, im, 0, back, 0);
    let err = 0;
    for (let i = 0; i < 4096; i++) err = Math.max(err, Math.abs(back[i] - x[i]));
    expect(err).toBeLessThan(1e-14);
  });

  it('ignores imaginary parts of DC and Nyquist on inverse like numpy irfft', () => {
    const sut = new RealFft(8);
    const re = new Float64Array([1, 0, 0, 0, 1]);
    const im = new Float64Array([5, 0, 0, 0, -7]);
    const out = new Float64Array(8);
    sut.inverse(re, im, 0, out, 0);
    // irfft([1,0,0,0,1]) = (1 + (-1)^n) / 8
    for (let i = 0; i < 8; i++) expect(out[i]).toBeCloseTo(i % 2 === 0 ? 0.25 : 0, 15);
  });

  it('rejects sizes below 2', () => {
    expect(() => new RealFft(1)).toThrow(RangeError);
    expect(() => new ComplexFft(0)).toThrow(RangeError);
  });
});

/** Index of the first element that differs (Object.is), -1 when identical. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/**
 * Sizes covering both fused fast paths (complex plan starting with radix 4 at s = 1 / ending
 * with a twiddle-free radix-8 stage: 4096, 64, 16, 1024), the fallbacks (8, 6, 30, 5120, 2) and
 * odd sizes.
 */
const FUSED_SIZES = [4096, 64, 16, 1024, 8, 6, 30, 5120, 2, 15, 9];

describe(`${RealFft.name} fused STFT paths`, () => {
  it.each(FUSED_SIZES)(
    'forwardWindowed32 equals windowing, forward() and a float32 copy bit for bit (n = %i)',
    (n) => {
      const sut = new RealFft(n);
      const x = noise(n, 3 + n);
      const w = noise(n, 77 + n);
      const windowed = x.map((v, i) => v * w[i]);
      const re64 = new Float64Array(sut.bins);
      const im64 = new Float64Array(sut.bins);
      sut.forward(windowed, 0, re64, im64, 0);
      const offset = 5;
      for (const storeBins of [sut.bins, Math.floor(sut.bins / 2), 1, sut.bins - 1]) {
        const re = new Float32Array(sut.bins + offset + 3).fill(12345);
        const im = new Float32Array(sut.bins + offset + 3).fill(12345);
        sut.forwardWindowed32(x, w, re, im, offset, storeBins);
        const expectedRe = new Float32Array(re.length).fill(12345);
        const expectedIm = new Float32Array(im.length).fill(12345);
        for (let k = 0; k < storeBins; k++) {
          expectedRe[offset + k] = re64[k];
          expectedIm[offset + k] = im64[k];
        }
        // stored bins are exact, the others untouched
        expect(firstDiff(re, expectedRe)).toBe(-1);
        expect(firstDiff(im, expectedIm)).toBe(-1);
      }
      expect(x).toEqual(noise(n, 3 + n));
    },
  );

  it.each(FUSED_SIZES)(
    'inverseAccumulate adds inverse() × window to the accumulator bit for bit (n = %i)',
    (n) => {
      const sut = new RealFft(n);
      const re = noise(sut.bins + 2, 9 + n);
      const im = noise(sut.bins + 2, 19 + n);
      const w = noise(n, 29 + n);
      const acc = noise(n, 39 + n);
      const frame = new Float64Array(n);
      sut.inverse(re, im, 2, frame, 0);
      const expected = acc.map((a, i) => a + frame[i] * w[i]);
      sut.inverseAccumulate(re, im, 2, acc, w);
      expect(firstDiff(acc, expected)).toBe(-1);
    },
  );

  it.each(FUSED_SIZES)(
    'inverseScaledAccumulate equals the gain × spectrum products through inverseAccumulate, bit for bit (n = %i)',
    (n) => {
      const sut = new RealFft(n);
      const bins = sut.bins;
      const offset = 4;
      const re = Float32Array.from(noise(bins + offset, 5 + n));
      const im = Float32Array.from(noise(bins + offset, 15 + n));
      const gain = noise(bins, 25 + n).map((g) => Math.abs(g));
      const w = noise(n, 35 + n);
      for (const gainBins of [Math.ceil(bins / 2), bins, 1, 0]) {
        for (const gainAbove of [0, 0.375]) {
          const r64 = new Float64Array(bins);
          const i64 = new Float64Array(bins);
          for (let k = 0; k < bins; k++) {
            const g = k < gainBins ? gain[k] : gainAbove;
            r64[k] = k >= gainBins && gainAbove === 0 ? 0 : g * re[offset + k];
            i64[k] = k >= gainBins && gainAbove === 0 ? 0 : g * im[offset + k];
          }
          const expected = noise(n, 45 + n);
          sut.inverseAccumulate(r64, i64, 0, expected, w);
          // with zero gain above, bins >= gainBins are never read: NaNs there change nothing
          const input = gainAbove === 0 ? [re.slice(), im.slice()] : [re, im];
          if (gainAbove === 0) for (const p of input) p.fill(NaN, offset + gainBins);
          const acc = noise(n, 45 + n);
          sut.inverseScaledAccumulate(gain, gainBins, gainAbove, input[0], input[1], offset, acc, w);
          expect(firstDiff(acc, expected)).toBe(-1);
        }
      }
    },
  );
});
