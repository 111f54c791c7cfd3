/**
 * Spleeter's ratio masks (MODEL-FORMATS A6) applied to one frame of the mixture spectrum:
 *   mask_i = (y_i² + ε/n) / (Σ_j y_j² + ε),  ε = 1e-10, n = number of instruments,
 * bins >= F get mask 0 ('model' bandwidth) or, with 'full' bandwidth, the instrument's average
 * mask over the FULL_BANDWIDTH_REFERENCE_BINS highest bins below F (per channel and frame), so the
 * masks of all instruments still sum to 1 there.
 */
import { SPLEETER_T } from './types';

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
    const n = this.n;
    const base = c * segments * SPLEETER_T * F + t * F;
    const inv = this.invDenominator;
    const y0 = outputs[0];
    // Σ_j y_j² accumulated in instrument order, then + ε, then the reciprocal; the first and last
    // instruments' loops also do the initialisation and the reciprocal (one pass for 2 stems).
    if (n === 1) {
      for (let f = 0; f < F; f++) {
        const v = y0[base + f];
        inv[f] = 1 / (v * v + RATIO_MASK_EPSILON);
      }
      return;
    }
    const last = outputs[n - 1];
    if (n === 2) {
      for (let f = 0; f < F; f++) {
        const a = y0[base + f];
        const b = last[base + f];
        inv[f] = 1 / (a * a + b * b + RATIO_MASK_EPSILON);
      }
      return;
    }
    for (let f = 0; f < F; f++) {
      const v = y0[base + f];
      inv[f] = v * v;
    }
    for (let j = 1; j < n - 1; j++) {
      const y = outputs[j];
      for (let f = 0; f < F; f++) {
        const v = y[base + f];
        inv[f] += v * v;
      }
    }
    for (let f = 0; f < F; f++) {
      const v = last[base + f];
      inv[f] = 1 / (inv[f] + v * v + RATIO_MASK_EPSILON);
    }
  }

  /**
   * Writes mask_i of the frame/channel last `prepare`d for bins < F into `gain` (F values) and
   * returns the mask of bins >= F: 0 ('model' bandwidth) or the average over the reference bins
   * ('full'). The synthesizer applies it to the mixture (OverlapAddSynthesizer.addScaledSpectrum),
   * so no masked spectrum is materialised.
   */
  mask(output: Float32Array, segments: number, t: number, c: number, gain: Float64Array): number {
    const F = this.F;
    const base = c * segments * SPLEETER_T * F + t * F;
    const inv = this.invDenominator;
    const e = this.epsPerInstrument;
    const refStart = F - this.referenceBins;
    for (let f = 0; f < refStart; f++) {
      const y = output[base + f];
      gain[f] = (y * y + e) * inv[f];
    }
    let sum = 0;
    for (let f = refStart; f < F; f++) {
      const y = output[base + f];
      const m = (y * y + e) * inv[f];
      sum += m;
      gain[f] = m;
    }
    return this.fullBandwidth ? sum / this.referenceBins : 0;
  }
}
