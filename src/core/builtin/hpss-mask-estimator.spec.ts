import { HpssMaskEstimator } from './hpss-mask-estimator';

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
}

describe(HpssMaskEstimator.name, () => {
  it('matches brute-force zero-padded time/frequency medians with latency timeWidth/2', () => {
    const bins = 23;
    const frames = 30;
    const tw = 5;
    const fw = 7;
    const sut = new HpssMaskEstimator(bins, { timeWidth: tw, freqWidth: fw });
    expect(sut.latency).toBe(2);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const mags: number[][][] = []; // [t][c][k]
    const mask = [new Float32Array(bins), new Float32Array(bins)];
    const got: Float32Array[][] = [];
    for (let t = 0; t < frames + sut.latency; t++) {
      let re: Float32Array[] | null = null;
      let im: Float32Array[] | null = null;
      if (t < frames) {
        re = [0, 1].map(() => Float32Array.from({ length: bins }, rnd));
        im = [0, 1].map(() => Float32Array.from({ length: bins }, rnd));
        mags.push(
          [0, 1].map((c) =>
            Array.from({ length: bins }, (_, k) => Math.fround(Math.hypot(re![c][k], im![c][k]))),
          ),
        );
      }
      const ready = sut.push(re, im, mask);
      expect(ready).toBe(t >= sut.latency);
      if (ready) got.push(mask.map((m) => m.slice()));
    }
    expect(got).toHaveLength(frames);
    const mag = (t: number, c: number, k: number) =>
      t >= 0 && t < frames && k >= 0 && k < bins ? mags[t][c][k] : 0;
    for (let t = 0; t < frames; t++) {
      for (let c = 0; c < 2; c++) {
        for (let k = 0; k < bins; k++) {
          const h = median(Array.from({ length: tw }, (_, j) => mag(t + j - 2, c, k)));
          const p = median(Array.from({ length: fw }, (_, j) => mag(t, c, k + j - 3)));
          expect(got[t][c][k]).toBeCloseTo((h * h) / (h * h + p * p + 1e-10), 5);
        }
      }
    }
  });

  it('rejects even widths', () => {
    expect(() => new HpssMaskEstimator(10, { timeWidth: 4 })).toThrow(RangeError);
  });
});
