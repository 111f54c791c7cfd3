/**
 * Spleeter's ratio masks (MODEL-FORMATS A6) applied to one frame of the mixture spectrum:
 *   mask_i = (y_i² + ε/n) / (Σ_j y_j² + ε),  ε = 1e-10, n = number of instruments,
 * bins >= F get mask 0 ('model' bandwidth) or, with 'full' bandwidth, the instrument's average
 * mask over the FULL_BANDWIDTH_REFERENCE_BINS highest bins below F (per channel and frame), so the
 * masks of all instruments still sum to 1 there.
 */
import { SPLEETER_BINS, SPLEETER_T } from './types';

export const RATIO_MASK_EPSILON = 1e-10;

/**
 * Bins just below F whose average mask is extended to bins >= F with bandwidth 'full'.
 * 64 bins = 689 Hz at 44.1 kHz / 4096 (10.3–11.0 kHz for F = 1024, 15.8–16.5 kHz for F = 1536):
 * wide enough to smooth single-bin noise, narrow enough to reflect the top of the band.
 */
export const FULL_BANDWIDTH_REFERENCE_BINS = 64;

export class RatioMasker {
  private readonly n: number;
  private readonly epsPerInstrument: number;
  private readonly invDenominator: Float64Array;
  private readonly referenceBins: number;

  /**
   * @param F bins the model sees
   * @param instrumentCount n (all instruments take part in the denominator)
   * @param fullBandwidth extend masks above F instead of zeroing them
   */
  constructor(
    private readonly F: number,
    instrumentCount: number,
    private readonly fullBandwidth: boolean,
  ) {
    this.n = instrumentCount;
    this.epsPerInstrument = RATIO_MASK_EPSILON / instrumentCount;
    this.invDenominator = new Float64Array(F);
    this.referenceBins = Math.min(FULL_BANDWIDTH_REFERENCE_BINS, F);
  }

  /**
   * Loads 1 / (Σ_j y_j² + ε) for frame `t` (within the batch), channel `c`.
   * `outputs` are CSTF [2, segments, 512, F].
   */
  prepare(outputs: readonly Float32Array[], segments: number, t: number, c: number): void {
    const F = this.F;
    const base = c * segments * SPLEETER_T * F + t * F;
    const inv = this.invDenominator;
    const y0 = outputs[0];
    for (let f = 0; f < F; f++) {
      const v = y0[base + f];
      inv[f] = v * v;
    }
    for (let j = 1; j < this.n; j++) {
      const y = outputs[j];
      for (let f = 0; f < F; f++) {
        const v = y[base + f];
        inv[f] += v * v;
      }
    }
    for (let f = 0; f < F; f++) inv[f] = 1 / (inv[f] + RATIO_MASK_EPSILON);
  }

  /**
   * Writes mask_i × X for the frame/channel last `prepare`d into re/im (2049 bins, float64).
   * `specOffset` is the frame's offset in the mixture planes.
   */
  apply(
    output: Float32Array,
    segments: number,
    t: number,
    c: number,
    specRe: Float32Array,
    specIm: Float32Array,
    specOffset: number,
    re: Float64Array,
    im: Float64Array,
  ): void {
    const F = this.F;
    const base = c * segments * SPLEETER_T * F + t * F;
    const inv = this.invDenominator;
    const e = this.epsPerInstrument;
    const refStart = F - this.referenceBins;
    for (let f = 0; f < refStart; f++) {
      const y = output[base + f];
      const m = (y * y + e) * inv[f];
      re[f] = m * specRe[specOffset + f];
      im[f] = m * specIm[specOffset + f];
    }
    let sum = 0;
    for (let f = refStart; f < F; f++) {
      const y = output[base + f];
      const m = (y * y + e) * inv[f];
      sum += m;
      re[f] = m * specRe[specOffset + f];
      im[f] = m * specIm[specOffset + f];
    }
    if (this.fullBandwidth) {
      const m = sum / this.referenceBins;
      for (let f = F; f < SPLEETER_BINS; f++) {
        re[f] = m * specRe[specOffset + f];
        im[f] = m * specIm[specOffset + f];
      }
    } else {
      re.fill(0, F);
      im.fill(0, F);
    }
  }
}
