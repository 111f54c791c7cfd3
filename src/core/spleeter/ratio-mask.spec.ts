import { makeRng } from '../../../test/support/signals';
import { FULL_BANDWIDTH_REFERENCE_BINS, RATIO_MASK_EPSILON, RatioMasker } from './ratio-mask';
import { SPLEETER_T } from './types';

const F = 96;
const SEGMENTS = 2;

/** Per instrument, CSTF [2, SEGMENTS, 512, F] magnitudes (some exact zeros). */
function outputs(n: number, seed: number): Float32Array[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, () =>
    Float32Array.from({ length: 2 * SEGMENTS * SPLEETER_T * F }, () => (rng() < 0.05 ? 0 : 3 * rng())),
  );
}

/** MODEL-FORMATS A6 written out: (y_i² + ε/n) · (1 / (Σ_j y_j² + ε)), sum in instrument order. */
function expectedMask(ys: Float32Array[], i: number, index: number): number {
  let den = 0;
  for (const y of ys) den += y[index] * y[index];
  const y = ys[i][index];
  return (y * y + RATIO_MASK_EPSILON / ys.length) * (1 / (den + RATIO_MASK_EPSILON));
}

describe(RatioMasker.name, () => {
  it.each([1, 2, 3, 4])(
    'computes the masks of %i instrument(s) exactly as the formula, for any frame and channel',
    (n) => {
      const ys = outputs(n, 10 + n);
      const sut = new RatioMasker(F, n, false);
      const gain = new Float64Array(F);
      for (const [t, c] of [
        [0, 0],
        [511, 1],
        [700, 0],
        [1023, 1],
      ]) {
        sut.prepare(ys, SEGMENTS, t, c);
        const base = c * SEGMENTS * SPLEETER_T * F + t * F;
        let sum = new Float64Array(F);
        for (let i = 0; i < n; i++) {
          expect(sut.mask(ys[i], SEGMENTS, t, c, gain)).toBe(0);
          for (let f = 0; f < F; f++) {
            expect(gain[f]).toBe(expectedMask(ys, i, base + f));
            sum[f] += gain[f];
          }
        }
        sum = sum.map((v) => Math.abs(v - 1));
        expect(Math.max(...sum)).toBeLessThan(1e-12); // the masks of all instruments sum to 1
      }
    },
  );

  it("with 'full' bandwidth returns each instrument's average mask over the top reference bins", () => {
    const n = 3;
    const ys = outputs(n, 4);
    const sut = new RatioMasker(F, n, true);
    const gain = new Float64Array(F);
    sut.prepare(ys, SEGMENTS, 9, 1);
    const base = SEGMENTS * SPLEETER_T * F + 9 * F;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const above = sut.mask(ys[i], SEGMENTS, 9, 1, gain);
      let expected = 0;
      for (let f = F - FULL_BANDWIDTH_REFERENCE_BINS; f < F; f++) expected += expectedMask(ys, i, base + f);
      expect(above).toBe(expected / FULL_BANDWIDTH_REFERENCE_BINS);
      total += above;
    }
    expect(total).toBeCloseTo(1, 12);
  });
});
