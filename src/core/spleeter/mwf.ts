/**
 * Multichannel Wiener filter, Spleeter's `--mwf` (MODEL-FORMATS A8 = norbert.wiener with
 * iterations=1, use_softmask=True), reorganised for streaming:
 *
 *   v_j (magnitudes, zero above F) → y_j = v_j / (eps + Σ v) · x           (soft mask, per channel)
 *   scale = max(1, max|x| / 10);  y_j /= scale, x /= scale
 *   v_j = mean_c |y_j|²;  R_j = Σ_t y_j y_jᴴ / (eps + Σ_t v_j)              (2×2 per bin)
 *   Cxx = Σ_j v_j R_j + √eps·I;  y_j = v_j R_j Cxx⁻¹ x · scale
 *
 * R_j sums over ALL frames and `scale` needs the global max, so a streaming separation makes three
 * passes over the source: (1) max|x| (`observe`), (2) model + `accumulate` the R_j sums,
 * (3) model again + `filterFrame`. Only per-bin statistics (5 floats per bin and instrument) are
 * kept between passes. Since y_j = v_j R_j Cxx⁻¹ (x/scale) · scale, pass 3 applies the gain to the
 * unscaled x directly.
 *
 * With 'full' bandwidth the soft mask of bins >= F is, per instrument/channel/frame, the average
 * soft mask of the FULL_BANDWIDTH_REFERENCE_BINS highest bins below F (see ratio-mask.ts); the EM
 * step then runs on all 2049 bins. With 'model' bandwidth, bins >= F stay exactly 0 as in Spleeter.
 */
import { FULL_BANDWIDTH_REFERENCE_BINS } from './ratio-mask';
import { SegmentBatch, STEREO } from './segment-pipeline';
import { SPLEETER_BINS, SPLEETER_T } from './types';

/** float32 machine epsilon: norbert's default eps for complex64 input. */
export const MWF_EPSILON = 1.1920929e-7;
const SQRT_EPS = Math.sqrt(MWF_EPSILON);

/** max |x| over both channels and the stored bins (all of them in the scan pass) of the batch's real frames. */
export function maxMagnitude(batch: SegmentBatch): number {
  let max2 = 0;
  const bins = batch.storedBins;
  for (let c = 0; c < STEREO; c++) {
    const re = batch.specRe[c];
    const im = batch.specIm[c];
    for (let t = 0; t < batch.frames; t++) {
      const end = t * SPLEETER_BINS + bins;
      for (let i = t * SPLEETER_BINS; i < end; i++) {
        const m = re[i] * re[i] + im[i] * im[i];
        if (m > max2) max2 = m;
      }
    }
  }
  return Math.sqrt(max2);
}

/** The filter's statistics (see MultichannelWienerFilter.state). */
export interface MwfState {
  readonly maxAbs: number;
  readonly covariance: readonly Float64Array[];
  readonly weight: readonly Float64Array[];
  readonly finalized: boolean;
}

export class MultichannelWienerFilter {
  private readonly n: number;
  /** Bins the filter works on: F ('model' bandwidth) or 2049 ('full'). */
  private readonly activeBins: number;
  private readonly referenceBins: number;
  private maxAbs = 0;
  private scale = 1;
  /** Per instrument, per bin: Σ|y0|², Σ|y1|², Re Σ y0 ȳ1, Im Σ y0 ȳ1 (then divided by the weight). */
  private readonly covariance: readonly Float64Array[];
  /** Per instrument, per bin: eps + Σ_t v_j. */
  private readonly weight: readonly Float64Array[];
  private finalized = false;
  // Per-frame scratch (no allocation in the frame loops).
  private readonly ratioAvg: Float64Array;
  private readonly y: Float64Array;
  private readonly v: Float64Array;

  /**
   * `allocate` makes the per-bin statistics arrays (SharedArrayBuffer-backed ones let DSP threads
   * work on ranges of bins, see dsp-pool.ts); `state` adopts another filter's (same sizes).
   */
  constructor(
    private readonly F: number,
    instrumentCount: number,
    private readonly fullBandwidth: boolean,
    allocate: (length: number) => Float64Array = (length) => new Float64Array(length),
    state?: MwfState,
  ) {
    this.n = instrumentCount;
    this.activeBins = fullBandwidth ? SPLEETER_BINS : F;
    this.referenceBins = Math.min(FULL_BANDWIDTH_REFERENCE_BINS, F);
    this.covariance = state
      ? [...state.covariance]
      : Array.from({ length: instrumentCount }, () => allocate(4 * SPLEETER_BINS));
    this.weight = state
      ? [...state.weight]
      : Array.from({ length: instrumentCount }, () => allocate(SPLEETER_BINS).fill(MWF_EPSILON));
    if (state) {
      this.maxAbs = state.maxAbs;
      this.scale = this.scaleFactor;
      this.finalized = state.finalized;
    }
    this.ratioAvg = new Float64Array(STEREO * instrumentCount);
    this.y = new Float64Array(4 * instrumentCount);
    this.v = new Float64Array(instrumentCount);
  }

  /** Pass 1: track max |x|. */
  observe(batch: SegmentBatch): void {
    this.maxAbs = Math.max(this.maxAbs, maxMagnitude(batch));
  }

  /** Bins the filter works on: F ('model' bandwidth) or 2049 ('full'). */
  get bins(): number {
    return this.activeBins;
  }

  /** Scaling factor max(1, max|x|/10) derived from pass 1. */
  get scaleFactor(): number {
    return Math.max(1, this.maxAbs / 10);
  }

  /** What a filter on another thread needs to continue from here (arrays shared, not copied). */
  state(): MwfState {
    return {
      maxAbs: this.maxAbs,
      covariance: this.covariance,
      weight: this.weight,
      finalized: this.finalized,
    };
  }

  /** Pass 2: add every real frame of the batch to the R_j sums. */
  accumulate(batch: SegmentBatch): void {
    this.accumulateBins(batch, 0, this.activeBins);
  }

  /**
   * accumulate() for bins [from, to) only: each bin's sums are its own (frames added in order), so
   * ranges of bins can run on different threads and give the same sums.
   */
  accumulateBins(batch: SegmentBatch, from: number, to: number): void {
    this.scale = this.scaleFactor;
    const invScale = 1 / this.scale;
    const n = this.n;
    const y = this.y;
    for (let t = 0; t < batch.frames; t++) {
      this.prepareFrame(batch, t);
      const spec = t * SPLEETER_BINS;
      for (let f = from; f < to; f++) {
        this.softMask(batch, t, f, spec + f, invScale);
        for (let j = 0; j < n; j++) {
          const y0r = y[4 * j];
          const y0i = y[4 * j + 1];
          const y1r = y[4 * j + 2];
          const y1i = y[4 * j + 3];
          const p0 = y0r * y0r + y0i * y0i;
          const p1 = y1r * y1r + y1i * y1i;
          const cov = this.covariance[j];
          cov[4 * f] += p0;
          cov[4 * f + 1] += p1;
          cov[4 * f + 2] += y0r * y1r + y0i * y1i;
          cov[4 * f + 3] += y0i * y1r - y0r * y1i;
          this.weight[j][f] += 0.5 * (p0 + p1);
        }
      }
    }
  }

  /** After pass 2: R_j = Σ y yᴴ / (eps + Σ v_j). */
  finalizeCovariance(): void {
    if (this.finalized) return;
    for (let j = 0; j < this.n; j++) {
      const cov = this.covariance[j];
      const w = this.weight[j];
      for (let f = 0; f < SPLEETER_BINS; f++) {
        const inv = 1 / w[f];
        cov[4 * f] *= inv;
        cov[4 * f + 1] *= inv;
        cov[4 * f + 2] *= inv;
        cov[4 * f + 3] *= inv;
      }
    }
    this.finalized = true;
  }

  /**
   * Pass 3: Wiener-filtered spectra of frame `t` for the requested instruments.
   * out{Re,Im}[k][c] receive instrument `instruments[k]`, channel c (2049 bins, float64).
   */
  filterFrame(
    batch: SegmentBatch,
    t: number,
    instruments: readonly number[],
    outRe: readonly Float64Array[][],
    outIm: readonly Float64Array[][],
  ): void {
    if (!this.finalized) throw new Error('finalizeCovariance() must run before filterFrame()');
    const invScale = 1 / this.scale;
    const n = this.n;
    const y = this.y;
    const v = this.v;
    const spec = t * SPLEETER_BINS;
    const x0re = batch.specRe[0];
    const x0im = batch.specIm[0];
    const x1re = batch.specRe[1];
    const x1im = batch.specIm[1];
    this.prepareFrame(batch, t);
    for (let f = 0; f < this.activeBins; f++) {
      this.softMask(batch, t, f, spec + f, invScale);
      let A = SQRT_EPS;
      let D = SQRT_EPS;
      let Br = 0;
      let Bi = 0;
      for (let j = 0; j < n; j++) {
        const y0r = y[4 * j];
        const y0i = y[4 * j + 1];
        const y1r = y[4 * j + 2];
        const y1i = y[4 * j + 3];
        const vj = 0.5 * (y0r * y0r + y0i * y0i + y1r * y1r + y1i * y1i);
        v[j] = vj;
        const cov = this.covariance[j];
        A += vj * cov[4 * f];
        D += vj * cov[4 * f + 1];
        Br += vj * cov[4 * f + 2];
        Bi += vj * cov[4 * f + 3];
      }
      // Cxx = [[A, B], [B̄, D]] (Hermitian) → Cxx⁻¹ = [[D, -B], [-B̄, A]] / (AD - |B|²)
      const invDet = 1 / (A * D - (Br * Br + Bi * Bi));
      const i00 = D * invDet;
      const i11 = A * invDet;
      const i01r = -Br * invDet;
      const i01i = -Bi * invDet;
      const i10r = i01r;
      const i10i = -i01i;
      const x0r = x0re[spec + f];
      const x0i = x0im[spec + f];
      const x1r = x1re[spec + f];
      const x1i = x1im[spec + f];
      for (let k = 0; k < instruments.length; k++) {
        const j = instruments[k];
        const cov = this.covariance[j];
        const vj = v[j];
        const a = cov[4 * f];
        const d = cov[4 * f + 1];
        const br = cov[4 * f + 2];
        const bi = cov[4 * f + 3];
        // G = v_j · R_j · Cxx⁻¹ with R_j = [[a, b], [b̄, d]]
        const g00r = vj * (a * i00 + br * i10r - bi * i10i);
        const g00i = vj * (br * i10i + bi * i10r);
        const g01r = vj * (a * i01r + br * i11);
        const g01i = vj * (a * i01i + bi * i11);
        const g10r = vj * (br * i00 + d * i10r);
        const g10i = vj * (-bi * i00 + d * i10i);
        const g11r = vj * (br * i01r + bi * i01i + d * i11);
        const g11i = vj * (br * i01i - bi * i01r);
        const re = outRe[k];
        const im = outIm[k];
        re[0][f] = g00r * x0r - g00i * x0i + g01r * x1r - g01i * x1i;
        im[0][f] = g00r * x0i + g00i * x0r + g01r * x1i + g01i * x1r;
        re[1][f] = g10r * x0r - g10i * x0i + g11r * x1r - g11i * x1i;
        im[1][f] = g10r * x0i + g10i * x0r + g11r * x1i + g11i * x1r;
      }
    }
    if (this.activeBins < SPLEETER_BINS) {
      for (let k = 0; k < instruments.length; k++) {
        for (let c = 0; c < STEREO; c++) {
          outRe[k][c].fill(0, this.activeBins);
          outIm[k][c].fill(0, this.activeBins);
        }
      }
    }
  }

  /** Full bandwidth: average soft mask of the reference bins per (channel, instrument) for frame t. */
  private prepareFrame(batch: SegmentBatch, t: number): void {
    if (!this.fullBandwidth) return;
    const outputs = batch.outputs as readonly Float32Array[];
    const F = this.F;
    const n = this.n;
    const avg = this.ratioAvg;
    avg.fill(0);
    for (let c = 0; c < STEREO; c++) {
      const base = c * batch.segments * SPLEETER_T * F + t * F;
      for (let f = F - this.referenceBins; f < F; f++) {
        let total = MWF_EPSILON;
        for (let j = 0; j < n; j++) total += outputs[j][base + f];
        for (let j = 0; j < n; j++) avg[c * n + j] += outputs[j][base + f] / total;
      }
      for (let j = 0; j < n; j++) avg[c * n + j] /= this.referenceBins;
    }
  }

  /** y_j (both channels, scaled by 1/scale) for bin f of frame t into this.y. */
  private softMask(batch: SegmentBatch, t: number, f: number, specIndex: number, invScale: number): void {
    const outputs = batch.outputs as readonly Float32Array[];
    const F = this.F;
    const n = this.n;
    const y = this.y;
    const x0r = batch.specRe[0][specIndex] * invScale;
    const x0i = batch.specIm[0][specIndex] * invScale;
    const x1r = batch.specRe[1][specIndex] * invScale;
    const x1i = batch.specIm[1][specIndex] * invScale;
    if (f < F) {
      const b0 = t * F + f;
      const b1 = batch.segments * SPLEETER_T * F + b0;
      let s0 = MWF_EPSILON;
      let s1 = MWF_EPSILON;
      for (let j = 0; j < n; j++) {
        s0 += outputs[j][b0];
        s1 += outputs[j][b1];
      }
      for (let j = 0; j < n; j++) {
        const r0 = outputs[j][b0] / s0;
        const r1 = outputs[j][b1] / s1;
        y[4 * j] = r0 * x0r;
        y[4 * j + 1] = r0 * x0i;
        y[4 * j + 2] = r1 * x1r;
        y[4 * j + 3] = r1 * x1i;
      }
    } else {
      const avg = this.ratioAvg;
      for (let j = 0; j < n; j++) {
        const r0 = avg[j];
        const r1 = avg[n + j];
        y[4 * j] = r0 * x0r;
        y[4 * j + 1] = r0 * x0i;
        y[4 * j + 2] = r1 * x1r;
        y[4 * j + 3] = r1 * x1i;
      }
    }
  }
}
