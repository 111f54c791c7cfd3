import { BiquadCascade, kWeighting } from './biquad';

describe(BiquadCascade.name, () => {
  it('sumSquaresPair gives exactly the sums and filter states of sumSquares per channel, and the plain squares and peaks', () => {
    // Interleaved stereo noise, fed in uneven runs so the carried state and sums are exercised.
    const frames = 5000;
    const x = new Float32Array(2 * frames);
    let seed = 7;
    for (let i = 0; i < x.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      x[i] = (seed / 0x7fffffff - 0.5) * 0.8;
    }
    const single = new BiquadCascade(kWeighting(44100), 2);
    const sut = new BiquadCascade(kWeighting(44100), 2);
    expect(sut.canPairSumSquares).toBe(true);
    const expected = [0, 0];
    const sums = new Float64Array(2);
    const plain = new Float64Array(2);
    const peaks = new Float64Array(2);
    const expectedPlain = [0, 0];
    const expectedPeaks = [0, 0];
    for (let start = 0, run = 1; start < frames; start += run, run = run * 3 + 1) {
      const n = Math.min(run, frames - start);
      expected[0] = single.sumSquares(0, x, 2 * start, 2, n, expected[0]);
      expected[1] = single.sumSquares(1, x, 2 * start + 1, 2, n, expected[1]);
      for (let i = 2 * start; i < 2 * (start + n); i++) {
        expectedPlain[i & 1] += x[i] * x[i];
        expectedPeaks[i & 1] = Math.max(expectedPeaks[i & 1], Math.abs(x[i]));
      }
      sut.sumSquaresPair(x, 2 * start, x, 2 * start + 1, 2, n, sums, plain, peaks);
      expect([sums[0], sums[1]]).toEqual(expected);
      // The unfiltered squares and the peaks of the same samples, in the same order.
      expect([plain[0], plain[1]]).toEqual(expectedPlain);
      expect([peaks[0], peaks[1]]).toEqual(expectedPeaks);
    }
    expect(expectedPeaks[0]).toBeGreaterThan(0.3);
    // The states carried on are the same: one more sample gives the same squares.
    const next = new Float32Array([0.25, -0.5]);
    sut.sumSquaresPair(next, 0, next, 1, 2, 1, sums, plain, peaks);
    expect(sums[0]).toBe(single.sumSquares(0, next, 0, 2, 1, expected[0]));
    expect(sums[1]).toBe(single.sumSquares(1, next, 1, 2, 1, expected[1]));
  });
});
