import { replaceSorted, sortedMedian } from './sorted-window';

describe('sorted sliding window', () => {
  it('tracks the exact median of a sliding window (with duplicates) like a brute-force sort', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 1000) / 100; // many duplicates
    const W = 7;
    const xs = Array.from({ length: 500 }, rnd);
    const arr = new Float32Array(3 + W + 2); // run embedded at an offset, guard cells around it
    arr.fill(-99);
    const base = 3;
    arr.fill(0, base, base + W);
    const win: number[] = new Array<number>(W).fill(0);
    for (let t = 0; t < xs.length; t++) {
      const v = Math.fround(xs[t]);
      replaceSorted(arr, base, W, win[t % W], v);
      win[t % W] = v;
      const brute = [...win].sort((a, b) => a - b);
      expect(Array.from(arr.subarray(base, base + W))).toEqual(brute);
      expect(sortedMedian(arr, base, W)).toBe(brute[3]);
    }
    expect(arr[base - 1]).toBe(-99);
    expect(arr[base + W]).toBe(-99);
  });
});
