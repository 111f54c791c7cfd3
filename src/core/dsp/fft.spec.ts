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
