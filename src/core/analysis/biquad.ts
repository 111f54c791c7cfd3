/**
 * Second-order IIR sections designed for any sample rate from their analog prototypes by the
 * bilinear transform (frequency pre-warped, so the corner lands where the prototype puts it), and a
 * streaming multichannel cascade that runs them in float64.
 *
 * Designs here: BS.1770's K-weighting (the high-shelf "pre-filter" and the RLB high-pass, from the
 * analog parameters libebur128 derives them from: at 48 kHz they give the BS.1770-4 table
 * coefficients to ~1e-8), Butterworth high-pass filters of any even or odd order (cascades of
 * biquads with the Butterworth pole angles, plus one first-order section for odd orders) and a
 * first-order DC-blocking high-pass.
 *
 * The state lives per channel in transposed direct form II: two delay values per section, which is
 * well conditioned in float64 even for a 38 Hz corner at 192 kHz (poles at 0.9988).
 */

const { tan, PI, sin, cos, pow, sqrt, log10 } = Math;

/** y[n] = b0·x[n] + b1·x[n−1] + b2·x[n−2] − a1·y[n−1] − a2·y[n−2] (a0 normalised to 1). */
export interface BiquadCoefficients {
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly a1: number;
  readonly a2: number;
}

function checkRate(sampleRate: number): void {
  if (!Number.isFinite(sampleRate) || sampleRate <= 0)
    throw new RangeError(`sampleRate must be a positive number, got ${sampleRate}`);
}

function checkCorner(frequency: number, sampleRate: number): void {
  checkRate(sampleRate);
  if (!Number.isFinite(frequency) || frequency <= 0 || frequency >= sampleRate / 2)
    throw new RangeError(`corner frequency must be in (0, ${sampleRate / 2}) Hz, got ${frequency}`);
}

/**
 * BS.1770 stage 1, the high-shelf that models the head: +4 dB above ~1.7 kHz. Analog parameters
 * (f0, gain, Q and the shelf's mid-gain exponent) are the ones that reproduce the standard's
 * 48 kHz coefficients exactly; the bilinear transform then gives the filter for any rate.
 */
export function kWeightingShelf(sampleRate: number): BiquadCoefficients {
  checkRate(sampleRate);
  const f0 = 1681.974450955533;
  const gainDb = 3.999843853973347;
  const q = 0.7071752369554196;
  const k = tan((PI * f0) / sampleRate);
  const vh = pow(10, gainDb / 20);
  const vb = pow(vh, 0.4996667741545416);
  const a0 = 1 + k / q + k * k;
  return {
    b0: (vh + (vb * k) / q + k * k) / a0,
    b1: (2 * (k * k - vh)) / a0,
    b2: (vh - (vb * k) / q + k * k) / a0,
    a1: (2 * (k * k - 1)) / a0,
    a2: (1 - k / q + k * k) / a0,
  };
}

/**
 * BS.1770 stage 2, the "revised low-frequency B-curve" (RLB) high-pass at ~38 Hz. The standard
 * gives its numerator as (1, −2, 1) without normalisation, which leaves a passband gain of
 * +0.043 dB at 48 kHz. Kept as is at 48 kHz, and scaled at other rates so the passband gain stays
 * that of the 48 kHz filter: otherwise (as in libebur128) the same signal reads up to 0.03 LU lower
 * at 192 kHz than at 44.1 kHz.
 */
export function kWeightingHighPass(sampleRate: number): BiquadCoefficients {
  checkRate(sampleRate);
  const f0 = 38.13547087602444;
  const q = 0.5003270373238773;
  const a0At = (rate: number): number => {
    const k = tan((PI * f0) / rate);
    return 1 + k / q + k * k;
  };
  const k = tan((PI * f0) / sampleRate);
  const a0 = a0At(sampleRate);
  // Passband gain (at z = −1) of the unnormalised numerator is a0; make it a0 at 48 kHz.
  const g = a0At(48000) / a0;
  return { b0: g, b1: -2 * g, b2: g, a1: (2 * (k * k - 1)) / a0, a2: (1 - k / q + k * k) / a0 };
}

/** Both K-weighting stages, in the order BS.1770 applies them. */
export function kWeighting(sampleRate: number): BiquadCoefficients[] {
  return [kWeightingShelf(sampleRate), kWeightingHighPass(sampleRate)];
}

/** Second-order high-pass with quality factor q (bilinear, pre-warped). */
export function highPassBiquad(frequency: number, q: number, sampleRate: number): BiquadCoefficients {
  checkCorner(frequency, sampleRate);
  const k = tan((PI * frequency) / sampleRate);
  const a0 = 1 + k / q + k * k;
  const b0 = 1 / a0;
  return { b0, b1: -2 * b0, b2: b0, a1: (2 * (k * k - 1)) / a0, a2: (1 - k / q + k * k) / a0 };
}

/** First-order high-pass (one real pole) as a biquad with b2 = a2 = 0. */
export function firstOrderHighPass(frequency: number, sampleRate: number): BiquadCoefficients {
  checkCorner(frequency, sampleRate);
  const k = tan((PI * frequency) / sampleRate);
  const a0 = 1 + k;
  return { b0: 1 / a0, b1: -1 / a0, b2: 0, a1: (k - 1) / a0, a2: 0 };
}

/**
 * Butterworth high-pass of `order` (1..16): ⌊order/2⌋ biquads with Q = 1 / (2 sin θ_k) for the
 * pole angles θ_k = (2k+1)π / (2·order), plus a first-order section when the order is odd.
 * |H(f)|² = 1 / (1 + (tan(π fc/fs) / tan(π f/fs))^(2·order)) exactly (bilinear mapping).
 */
export function butterworthHighPass(
  order: number,
  frequency: number,
  sampleRate: number,
): BiquadCoefficients[] {
  if (!Number.isInteger(order) || order < 1 || order > 16)
    throw new RangeError(`Butterworth order must be an integer in 1..16, got ${order}`);
  checkCorner(frequency, sampleRate);
  const sections: BiquadCoefficients[] = [];
  for (let k = 0; k < order >> 1; k++) {
    const theta = ((2 * k + 1) * PI) / (2 * order);
    sections.push(highPassBiquad(frequency, 1 / (2 * sin(theta)), sampleRate));
  }
  if (order & 1) sections.push(firstOrderHighPass(frequency, sampleRate));
  return sections;
}

/** The ideal magnitude (dB) of butterworthHighPass(order, fc, fs) at f: for tests and docs. */
export function butterworthHighPassGainDb(order: number, fc: number, f: number, fs: number): number {
  const ratio = tan((PI * fc) / fs) / tan((PI * f) / fs);
  return -10 * log10(1 + pow(ratio, 2 * order));
}

/** |H(e^{jω})| of a cascade at frequency f (linear). */
export function cascadeMagnitude(
  sections: readonly BiquadCoefficients[],
  f: number,
  sampleRate: number,
): number {
  const w = (2 * PI * f) / sampleRate;
  const c1 = cos(w);
  const s1 = sin(w);
  const c2 = cos(2 * w);
  const s2 = sin(2 * w);
  let mag = 1;
  for (const s of sections) {
    const nr = s.b0 + s.b1 * c1 + s.b2 * c2;
    const ni = -(s.b1 * s1 + s.b2 * s2);
    const dr = 1 + s.a1 * c1 + s.a2 * c2;
    const di = -(s.a1 * s1 + s.a2 * s2);
    mag *= sqrt((nr * nr + ni * ni) / (dr * dr + di * di));
  }
  return mag;
}

/**
 * A cascade of biquads over `channels` channels, streaming: the filter state carries over from one
 * call to the next, so any chunking gives the same output. Samples are read and written through
 * (array, start, stride) so the same loop serves interleaved and planar buffers, in place or not.
 */
export class BiquadCascade {
  readonly channels: number;
  readonly sections: readonly BiquadCoefficients[];
  /** Per channel, two delay values per section (transposed direct form II). */
  private readonly state: Float64Array[];
  private readonly coef: Float64Array;

  constructor(sections: readonly BiquadCoefficients[], channels: number) {
    if (!Number.isInteger(channels) || channels < 1)
      throw new RangeError(`channels must be a positive integer, got ${channels}`);
    if (sections.length === 0) throw new RangeError('a cascade needs at least one section');
    this.channels = channels;
    this.sections = sections.map((s) => Object.freeze({ ...s }));
    this.coef = new Float64Array(sections.length * 5);
    sections.forEach((s, i) => this.coef.set([s.b0, s.b1, s.b2, s.a1, s.a2], i * 5));
    this.state = Array.from({ length: channels }, () => new Float64Array(sections.length * 2));
  }

  reset(): void {
    for (const s of this.state) s.fill(0);
  }

  /**
   * Filters `count` samples of channel `channel`: input src[srcStart + i·srcStride], output
   * dst[dstStart + i·dstStride] (src and dst may be the same array).
   */
  processChannel(
    channel: number,
    src: Float32Array | Float64Array,
    srcStart: number,
    srcStride: number,
    dst: Float32Array | Float64Array,
    dstStart: number,
    dstStride: number,
    count: number,
  ): void {
    const st = this.state[channel];
    const c = this.coef;
    const n = this.sections.length;
    if (n === 2) {
      // The K-weighting case, unrolled: the state stays in locals for the whole run.
      const b00 = c[0],
        b01 = c[1],
        b02 = c[2],
        a01 = c[3],
        a02 = c[4];
      const b10 = c[5],
        b11 = c[6],
        b12 = c[7],
        a11 = c[8],
        a12 = c[9];
      let s00 = st[0],
        s01 = st[1],
        s10 = st[2],
        s11 = st[3];
      for (let i = 0, si = srcStart, di = dstStart; i < count; i++, si += srcStride, di += dstStride) {
        const x = src[si];
        const y0 = b00 * x + s00;
        s00 = b01 * x - a01 * y0 + s01;
        s01 = b02 * x - a02 * y0;
        const y1 = b10 * y0 + s10;
        s10 = b11 * y0 - a11 * y1 + s11;
        s11 = b12 * y0 - a12 * y1;
        dst[di] = y1;
      }
      st[0] = s00;
      st[1] = s01;
      st[2] = s10;
      st[3] = s11;
      return;
    }
    for (let i = 0, si = srcStart, di = dstStart; i < count; i++, si += srcStride, di += dstStride) {
      let x = src[si];
      for (let k = 0, o = 0; k < n; k++, o += 5) {
        const y = c[o] * x + st[2 * k];
        st[2 * k] = c[o + 1] * x - c[o + 3] * y + st[2 * k + 1];
        st[2 * k + 1] = c[o + 2] * x - c[o + 4] * y;
        x = y;
      }
      dst[di] = x;
    }
  }

  /**
   * sumSquares() of channels 0 and 1 at once (two sections only, see `canPairSumSquares`), with
   * the results in sums[0] and sums[1] (added to their values). Each channel is the same
   * computation in the same order as sumSquares(); interleaving the two independent recurrences in
   * one loop lets the CPU overlap them, which roughly halves the time of the serial filter chain.
   *
   * The same loop also adds the unfiltered squares to plain[0], plain[1] and raises peaks[0],
   * peaks[1] to each channel's largest |x|: the filter chain is bound by its recurrences' latency,
   * so these independent sums cost almost nothing here, and the silence detector and the sample
   * peak need no pass of their own (see LoudnessMeter.feedWithSilence).
   */
  sumSquaresPair(
    src0: Float32Array | Float64Array,
    start0: number,
    src1: Float32Array | Float64Array,
    start1: number,
    stride: number,
    count: number,
    sums: Float64Array,
    plain: Float64Array,
    peaks: Float64Array,
  ): void {
    const c = this.coef;
    const st0 = this.state[0];
    const st1 = this.state[1];
    const b00 = c[0],
      b01 = c[1],
      b02 = c[2],
      a01 = c[3],
      a02 = c[4];
    const b10 = c[5],
      b11 = c[6],
      b12 = c[7],
      a11 = c[8],
      a12 = c[9];
    let p00 = st0[0],
      p01 = st0[1],
      p10 = st0[2],
      p11 = st0[3];
    let q00 = st1[0],
      q01 = st1[1],
      q10 = st1[2],
      q11 = st1[3];
    let sum0 = sums[0];
    let sum1 = sums[1];
    let plain0 = plain[0];
    let plain1 = plain[1];
    let peak0 = peaks[0];
    let peak1 = peaks[1];
    for (let i = 0, i0 = start0, i1 = start1; i < count; i++, i0 += stride, i1 += stride) {
      const x = src0[i0];
      const u = src1[i1];
      plain0 += x * x;
      plain1 += u * u;
      const m = x < 0 ? -x : x;
      const w = u < 0 ? -u : u;
      if (m > peak0) peak0 = m;
      if (w > peak1) peak1 = w;
      const y0 = b00 * x + p00;
      const v0 = b00 * u + q00;
      p00 = b01 * x - a01 * y0 + p01;
      q00 = b01 * u - a01 * v0 + q01;
      p01 = b02 * x - a02 * y0;
      q01 = b02 * u - a02 * v0;
      const y1 = b10 * y0 + p10;
      const v1 = b10 * v0 + q10;
      p10 = b11 * y0 - a11 * y1 + p11;
      q10 = b11 * v0 - a11 * v1 + q11;
      p11 = b12 * y0 - a12 * y1;
      q11 = b12 * v0 - a12 * v1;
      sum0 += y1 * y1;
      sum1 += v1 * v1;
    }
    st0[0] = p00;
    st0[1] = p01;
    st0[2] = p10;
    st0[3] = p11;
    st1[0] = q00;
    st1[1] = q01;
    st1[2] = q10;
    st1[3] = q11;
    sums[0] = sum0;
    sums[1] = sum1;
    plain[0] = plain0;
    plain[1] = plain1;
    peaks[0] = peak0;
    peaks[1] = peak1;
  }

  /** True when sumSquaresPair() applies: two sections and at least two channels. */
  get canPairSumSquares(): boolean {
    return this.sections.length === 2 && this.state.length >= 2;
  }

  /**
   * Filters channel `channel` and returns `initial` + Σ y² over the run (added in sample order,
   * so a sum carried across chunks is the same whatever the chunking) without storing y: what the
   * loudness meter needs per 100 ms sub-block.
   */
  sumSquares(
    channel: number,
    src: Float32Array | Float64Array,
    srcStart: number,
    srcStride: number,
    count: number,
    initial = 0,
  ): number {
    const st = this.state[channel];
    const c = this.coef;
    if (this.sections.length !== 2) {
      const tmp = new Float64Array(count);
      this.processChannel(channel, src, srcStart, srcStride, tmp, 0, 1, count);
      let sum = initial;
      for (let i = 0; i < count; i++) sum += tmp[i] * tmp[i];
      return sum;
    }
    const b00 = c[0],
      b01 = c[1],
      b02 = c[2],
      a01 = c[3],
      a02 = c[4];
    const b10 = c[5],
      b11 = c[6],
      b12 = c[7],
      a11 = c[8],
      a12 = c[9];
    let s00 = st[0],
      s01 = st[1],
      s10 = st[2],
      s11 = st[3];
    let sum = initial;
    for (let i = 0, si = srcStart; i < count; i++, si += srcStride) {
      const x = src[si];
      const y0 = b00 * x + s00;
      s00 = b01 * x - a01 * y0 + s01;
      s01 = b02 * x - a02 * y0;
      const y1 = b10 * y0 + s10;
      s10 = b11 * y0 - a11 * y1 + s11;
      s11 = b12 * y0 - a12 * y1;
      sum += y1 * y1;
    }
    st[0] = s00;
    st[1] = s01;
    st[2] = s10;
    st[3] = s11;
    return sum;
  }

  /** Filters an interleaved chunk of all channels in place. */
  processInterleaved(chunk: Float32Array): void {
    const ch = this.channels;
    if (chunk.length % ch !== 0)
      throw new RangeError(`chunk length ${chunk.length} is not a multiple of ${ch} channels`);
    const frames = chunk.length / ch;
    for (let c = 0; c < ch; c++) this.processChannel(c, chunk, c, ch, chunk, c, ch, frames);
  }
}
