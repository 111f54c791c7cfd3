/**
 * Harmonic/percussive mask by median filtering (Fitzgerald 2010): harmonic content is smooth
 * along time, percussive content smooth along frequency. Per channel and bin:
 *   H = median of |X| over `timeWidth` frames centred on the frame,
 *   P = median of |X| over `freqWidth` bins centred on the bin,
 *   mask_harmonic = H² / (H² + P² + ε), percussive = 1 − mask_harmonic.
 * Out-of-range frames/bins count as zeros (the signal is zero-padded). The time median needs
 * timeWidth/2 frames of look-ahead, so that is the estimator's latency; only timeWidth frames of
 * magnitudes are kept.
 */
import type { SpectralMaskEstimator } from './spectral-mask-separator';
import { replaceSorted, sortedMedian } from './sorted-window';

export interface HpssOptions {
  /** Odd number of frames of the horizontal (time) median; default 17 (≈ 0.4 s at hop 1024). */
  timeWidth?: number;
  /** Odd number of bins of the vertical (frequency) median; default 17 (≈ 180 Hz at 4096/44.1 kHz). */
  freqWidth?: number;
}

const EPS = 1e-10;
// Module-level alias: a global `Math.x` lookup inside a hot loop is ~100× slower under jest's vm.
const { sqrt } = Math;
const CHANNELS = 2;

export class HpssMaskEstimator implements SpectralMaskEstimator {
  readonly latency: number;
  private readonly tw: number;
  private readonly fw: number;
  /** Magnitudes of the last tw frames: [slot][channel * bins + k]. */
  private readonly ring: Float32Array[];
  /** Per (channel, bin), the sorted magnitudes of the same tw frames. */
  private readonly timeSorted: Float32Array;
  /** Sorted frequency window, reused for every channel of every frame. */
  private readonly freqSorted: Float32Array;
  private pushes = 0;

  constructor(
    private readonly bins: number,
    opts: HpssOptions = {},
  ) {
    this.tw = opts.timeWidth ?? 17;
    this.fw = opts.freqWidth ?? 17;
    for (const [name, v] of [
      ['timeWidth', this.tw],
      ['freqWidth', this.fw],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v % 2 === 0)
        throw new RangeError(`${name} must be an odd positive integer, got ${v}`);
    }
    this.latency = this.tw >> 1;
    this.ring = Array.from({ length: this.tw }, () => new Float32Array(CHANNELS * bins));
    this.timeSorted = new Float32Array(CHANNELS * bins * this.tw);
    this.freqSorted = new Float32Array(this.fw);
  }

  reset(): void {
    for (const r of this.ring) r.fill(0);
    this.timeSorted.fill(0);
    this.pushes = 0;
  }

  push(
    re: readonly Float32Array[] | null,
    im: readonly Float32Array[] | null,
    mask: Float32Array[],
  ): boolean {
    const { bins, tw } = this;
    const t = this.pushes++;
    const slot = this.ring[t % tw];
    const sorted = this.timeSorted;
    for (let c = 0; c < CHANNELS; c++) {
      const base = c * bins;
      for (let k = 0; k < bins; k++) {
        let m = 0;
        if (re && im) {
          const r = re[c][k];
          const i = im[c][k];
          m = sqrt(r * r + i * i);
          if (!(m < Infinity)) m = 0; // NaN/inf input must not corrupt the sorted runs
        }
        // The slot being overwritten holds frame t − tw: it leaves the window. Writing first
        // rounds m to float32, the precision the sorted runs store.
        const old = slot[base + k];
        slot[base + k] = m;
        replaceSorted(sorted, (base + k) * tw, tw, old, slot[base + k]);
      }
    }
    if (t < this.latency) return false;
    // The window now spans frames t−tw+1 .. t; its centre t − latency is the frame we mask.
    const centre = this.ring[(t - this.latency) % tw];
    for (let c = 0; c < CHANNELS; c++) this.maskChannel(centre, c, mask[c]);
    return true;
  }

  private maskChannel(frame: Float32Array, c: number, out: Float32Array): void {
    const { bins, tw, fw } = this;
    const base = c * bins;
    const half = fw >> 1;
    const win = this.freqSorted;
    const at = (k: number): number => (k >= 0 && k < bins ? frame[base + k] : 0);
    // Initial window: bins −half .. half, insertion-sorted once per frame.
    for (let j = 0; j < fw; j++) {
      const v = at(j - half);
      let i = j;
      while (i > 0 && win[i - 1] > v) {
        win[i] = win[i - 1];
        i--;
      }
      win[i] = v;
    }
    const sorted = this.timeSorted;
    for (let k = 0; k < bins; k++) {
      const h = sortedMedian(sorted, (base + k) * tw, tw);
      const p = sortedMedian(win, 0, fw);
      const h2 = h * h;
      out[k] = h2 / (h2 + p * p + EPS);
      if (k + 1 < bins) replaceSorted(win, 0, fw, at(k - half), at(k + half + 1));
    }
  }
}
