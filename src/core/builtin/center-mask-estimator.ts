/**
 * Centre/sides mask from inter-channel similarity (Avendano & Jot 2002): with short-time averaged
 * auto- and cross-spectra Φ_LL, Φ_RR, Φ_LR per bin,
 *   ψ = 2·max(0, Re Φ_LR) / (Φ_LL + Φ_RR)   ∈ [0, 1]
 * is 1 for content identical in both channels (centre-panned), 0 for content in one channel only
 * (hard-panned) or in anti-phase (the classic "side" signal), and 2ab/(a²+b²) for a source panned
 * with gains a, b. The same mask (ψ^exponent) is applied to both channels, so the centre stem keeps
 * the phantom-centre image and centre + sides = mixture. Causal one-pole smoothing: no look-ahead.
 */
import type { SpectralMaskEstimator } from './spectral-mask-separator';

export interface CenterOptions {
  /** One-pole smoothing coefficient of the spectra across frames (0 = none); default 0.6. */
  smoothing?: number;
  /** ψ is raised to this power; > 1 keeps only strongly centred content. Default 1. */
  exponent?: number;
}

const EPS = 1e-12;
// Module-level alias: a global `Math.x` lookup inside a hot loop is ~100× slower under jest's vm.
const { pow } = Math;

export class CenterMaskEstimator implements SpectralMaskEstimator {
  readonly latency = 0;
  private readonly ll: Float64Array;
  private readonly rr: Float64Array;
  private readonly lrRe: Float64Array;
  private readonly alpha: number;
  private readonly exponent: number;

  constructor(
    private readonly bins: number,
    opts: CenterOptions = {},
  ) {
    this.alpha = opts.smoothing ?? 0.6;
    this.exponent = opts.exponent ?? 1;
    if (!(this.alpha >= 0 && this.alpha < 1))
      throw new RangeError(`smoothing must be in [0, 1), got ${this.alpha}`);
    if (!(this.exponent > 0)) throw new RangeError(`exponent must be > 0, got ${this.exponent}`);
    this.ll = new Float64Array(bins);
    this.rr = new Float64Array(bins);
    this.lrRe = new Float64Array(bins);
  }

  reset(): void {
    this.ll.fill(0);
    this.rr.fill(0);
    this.lrRe.fill(0);
  }

  push(
    re: readonly Float32Array[] | null,
    im: readonly Float32Array[] | null,
    mask: Float32Array[],
  ): boolean {
    const { ll, rr, lrRe, alpha, exponent } = this;
    const b = 1 - alpha;
    const [m0, m1] = mask;
    for (let k = 0; k < this.bins; k++) {
      let pLL = 0;
      let pRR = 0;
      let pLR = 0;
      if (re && im) {
        const lr = re[0][k];
        const li = im[0][k];
        const rRe = re[1][k];
        const ri = im[1][k];
        pLL = lr * lr + li * li;
        pRR = rRe * rRe + ri * ri;
        pLR = lr * rRe + li * ri; // Re(L·conj(R))
      }
      ll[k] = alpha * ll[k] + b * pLL;
      rr[k] = alpha * rr[k] + b * pRR;
      lrRe[k] = alpha * lrRe[k] + b * pLR;
      const cross = lrRe[k];
      let psi = cross > 0 ? (2 * cross) / (ll[k] + rr[k] + EPS) : 0;
      if (!(psi >= 0)) psi = 0;
      else if (psi > 1) psi = 1;
      const m = exponent === 1 ? psi : pow(psi, exponent);
      m0[k] = m;
      m1[k] = m;
    }
    return true;
  }
}
