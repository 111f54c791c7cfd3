import { BiquadCascade, kWeighting } from './biquad';

describe(BiquadCascade.name, () => {
  it('sumSquaresPair gives exactly the sums and filter states of sumSquares per channel', () => {
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
    for (let start = 0, run = 1; start < frames; start += run, run = run * 3 + 1) {
      const n = Math.min(run, frames - start);
      expected[0] = single.sumSquares(0, x, 2 * start, 2, n, expected[0]);
      expected[1] = single.sumSquares(1, x, 2 * start + 1, 2, n, expected[1]);
      sut.sumSquaresPair(x, 2 * start, x, 2 * start + 1, 2, n, sums);
      expect([sums[0], sums[1]]).toEqual(expected);
    }
    // The states carried on are the same: one more sample gives the same squares.
    const next = new Float32Array([0.25, -0.5]);
    sut.sumSquaresPair(next, 0, next, 1, 2, 1, sums);
    expect(sums[0]).toBe(single.sumSquares(0, next, 0, 2, 1, expected[0]));
    expect(sums[1]).toBe(single.sumSquares(1, next, 1, 2, 1, expected[1]));
  });
});
