import { CenteredStft, SpectrumView } from './centered-stft';
import { chirp, firstDifference, snrDb, whiteNoise } from '../../../test/support/signals';

/** numpy-style reflect padding (edge not repeated, reflected again for short signals). */
function reflectIndex(j: number, len: number): number {
  if (len === 1) return 0;
  const period = 2 * (len - 1);
  let r = ((j % period) + period) % period;
  if (r >= len) r = period - r;
  return r;
}

/** Naive torch.stft(center=True) bin for frame t. */
function naiveBin(x: Float32Array, nFft: number, hop: number, t: number, k: number): [number, number] {
  let sr = 0;
  let si = 0;
  for (let i = 0; i < nFft; i++) {
    const v = x[reflectIndex(t * hop - Math.floor(nFft / 2) + i, x.length)];
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / nFft);
    const ang = (-2 * Math.PI * ((k * i) % nFft)) / nFft;
    sr += v * w * Math.cos(ang);
    si += v * w * Math.sin(ang);
  }
  return [sr, si];
}

function frameMajor(frames: number, bins: number): SpectrumView {
  return {
    re: new Float32Array(frames * bins),
    im: new Float32Array(frames * bins),
    frameStride: bins,
    binStride: 1,
    bins,
  };
}

describe(CenteredStft.name, () => {
  it('matches a naive reflect-padded DFT, including frames reflecting at both edges', () => {
    const sut = new CenteredStft(16, 4);
    const x = whiteNoise(50, 1, 3);
    const frames = sut.frameCount(50);
    expect(frames).toBe(13);
    const spec = frameMajor(frames, sut.bins);
    expect(sut.forward({ data: x, length: 50 }, spec)).toBe(frames);
    for (let t = 0; t < frames; t++) {
      for (let k = 0; k < sut.bins; k++) {
        const [r, i] = naiveBin(x, 16, 4, t, k);
        expect(spec.re[t * sut.bins + k]).toBeCloseTo(r, 5);
        expect(spec.im[t * sut.bins + k]).toBeCloseTo(i, 5);
      }
    }
  });

  it('handles signals shorter than n_fft/2 by repeated reflection', () => {
    const sut = new CenteredStft(16, 4);
    const x = new Float32Array([0.5, -1, 0.25]);
    const spec = frameMajor(sut.frameCount(3), sut.bins);
    sut.forward({ data: x, length: 3 }, spec);
    const [r, i] = naiveBin(x, 16, 4, 0, 3);
    expect(spec.re[3]).toBeCloseTo(r, 5);
    expect(spec.im[3]).toBeCloseTo(i, 5);
  });

  it.each([5120, 6144, 7680, 4096])('round-trips n_fft %i, hop 1024 with SNR >= 100 dB', (nFft) => {
    const sut = new CenteredStft(nFft, 1024);
    const len = 1024 * 40;
    const x = chirp(len, 1, 30, 18000);
    const frames = sut.frameCount(len);
    const spec = frameMajor(frames, sut.bins);
    sut.forward({ data: x, length: len }, spec);
    const y = new Float32Array(len);
    sut.inverse(spec, frames, { data: y, length: len });
    expect(snrDb(x, y)).toBeGreaterThan(100);
    // spot check one bin against the naive transform
    const [r] = naiveBin(x, nFft, 1024, 7, 333);
    expect(spec.re[7 * sut.bins + 333] / r).toBeCloseTo(1, 4);
  });

  it('reads interleaved channels and writes the MDX [4, dim_f, dim_t] layout through strides', () => {
    const nFft = 6144;
    const dimF = 2048;
    const sut = new CenteredStft(nFft, 1024);
    const len = 1024 * 15;
    const stereo = whiteNoise(len, 2, 8);
    const dimT = sut.frameCount(len);
    const tensor = new Float32Array(4 * dimF * dimT);
    for (let c = 0; c < 2; c++) {
      sut.forward(
        { data: stereo, offset: c, stride: 2, length: len },
        {
          re: tensor,
          im: tensor,
          reOffset: 2 * c * dimF * dimT,
          imOffset: (2 * c + 1) * dimF * dimT,
          frameStride: 1,
          binStride: dimT,
          bins: dimF,
        },
      );
    }
    const right = new Float32Array(len);
    for (let i = 0; i < len; i++) right[i] = stereo[2 * i + 1];
    const plain = frameMajor(dimT, sut.bins);
    sut.forward({ data: right, length: len }, plain);
    for (const [t, k] of [
      [0, 0],
      [3, 100],
      [dimT - 1, dimF - 1],
    ]) {
      expect(tensor[2 * dimF * dimT + k * dimT + t]).toBe(plain.re[t * sut.bins + k]);
      expect(tensor[3 * dimF * dimT + k * dimT + t]).toBe(plain.im[t * sut.bins + k]);
    }
    // inverse with bins >= dim_f zero-filled equals the inverse of the zeroed full spectrum
    for (let t = 0; t < dimT; t++) {
      plain.re.fill(0, t * sut.bins + dimF, (t + 1) * sut.bins);
      plain.im.fill(0, t * sut.bins + dimF, (t + 1) * sut.bins);
    }
    const a = new Float32Array(2 * len);
    sut.inverse(
      {
        re: tensor,
        im: tensor,
        reOffset: 2 * dimF * dimT,
        imOffset: 3 * dimF * dimT,
        frameStride: 1,
        binStride: dimT,
        bins: dimF,
      },
      dimT,
      { data: a, offset: 1, stride: 2, length: len },
    );
    const b = new Float32Array(len);
    sut.inverse(plain, dimT, { data: b, length: len });
    const right2 = new Float32Array(len);
    for (let i = 0; i < len; i++) right2[i] = a[2 * i + 1];
    expect(firstDifference(right2, b)).toBe(-1);
  });

  it('zero-fills samples past the reconstructable range and rejects NOLA violations', () => {
    const sut = new CenteredStft(8, 2);
    const x = whiteNoise(20, 1, 1);
    const spec = frameMajor(sut.frameCount(20), sut.bins);
    sut.forward({ data: x, length: 20 }, spec);
    const y = new Float32Array(30).fill(9);
    sut.inverse(spec, sut.frameCount(20), { data: y, length: 30 });
    expect(snrDb(x, y, 20)).toBeGreaterThan(100);
    expect(Array.from(y.subarray(24))).toEqual([0, 0, 0, 0, 0, 0]);
    const bad = new CenteredStft(8, 8);
    const s2 = frameMajor(bad.frameCount(20), bad.bins);
    bad.forward({ data: x, length: 20 }, s2);
    expect(() => bad.inverse(s2, bad.frameCount(20), { data: new Float32Array(16), length: 16 })).toThrow(
      /NOLA/,
    );
  });
});
