/**
 * float64 FFTs in JavaScript: the fallback of the Spleeter STFT (which runs on PFFFT WebAssembly
 * SIMD, dsp/wasm-fft.ts, about 3x faster per frame), and the MDX-Net centered STFT
 * (5120/6144/7680...), model smoke tests and exact float64 references in tests.
 *
 * - `ComplexFft`: mixed-radix (8, 4, 2, 3, 5) Stockham autosort FFT on interleaved complex
 *   Float64Arrays, with Bluestein's algorithm for sizes that have another prime factor.
 *   Stockham needs no bit-reversal pass and lets the first stage read the caller's input and the
 *   last stage write the caller's output directly (no copies). One generic butterfly per radix:
 *   direction-specialised copies measured no faster (bench-fft.ts, 2026-11).
 * - `RealFft`: real transform of even size N through one complex FFT of size N/2 ("split real"
 *   trick): a real Float64Array of length N *is* an interleaved complex array of length N/2, so
 *   packing is free. Spectra are exchanged as separate re/im planes (N/2+1 bins), which is what
 *   masking wants.
 *
 * Chosen over fft.js after measuring (scripts/bench/bench-fft.ts, Node 20, size 4096, frames/s):
 * forward ≈ 40k vs fft.js realTransform ≈ 32k (1.25×), inverse ≈ 40k vs ≈ 13–18k for fft.js
 * (Hermitian fill + complex inverseTransform: 2.2–3×). A radix-8 last stage without twiddles and
 * the free real packing are what make the difference; fft.js has no real inverse.
 * Everything is float64 so a forward/inverse round trip is exact to ~1e-15 relative.
 * Forward kernel is e^(-2*pi*i*k*n/N); inverse is unnormalised for ComplexFft and normalised
 * (1/N) for RealFft, matching numpy's irfft.
 */

const TWO_PI = 2 * Math.PI;

/** Radices with dedicated butterflies; a size with any other prime factor goes through Bluestein. */
const DIRECT_RADICES = [8, 4, 2, 3, 5] as const;

interface Stage {
  radix: number;
  /** Remaining sub-transform length divided by radix. */
  m: number;
  /** Number of interleaved sub-transforms (product of previous radices). */
  s: number;
  /** Offset of this stage's twiddles in the twiddle table. */
  twOffset: number;
}

/**
 * Radices for a Stockham plan, or null when n has a prime factor other than 2, 3, 5.
 * Radix 8 stages go last so that the final stage (m = 1, all twiddles 1) is a radix-8 one.
 */
function factorize(n: number): number[] | null {
  const eights: number[] = [];
  const others: number[] = [];
  let rest = n;
  for (const r of DIRECT_RADICES) {
    while (rest % r === 0) {
      (r === 8 ? eights : others).push(r);
      rest /= r;
    }
  }
  return rest === 1 ? [...others, ...eights] : null;
}

function assertSize(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${what} size must be a positive integer, got ${n}`);
  }
}

/**
 * Complex FFT of any size on interleaved (re, im) Float64Arrays of length 2n.
 * `forward`/`inverse` never modify `input`; `input` and `output` must not overlap.
 * The inverse is unnormalised (multiply by 1/n yourself).
 */
export class ComplexFft {
  readonly size: number;
  private readonly stages: Stage[];
  private readonly twForward: Float64Array;
  private readonly twInverse: Float64Array;
  private readonly scratch: Float64Array;
  private readonly bluestein: Bluestein | null;
  private temp: Float64Array | null = null;

  constructor(n: number) {
    assertSize(n, 'FFT');
    this.size = n;
    const factors = factorize(n);
    if (factors === null) {
      this.bluestein = new Bluestein(n);
      this.stages = [];
      this.twForward = new Float64Array(0);
      this.twInverse = new Float64Array(0);
      this.scratch = new Float64Array(0);
      return;
    }
    this.bluestein = null;
    this.stages = [];
    let s = 1;
    let nCur = n;
    let twLen = 0;
    for (const radix of factors) {
      const m = nCur / radix;
      this.stages.push({ radix, m, s, twOffset: twLen });
      twLen += 2 * (radix - 1) * m;
      s *= radix;
      nCur = m;
    }
    this.twForward = new Float64Array(twLen);
    this.twInverse = new Float64Array(twLen);
    nCur = n;
    for (const st of this.stages) {
      for (let p = 0; p < st.m; p++) {
        for (let k = 1; k < st.radix; k++) {
          const angle = (TWO_PI * ((p * k) % nCur)) / nCur;
          const i = st.twOffset + 2 * ((st.radix - 1) * p + (k - 1));
          const c = Math.cos(angle);
          const sn = Math.sin(angle);
          this.twForward[i] = c;
          this.twForward[i + 1] = -sn;
          this.twInverse[i] = c;
          this.twInverse[i + 1] = sn;
        }
      }
      nCur = st.m;
    }
    this.scratch = new Float64Array(2 * n);
  }

  forward(input: Float64Array, output: Float64Array): void {
    this.run(input, output, 1);
  }

  /** Unnormalised inverse (kernel e^(+2*pi*i*k*n/N)). */
  inverse(input: Float64Array, output: Float64Array): void {
    this.run(input, output, -1);
  }

  private run(input: Float64Array, output: Float64Array, dir: 1 | -1): void {
    if (this.bluestein !== null) {
      this.bluestein.run(input, output, dir);
      return;
    }
    const stages = this.stages;
    const count = stages.length;
    if (count === 0) {
      // n === 1
      output[0] = input[0];
      output[1] = input[1];
      return;
    }
    const tw = dir === 1 ? this.twForward : this.twInverse;
    let src = input;
    for (let i = 0; i < count; i++) {
      // Ping-pong so that the last stage lands in `output`.
      const dst = (count - 1 - i) % 2 === 0 ? output : this.scratch;
      runStage(stages[i], src, dst, tw, dir);
      src = dst;
    }
  }

  /**
   * forward() of `input` × `window` element-wise (both 2n float64 values, i.e. a real frame read
   * as n interleaved complex samples).
   */
  forwardWindowed(input: Float64Array | Float32Array, window: Float64Array, output: Float64Array): void {
    const tmp = this.tempBuffer();
    for (let i = 0; i < 2 * this.size; i++) tmp[i] = input[i] * window[i];
    this.run(tmp, output, 1);
  }

  /** acc[i] += inverse(input)[i] × window[i] for i < 2n: one overlap-add synthesis step. */
  inverseAccumulate(input: Float64Array, acc: Float64Array, window: Float64Array): void {
    const tmp = this.tempBuffer();
    this.run(input, tmp, -1);
    for (let i = 0; i < 2 * this.size; i++) acc[i] += tmp[i] * window[i];
  }

  /** A second 2n scratch buffer for the fused paths (allocated on first use). */
  private tempBuffer(): Float64Array {
    return (this.temp ??= new Float64Array(2 * this.size));
  }
}

function runStage(st: Stage, src: Float64Array, dst: Float64Array, tw: Float64Array, dir: 1 | -1): void {
  switch (st.radix) {
    case 8:
      pass8(src, dst, st.s, st.m, tw, st.twOffset, dir);
      break;
    case 4:
      pass4(src, dst, st.s, st.m, tw, st.twOffset, dir);
      break;
    case 2:
      pass2(src, dst, st.s, st.m, tw, st.twOffset);
      break;
    case 3:
      pass3(src, dst, st.s, st.m, tw, st.twOffset, dir);
      break;
    default:
      pass5(src, dst, st.s, st.m, tw, st.twOffset, dir);
      break;
  }
}

/*
 * Stockham DIF stage of radix r on a problem of length n = r*m repeated with stride s:
 *   a_j = x[q + s*(p + j*m)],  y[q + s*(r*p + k)] = (sum_j a_j w_r^(jk)) * w_n^(pk)
 * for p < m, q < s. Indices below are in float64 units (2 per complex).
 */

function pass2(
  x: Float64Array,
  y: Float64Array,
  s: number,
  m: number,
  tw: Float64Array,
  twOff: number,
): void {
  const half = 2 * s * m;
  const s2 = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = twOff + 2 * p;
    const wr = tw[t];
    const wi = tw[t + 1];
    const inBase = s2 * p;
    const outBase = 2 * s2 * p;
    for (let q = 0; q < s2; q += 2) {
      const i0 = inBase + q;
      const i1 = i0 + half;
      const ar = x[i0];
      const ai = x[i0 + 1];
      const br = x[i1];
      const bi = x[i1 + 1];
      const o0 = outBase + q;
      const o1 = o0 + s2;
      y[o0] = ar + br;
      y[o0 + 1] = ai + bi;
      const dr = ar - br;
      const di = ai - bi;
      y[o1] = dr * wr - di * wi;
      y[o1 + 1] = dr * wi + di * wr;
    }
  }
}

function pass4(
  x: Float64Array,
  y: Float64Array,
  s: number,
  m: number,
  tw: Float64Array,
  twOff: number,
  dir: number,
): void {
  const quarter = 2 * s * m;
  const s2 = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = twOff + 6 * p;
    const w1r = tw[t];
    const w1i = tw[t + 1];
    const w2r = tw[t + 2];
    const w2i = tw[t + 3];
    const w3r = tw[t + 4];
    const w3i = tw[t + 5];
    const inBase = s2 * p;
    const outBase = 4 * s2 * p;
    for (let q = 0; q < s2; q += 2) {
      const i0 = inBase + q;
      const i1 = i0 + quarter;
      const i2 = i1 + quarter;
      const i3 = i2 + quarter;
      const a0r = x[i0];
      const a0i = x[i0 + 1];
      const a1r = x[i1];
      const a1i = x[i1 + 1];
      const a2r = x[i2];
      const a2i = x[i2 + 1];
      const a3r = x[i3];
      const a3i = x[i3 + 1];
      const t0r = a0r + a2r;
      const t0i = a0i + a2i;
      const t1r = a0r - a2r;
      const t1i = a0i - a2i;
      const t2r = a1r + a3r;
      const t2i = a1i + a3i;
      // dir * (-i) * (a1 - a3): forward multiplies by -i, inverse by +i.
      const t3r = dir * (a1i - a3i);
      const t3i = dir * (a3r - a1r);
      const o0 = outBase + q;
      const o1 = o0 + s2;
      const o2 = o1 + s2;
      const o3 = o2 + s2;
      y[o0] = t0r + t2r;
      y[o0 + 1] = t0i + t2i;
      const b1r = t1r + t3r;
      const b1i = t1i + t3i;
      y[o1] = b1r * w1r - b1i * w1i;
      y[o1 + 1] = b1r * w1i + b1i * w1r;
      const b2r = t0r - t2r;
      const b2i = t0i - t2i;
      y[o2] = b2r * w2r - b2i * w2i;
      y[o2 + 1] = b2r * w2i + b2i * w2r;
      const b3r = t1r - t3r;
      const b3i = t1i - t3i;
      y[o3] = b3r * w3r - b3i * w3i;
      y[o3 + 1] = b3r * w3i + b3i * w3r;
    }
  }
}

const SQRT1_2 = Math.SQRT1_2;

/** Radix-8 Stockham stage (see pass2 for the indexing). */
function pass8(
  x: Float64Array,
  y: Float64Array,
  s: number,
  m: number,
  tw: Float64Array,
  twOff: number,
  dir: number,
): void {
  const eighth = 2 * s * m;
  const s2 = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = twOff + 14 * p;
    const w1r = tw[t];
    const w1i = tw[t + 1];
    const w2r = tw[t + 2];
    const w2i = tw[t + 3];
    const w3r = tw[t + 4];
    const w3i = tw[t + 5];
    const w4r = tw[t + 6];
    const w4i = tw[t + 7];
    const w5r = tw[t + 8];
    const w5i = tw[t + 9];
    const w6r = tw[t + 10];
    const w6i = tw[t + 11];
    const w7r = tw[t + 12];
    const w7i = tw[t + 13];
    const inBase = s2 * p;
    const outBase = 8 * s2 * p;
    for (let q = 0; q < s2; q += 2) {
      const i0 = inBase + q;
      const i1 = i0 + eighth;
      const i2 = i1 + eighth;
      const i3 = i2 + eighth;
      const i4 = i3 + eighth;
      const i5 = i4 + eighth;
      const i6 = i5 + eighth;
      const i7 = i6 + eighth;
      const a0r = x[i0];
      const a0i = x[i0 + 1];
      const a1r = x[i1];
      const a1i = x[i1 + 1];
      const a2r = x[i2];
      const a2i = x[i2 + 1];
      const a3r = x[i3];
      const a3i = x[i3 + 1];
      const a4r = x[i4];
      const a4i = x[i4 + 1];
      const a5r = x[i5];
      const a5i = x[i5 + 1];
      const a6r = x[i6];
      const a6i = x[i6 + 1];
      const a7r = x[i7];
      const a7i = x[i7 + 1];
      // radix-2 split across distance 4
      const u0r = a0r + a4r;
      const u0i = a0i + a4i;
      const u1r = a1r + a5r;
      const u1i = a1i + a5i;
      const u2r = a2r + a6r;
      const u2i = a2i + a6i;
      const u3r = a3r + a7r;
      const u3i = a3i + a7i;
      const v0r = a0r - a4r;
      const v0i = a0i - a4i;
      const d1r = a1r - a5r;
      const d1i = a1i - a5i;
      const d2r = a2r - a6r;
      const d2i = a2i - a6i;
      const d3r = a3r - a7r;
      const d3i = a3i - a7i;
      // v1 = d1 * w8, v2 = d2 * w8^2 = d2 * (-i*dir), v3 = d3 * w8^3 with w8 = (1 - i*dir)/sqrt2
      const v1r = SQRT1_2 * (d1r + dir * d1i);
      const v1i = SQRT1_2 * (d1i - dir * d1r);
      const v2r = dir * d2i;
      const v2i = -dir * d2r;
      const v3r = SQRT1_2 * (dir * d3i - d3r);
      const v3i = -SQRT1_2 * (d3i + dir * d3r);
      // 4-point DFTs of u (even outputs) and v (odd outputs)
      const ta0r = u0r + u2r;
      const ta0i = u0i + u2i;
      const ta1r = u0r - u2r;
      const ta1i = u0i - u2i;
      const ta2r = u1r + u3r;
      const ta2i = u1i + u3i;
      const ta3r = dir * (u1i - u3i);
      const ta3i = dir * (u3r - u1r);
      const tb0r = v0r + v2r;
      const tb0i = v0i + v2i;
      const tb1r = v0r - v2r;
      const tb1i = v0i - v2i;
      const tb2r = v1r + v3r;
      const tb2i = v1i + v3i;
      const tb3r = dir * (v1i - v3i);
      const tb3i = dir * (v3r - v1r);
      const o0 = outBase + q;
      const o1 = o0 + s2;
      const o2 = o1 + s2;
      const o3 = o2 + s2;
      const o4 = o3 + s2;
      const o5 = o4 + s2;
      const o6 = o5 + s2;
      const o7 = o6 + s2;
      y[o0] = ta0r + ta2r;
      y[o0 + 1] = ta0i + ta2i;
      const b1r = tb0r + tb2r;
      const b1i = tb0i + tb2i;
      y[o1] = b1r * w1r - b1i * w1i;
      y[o1 + 1] = b1r * w1i + b1i * w1r;
      const b2r = ta1r + ta3r;
      const b2i = ta1i + ta3i;
      y[o2] = b2r * w2r - b2i * w2i;
      y[o2 + 1] = b2r * w2i + b2i * w2r;
      const b3r = tb1r + tb3r;
      const b3i = tb1i + tb3i;
      y[o3] = b3r * w3r - b3i * w3i;
      y[o3 + 1] = b3r * w3i + b3i * w3r;
      const b4r = ta0r - ta2r;
      const b4i = ta0i - ta2i;
      y[o4] = b4r * w4r - b4i * w4i;
      y[o4 + 1] = b4r * w4i + b4i * w4r;
      const b5r = tb0r - tb2r;
      const b5i = tb0i - tb2i;
      y[o5] = b5r * w5r - b5i * w5i;
      y[o5 + 1] = b5r * w5i + b5i * w5r;
      const b6r = ta1r - ta3r;
      const b6i = ta1i - ta3i;
      y[o6] = b6r * w6r - b6i * w6i;
      y[o6 + 1] = b6r * w6i + b6i * w6r;
      const b7r = tb1r - tb3r;
      const b7i = tb1i - tb3i;
      y[o7] = b7r * w7r - b7i * w7i;
      y[o7 + 1] = b7r * w7i + b7i * w7r;
    }
  }
}

const SIN_60 = Math.sqrt(3) / 2;

function pass3(
  x: Float64Array,
  y: Float64Array,
  s: number,
  m: number,
  tw: Float64Array,
  twOff: number,
  dir: number,
): void {
  const third = 2 * s * m;
  const s2 = 2 * s;
  const sn = -dir * SIN_60; // imaginary part of w_3 = e^(-dir*2*pi*i/3)
  for (let p = 0; p < m; p++) {
    const t = twOff + 4 * p;
    const w1r = tw[t];
    const w1i = tw[t + 1];
    const w2r = tw[t + 2];
    const w2i = tw[t + 3];
    const inBase = s2 * p;
    const outBase = 3 * s2 * p;
    for (let q = 0; q < s2; q += 2) {
      const i0 = inBase + q;
      const i1 = i0 + third;
      const i2 = i1 + third;
      const a0r = x[i0];
      const a0i = x[i0 + 1];
      const a1r = x[i1];
      const a1i = x[i1 + 1];
      const a2r = x[i2];
      const a2i = x[i2 + 1];
      const sr = a1r + a2r;
      const si = a1i + a2i;
      const dr = a1r - a2r;
      const di = a1i - a2i;
      const mr = a0r - 0.5 * sr;
      const mi = a0i - 0.5 * si;
      // b1 = m + i*sn*d, b2 = m - i*sn*d
      const b1r = mr - sn * di;
      const b1i = mi + sn * dr;
      const b2r = mr + sn * di;
      const b2i = mi - sn * dr;
      const o0 = outBase + q;
      const o1 = o0 + s2;
      const o2 = o1 + s2;
      y[o0] = a0r + sr;
      y[o0 + 1] = a0i + si;
      y[o1] = b1r * w1r - b1i * w1i;
      y[o1 + 1] = b1r * w1i + b1i * w1r;
      y[o2] = b2r * w2r - b2i * w2i;
      y[o2 + 1] = b2r * w2i + b2i * w2r;
    }
  }
}

const C72 = Math.cos((2 * Math.PI) / 5);
const C144 = Math.cos((4 * Math.PI) / 5);
const S72 = Math.sin((2 * Math.PI) / 5);
const S144 = Math.sin((4 * Math.PI) / 5);

function pass5(
  x: Float64Array,
  y: Float64Array,
  s: number,
  m: number,
  tw: Float64Array,
  twOff: number,
  dir: number,
): void {
  const fifth = 2 * s * m;
  const s2 = 2 * s;
  // w_5^k = cos - i*dir*sin
  const s1 = -dir * S72;
  const s2n = -dir * S144;
  for (let p = 0; p < m; p++) {
    const t = twOff + 8 * p;
    const w1r = tw[t];
    const w1i = tw[t + 1];
    const w2r = tw[t + 2];
    const w2i = tw[t + 3];
    const w3r = tw[t + 4];
    const w3i = tw[t + 5];
    const w4r = tw[t + 6];
    const w4i = tw[t + 7];
    const inBase = s2 * p;
    const outBase = 5 * s2 * p;
    for (let q = 0; q < s2; q += 2) {
      const i0 = inBase + q;
      const i1 = i0 + fifth;
      const i2 = i1 + fifth;
      const i3 = i2 + fifth;
      const i4 = i3 + fifth;
      const a0r = x[i0];
      const a0i = x[i0 + 1];
      const a1r = x[i1];
      const a1i = x[i1 + 1];
      const a2r = x[i2];
      const a2i = x[i2 + 1];
      const a3r = x[i3];
      const a3i = x[i3 + 1];
      const a4r = x[i4];
      const a4i = x[i4 + 1];
      const p14r = a1r + a4r;
      const p14i = a1i + a4i;
      const m14r = a1r - a4r;
      const m14i = a1i - a4i;
      const p23r = a2r + a3r;
      const p23i = a2i + a3i;
      const m23r = a2r - a3r;
      const m23i = a2i - a3i;
      // b_k = a0 + c1*p14 + c2*p23 + i*(s1*m14 + s2*m23) for k=1, etc.
      const r1r = a0r + C72 * p14r + C144 * p23r;
      const r1i = a0i + C72 * p14i + C144 * p23i;
      const r2r = a0r + C144 * p14r + C72 * p23r;
      const r2i = a0i + C144 * p14i + C72 * p23i;
      const j1r = s1 * m14r + s2n * m23r; // multiplies i
      const j1i = s1 * m14i + s2n * m23i;
      const j2r = s2n * m14r - s1 * m23r;
      const j2i = s2n * m14i - s1 * m23i;
      const b1r = r1r - j1i;
      const b1i = r1i + j1r;
      const b4r = r1r + j1i;
      const b4i = r1i - j1r;
      const b2r = r2r - j2i;
      const b2i = r2i + j2r;
      const b3r = r2r + j2i;
      const b3i = r2i - j2r;
      const o0 = outBase + q;
      const o1 = o0 + s2;
      const o2 = o1 + s2;
      const o3 = o2 + s2;
      const o4 = o3 + s2;
      y[o0] = a0r + p14r + p23r;
      y[o0 + 1] = a0i + p14i + p23i;
      y[o1] = b1r * w1r - b1i * w1i;
      y[o1 + 1] = b1r * w1i + b1i * w1r;
      y[o2] = b2r * w2r - b2i * w2i;
      y[o2 + 1] = b2r * w2i + b2i * w2r;
      y[o3] = b3r * w3r - b3i * w3i;
      y[o3 + 1] = b3r * w3i + b3i * w3r;
      y[o4] = b4r * w4r - b4i * w4i;
      y[o4 + 1] = b4r * w4i + b4i * w4r;
    }
  }
}

/** Bluestein's chirp-z FFT for sizes with prime factors other than 2, 3, 5. */
class Bluestein {
  private readonly n: number;
  private readonly fft: ComplexFft;
  /** chirp[k] = e^(-i*pi*k^2/n), interleaved. */
  private readonly chirp: Float64Array;
  /** FFT of the conjugate chirp filter (forward direction) and of the chirp (inverse direction). */
  private readonly filterForward: Float64Array;
  private readonly filterInverse: Float64Array;
  private readonly a: Float64Array;
  private readonly b: Float64Array;

  constructor(n: number) {
    this.n = n;
    let len = 1;
    while (len < 2 * n - 1) len *= 2;
    this.fft = new ComplexFft(len);
    this.chirp = new Float64Array(2 * n);
    const twoN = 2 * n;
    for (let k = 0; k < n; k++) {
      // k^2 mod 2n keeps the angle small and accurate for large k.
      const k2 = (k * k) % twoN;
      const angle = (Math.PI * k2) / n;
      this.chirp[2 * k] = Math.cos(angle);
      this.chirp[2 * k + 1] = -Math.sin(angle);
    }
    const hf = new Float64Array(2 * len);
    const hi = new Float64Array(2 * len);
    for (let k = 0; k < n; k++) {
      const cr = this.chirp[2 * k];
      const ci = this.chirp[2 * k + 1];
      // forward filter: conj(chirp); inverse filter: chirp
      hf[2 * k] = cr;
      hf[2 * k + 1] = -ci;
      hi[2 * k] = cr;
      hi[2 * k + 1] = ci;
      if (k > 0) {
        hf[2 * (len - k)] = cr;
        hf[2 * (len - k) + 1] = -ci;
        hi[2 * (len - k)] = cr;
        hi[2 * (len - k) + 1] = ci;
      }
    }
    this.filterForward = new Float64Array(2 * len);
    this.filterInverse = new Float64Array(2 * len);
    this.fft.forward(hf, this.filterForward);
    this.fft.forward(hi, this.filterInverse);
    this.a = new Float64Array(2 * len);
    this.b = new Float64Array(2 * len);
  }

  run(input: Float64Array, output: Float64Array, dir: 1 | -1): void {
    const n = this.n;
    const len = this.fft.size;
    const a = this.a;
    const b = this.b;
    const chirp = this.chirp;
    a.fill(0);
    for (let k = 0; k < n; k++) {
      const xr = input[2 * k];
      const xi = input[2 * k + 1];
      const cr = chirp[2 * k];
      const ci = dir * chirp[2 * k + 1];
      a[2 * k] = xr * cr - xi * ci;
      a[2 * k + 1] = xr * ci + xi * cr;
    }
    this.fft.forward(a, b);
    const h = dir === 1 ? this.filterForward : this.filterInverse;
    for (let k = 0; k < 2 * len; k += 2) {
      const br = b[k];
      const bi = b[k + 1];
      const hr = h[k];
      const hi = h[k + 1];
      b[k] = br * hr - bi * hi;
      b[k + 1] = br * hi + bi * hr;
    }
    this.fft.inverse(b, a);
    const scale = 1 / len;
    for (let k = 0; k < n; k++) {
      const yr = a[2 * k] * scale;
      const yi = a[2 * k + 1] * scale;
      const cr = chirp[2 * k];
      const ci = dir * chirp[2 * k + 1];
      output[2 * k] = yr * cr - yi * ci;
      output[2 * k + 1] = yr * ci + yi * cr;
    }
  }
}

/**
 * Real FFT of size n (any n >= 2; even n uses the fast half-size complex path).
 * Spectra are `bins = floor(n/2) + 1` complex values stored as separate re/im planes.
 */
export class RealFft {
  readonly size: number;
  readonly bins: number;
  private readonly half: number;
  private readonly complex: ComplexFft;
  /** e^(-2*pi*i*k/n) for k <= n/4, interleaved (even n only). */
  private readonly w: Float64Array;
  private readonly z: Float64Array;
  private readonly z2: Float64Array;
  private oddRe64: Float64Array | null = null;
  private oddIm64: Float64Array | null = null;
  private oddFrame: Float64Array | null = null;

  constructor(n: number) {
    assertSize(n, 'Real FFT');
    if (n < 2) throw new RangeError(`Real FFT size must be >= 2, got ${n}`);
    this.size = n;
    this.bins = Math.floor(n / 2) + 1;
    const even = n % 2 === 0;
    this.half = even ? n / 2 : 0;
    this.complex = new ComplexFft(even ? n / 2 : n);
    if (even) {
      const h = n / 2;
      const count = Math.floor(h / 2) + 1;
      this.w = new Float64Array(2 * count);
      for (let k = 0; k < count; k++) {
        const angle = (TWO_PI * k) / n;
        this.w[2 * k] = Math.cos(angle);
        this.w[2 * k + 1] = -Math.sin(angle);
      }
      this.z = new Float64Array(n);
      this.z2 = new Float64Array(n);
    } else {
      this.w = new Float64Array(0);
      this.z = new Float64Array(2 * n);
      this.z2 = new Float64Array(2 * n);
    }
  }

  /**
   * Forward transform of input[inOffset .. inOffset+n) into re/im[outOffset .. outOffset+bins).
   * Imaginary parts of DC (and Nyquist for even n) are written as exact zeros.
   */
  forward(
    input: Float64Array,
    inOffset: number,
    re: Float64Array,
    im: Float64Array,
    outOffset: number,
  ): void {
    const n = this.size;
    if (this.half === 0) {
      this.forwardOdd(input, inOffset, re, im, outOffset);
      return;
    }
    const h = this.half;
    const z = this.z;
    // A real array of length n viewed as n/2 interleaved complex samples: x[2j] + i*x[2j+1].
    const src = inOffset === 0 && input.length === n ? input : input.subarray(inOffset, inOffset + n);
    this.complex.forward(src, z);
    const w = this.w;
    re[outOffset] = z[0] + z[1];
    im[outOffset] = 0;
    re[outOffset + h] = z[0] - z[1];
    im[outOffset + h] = 0;
    const quarter = h >> 1;
    for (let k = 1; k <= quarter; k++) {
      const j = h - k;
      const zkr = z[2 * k];
      const zki = z[2 * k + 1];
      const zjr = z[2 * j];
      const zji = z[2 * j + 1];
      // Even part Ze = (Zk + conj Zj)/2, odd part Zo = (Zk - conj Zj)/(2i).
      const er = 0.5 * (zkr + zjr);
      const ei = 0.5 * (zki - zji);
      const or = 0.5 * (zki + zji);
      const oi = -0.5 * (zkr - zjr);
      const wr = w[2 * k];
      const wi = w[2 * k + 1];
      const pr = or * wr - oi * wi;
      const pi = or * wi + oi * wr;
      // X[k] = Ze + W^k Zo ; X[h-k] = conj(Ze - W^k Zo)
      re[outOffset + k] = er + pr;
      im[outOffset + k] = ei + pi;
      re[outOffset + j] = er - pr;
      im[outOffset + j] = pi - ei;
    }
  }

  /**
   * Inverse transform (normalised by 1/n) of re/im[inOffset .. inOffset+bins) into
   * out[outOffset .. outOffset+n). Imaginary parts of DC/Nyquist are ignored (numpy irfft).
   */
  inverse(re: Float64Array, im: Float64Array, inOffset: number, out: Float64Array, outOffset: number): void {
    const n = this.size;
    if (this.half === 0) {
      this.inverseOdd(re, im, inOffset, out, outOffset);
      return;
    }
    this.packInverse(re, im, inOffset);
    const dst = outOffset === 0 && out.length === n ? out : out.subarray(outOffset, outOffset + n);
    this.complex.inverse(this.z, dst);
  }

  /** Even n: the half-size complex spectrum whose inverse is the real signal, into this.z (× 1/n). */
  private packInverse(re: Float64Array, im: Float64Array, inOffset: number): void {
    const h = this.half;
    const z = this.z;
    const w = this.w;
    const scale = 1 / this.size;
    const x0 = re[inOffset];
    const xh = re[inOffset + h];
    z[0] = (x0 + xh) * scale;
    z[1] = (x0 - xh) * scale;
    const quarter = h >> 1;
    for (let k = 1; k <= quarter; k++) {
      const j = h - k;
      const xkr = re[inOffset + k];
      const xki = im[inOffset + k];
      const xjr = re[inOffset + j];
      const xji = im[inOffset + j];
      // Ze = (Xk + conj Xj)/n ; Zo = (Xk - conj Xj) * conj(W^k) / n ; Z = Ze + i Zo
      const er = (xkr + xjr) * scale;
      const ei = (xki - xji) * scale;
      const dr = (xkr - xjr) * scale;
      const di = (xki + xji) * scale;
      const wr = w[2 * k];
      const wi = -w[2 * k + 1];
      const or = dr * wr - di * wi;
      const oi = dr * wi + di * wr;
      // Z[k] = Ze + i*Zo ; Z[j] = conj(Ze) + i*conj(Zo)
      z[2 * k] = er - oi;
      z[2 * k + 1] = ei + or;
      z[2 * j] = er + oi;
      z[2 * j + 1] = or - ei;
    }
  }

  /**
   * forward() of input[0..n) × window[0..n), stored straight into float32 planes at `outOffset`
   * (the STFT's storage): the same float64 values as windowing into a buffer, forward() and a copy
   * into Float32Arrays, rounded once on store, without the intermediate passes over memory.
   * Only bins < `storeBins` are stored (a caller that needs the low band only saves the stores).
   */
  forwardWindowed32(
    input: Float64Array | Float32Array,
    window: Float64Array,
    re: Float32Array,
    im: Float32Array,
    outOffset: number,
    storeBins: number = this.bins,
  ): void {
    const n = this.size;
    if (this.half === 0) {
      const x = this.oddScratch();
      for (let i = 0; i < n; i++) x[i] = input[i] * window[i];
      const r64 = this.oddRe();
      const i64 = this.oddIm();
      this.forwardOdd(x, 0, r64, i64, 0);
      const count = storeBins < this.bins ? storeBins : this.bins;
      for (let k = 0; k < count; k++) {
        re[outOffset + k] = r64[k];
        im[outOffset + k] = i64[k];
      }
      return;
    }
    const h = this.half;
    const z = this.z;
    this.complex.forwardWindowed(input, window, z);
    const w = this.w;
    if (storeBins > 0) {
      re[outOffset] = z[0] + z[1];
      im[outOffset] = 0;
    }
    if (h < storeBins) {
      re[outOffset + h] = z[0] - z[1];
      im[outOffset + h] = 0;
    }
    const quarter = h >> 1;
    // Each k <= quarter yields bins k and j = h - k >= k. Bin j is stored iff k >= mirrorStart
    // (and then k is too); below that only k, while k < storeBins. Two loops, no branch per bin.
    const mirrorStart = h - storeBins + 1 > 1 ? h - storeBins + 1 : 1;
    let lowEnd = storeBins - 1 < quarter ? storeBins - 1 : quarter;
    if (lowEnd > mirrorStart - 1) lowEnd = mirrorStart - 1;
    for (let k = 1; k <= lowEnd; k++) {
      const zkr = z[2 * k];
      const zki = z[2 * k + 1];
      const zjr = z[2 * (h - k)];
      const zji = z[2 * (h - k) + 1];
      const er = 0.5 * (zkr + zjr);
      const ei = 0.5 * (zki - zji);
      const or = 0.5 * (zki + zji);
      const oi = -0.5 * (zkr - zjr);
      const wr = w[2 * k];
      const wi = w[2 * k + 1];
      const pr = or * wr - oi * wi;
      const pi = or * wi + oi * wr;
      re[outOffset + k] = er + pr;
      im[outOffset + k] = ei + pi;
    }
    for (let k = mirrorStart; k <= quarter; k++) {
      const j = h - k;
      const zkr = z[2 * k];
      const zki = z[2 * k + 1];
      const zjr = z[2 * j];
      const zji = z[2 * j + 1];
      // Same algebra as forward().
      const er = 0.5 * (zkr + zjr);
      const ei = 0.5 * (zki - zji);
      const or = 0.5 * (zki + zji);
      const oi = -0.5 * (zkr - zjr);
      const wr = w[2 * k];
      const wi = w[2 * k + 1];
      const pr = or * wr - oi * wi;
      const pi = or * wi + oi * wr;
      re[outOffset + k] = er + pr;
      im[outOffset + k] = ei + pi;
      re[outOffset + j] = er - pr;
      im[outOffset + j] = pi - ei;
    }
  }

  /**
   * acc[i] += inverse(re, im)[i] × window[i] for i < n: one overlap-add synthesis step. Each acc[i]
   * receives the same float64 product as inverse() into a buffer followed by that loop, with the
   * accumulation folded into the last FFT stage (no intermediate frame in memory).
   */
  inverseAccumulate(
    re: Float64Array,
    im: Float64Array,
    inOffset: number,
    acc: Float64Array,
    window: Float64Array,
  ): void {
    if (this.half === 0) {
      const x = this.oddScratch();
      this.inverseOdd(re, im, inOffset, x, 0);
      for (let i = 0; i < this.size; i++) acc[i] += x[i] * window[i];
      return;
    }
    this.packInverse(re, im, inOffset);
    this.complex.inverseAccumulate(this.z, acc, window);
  }

  /**
   * inverseAccumulate() of a gain-weighted float32 spectrum: bin k is g_k × (re[k] + i·im[k]) (at
   * `inOffset`), g_k = gain[k] for k < gainBins and `gainAbove` beyond — a real mask applied to a
   * stored mixture spectrum on its way into the iSTFT. Each bin is the float64 product a caller
   * would have stored in re/im planes before calling inverseAccumulate(), so the result is
   * bit-identical to that, without writing and re-reading those planes. With gainAbove = 0, bins
   * >= gainBins are exact zeros (+0, as if zero-filled) and are never read: they need not exist.
   */
  inverseScaledAccumulate(
    gain: Float64Array,
    gainBins: number,
    gainAbove: number,
    re: Float32Array,
    im: Float32Array,
    inOffset: number,
    acc: Float64Array,
    window: Float64Array,
  ): void {
    const G = gainBins < 0 ? 0 : gainBins;
    const zeroAbove = gainAbove === 0;
    if (this.half === 0) {
      const r64 = this.oddRe();
      const i64 = this.oddIm();
      for (let k = 0; k < this.bins; k++) {
        if (k < G) {
          r64[k] = gain[k] * re[inOffset + k];
          i64[k] = gain[k] * im[inOffset + k];
        } else if (zeroAbove) {
          r64[k] = 0;
          i64[k] = 0;
        } else {
          r64[k] = gainAbove * re[inOffset + k];
          i64[k] = gainAbove * im[inOffset + k];
        }
      }
      this.inverseAccumulate(r64, i64, 0, acc, window);
      return;
    }
    const h = this.half;
    const z = this.z;
    const w = this.w;
    const scale = 1 / this.size;
    const x0 = G > 0 ? gain[0] * re[inOffset] : zeroAbove ? 0 : gainAbove * re[inOffset];
    const xh = h < G ? gain[h] * re[inOffset + h] : zeroAbove ? 0 : gainAbove * re[inOffset + h];
    z[0] = (x0 + xh) * scale;
    z[1] = (x0 - xh) * scale;
    const quarter = h >> 1;
    // Two copies of one loop so that the common case (zeros above) has no third branch per bin.
    if (zeroAbove) {
      for (let k = 1; k <= quarter; k++) {
        const j = h - k;
        let xkr = 0;
        let xki = 0;
        let xjr = 0;
        let xji = 0;
        if (k < G) {
          const g = gain[k];
          xkr = g * re[inOffset + k];
          xki = g * im[inOffset + k];
        }
        if (j < G) {
          const g = gain[j];
          xjr = g * re[inOffset + j];
          xji = g * im[inOffset + j];
        }
        // Same algebra as packInverse().
        const er = (xkr + xjr) * scale;
        const ei = (xki - xji) * scale;
        const dr = (xkr - xjr) * scale;
        const di = (xki + xji) * scale;
        const wr = w[2 * k];
        const wi = -w[2 * k + 1];
        const or = dr * wr - di * wi;
        const oi = dr * wi + di * wr;
        z[2 * k] = er - oi;
        z[2 * k + 1] = ei + or;
        z[2 * j] = er + oi;
        z[2 * j + 1] = or - ei;
      }
    } else {
      for (let k = 1; k <= quarter; k++) {
        const j = h - k;
        const gk = k < G ? gain[k] : gainAbove;
        const gj = j < G ? gain[j] : gainAbove;
        const xkr = gk * re[inOffset + k];
        const xki = gk * im[inOffset + k];
        const xjr = gj * re[inOffset + j];
        const xji = gj * im[inOffset + j];
        const er = (xkr + xjr) * scale;
        const ei = (xki - xji) * scale;
        const dr = (xkr - xjr) * scale;
        const di = (xki + xji) * scale;
        const wr = w[2 * k];
        const wi = -w[2 * k + 1];
        const or = dr * wr - di * wi;
        const oi = dr * wi + di * wr;
        z[2 * k] = er - oi;
        z[2 * k + 1] = ei + or;
        z[2 * j] = er + oi;
        z[2 * j + 1] = or - ei;
      }
    }
    this.complex.inverseAccumulate(z, acc, window);
  }

  /** Odd sizes: float64 scratch (allocated on first use). */
  private oddRe(): Float64Array {
    return (this.oddRe64 ??= new Float64Array(this.bins));
  }

  private oddIm(): Float64Array {
    return (this.oddIm64 ??= new Float64Array(this.bins));
  }

  private oddScratch(): Float64Array {
    return (this.oddFrame ??= new Float64Array(this.size));
  }

  private forwardOdd(
    input: Float64Array,
    inOffset: number,
    re: Float64Array,
    im: Float64Array,
    outOffset: number,
  ): void {
    const n = this.size;
    const z = this.z;
    for (let j = 0; j < n; j++) {
      z[2 * j] = input[inOffset + j];
      z[2 * j + 1] = 0;
    }
    this.complex.forward(z, this.z2);
    for (let k = 0; k < this.bins; k++) {
      re[outOffset + k] = this.z2[2 * k];
      im[outOffset + k] = k === 0 ? 0 : this.z2[2 * k + 1];
    }
  }

  private inverseOdd(
    re: Float64Array,
    im: Float64Array,
    inOffset: number,
    out: Float64Array,
    outOffset: number,
  ): void {
    const n = this.size;
    const z = this.z;
    z[0] = re[inOffset];
    z[1] = 0;
    for (let k = 1; k < this.bins; k++) {
      const r = re[inOffset + k];
      const i = im[inOffset + k];
      z[2 * k] = r;
      z[2 * k + 1] = i;
      z[2 * (n - k)] = r;
      z[2 * (n - k) + 1] = -i;
    }
    this.complex.inverse(z, this.z2);
    const scale = 1 / n;
    for (let j = 0; j < n; j++) out[outOffset + j] = this.z2[2 * j] * scale;
  }
}
