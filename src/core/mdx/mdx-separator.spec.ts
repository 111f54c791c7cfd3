import { CenteredStft } from '../dsp/centered-stft';
import { symmetricHann } from '../dsp/window';
import type { StemSink } from '../separation/types';
import { rampModelFn, rampWaveform, uvrDemixOfWaveform } from '../../../test/factories/mdx-models';
import type { MdxOverlap } from './mdx-options';
import { MdxModelParams } from './mdx-params';
import { MdxModelFn, MdxSeparator } from './mdx-separator';

const small: MdxModelParams = {
  dimF: 96,
  dimT: 16,
  nFft: 384, // not 2·dim_f and not a power of two, like the real models
  hop: 1024 / 8, // small hop keeps the test fast; chunk = 1920
  compensate: 1.03,
  primaryStem: 'vocals',
  secondaryStem: 'instrumental',
};

/** A deterministic, layout-sensitive, non-odd model: per-plane gains, a bin tilt and a cross term. */
const weirdModel: MdxModelFn = async (x, batch) => {
  const { dimF, dimT } = small;
  const y = new Float32Array(x.length);
  for (let b = 0; b < batch; b++)
    for (let q = 0; q < 4; q++)
      for (let f = 0; f < dimF; f++)
        for (let t = 0; t < dimT; t++) {
          const i = ((b * 4 + q) * dimF + f) * dimT + t;
          const other = ((b * 4 + ((q + 2) % 4)) * dimF + f) * dimT + t;
          y[i] =
            x[i] * (0.3 + 0.2 * q + 0.5 * Math.sin(f * 0.1 + t * 0.05)) +
            0.1 * x[other] +
            0.01 * Math.abs(x[i]);
        }
  return y;
};

/** Straight whole-signal port of UVR's MDX demix (MODEL-FORMATS C; separate.py). */
async function referenceDemix(
  mix: Float32Array,
  p: MdxModelParams,
  model: MdxModelFn,
  overlap: MdxOverlap,
  denoise: boolean,
) {
  const N = mix.length / 2;
  const chunk = p.hop * (p.dimT - 1);
  const trim = p.nFft / 2;
  const gen = chunk - 2 * trim;
  const pad = gen + trim - (N % gen);
  const L = trim + N + pad;
  const mixture = [new Float32Array(L), new Float32Array(L)];
  for (let n = 0; n < N; n++) {
    mixture[0][trim + n] = mix[2 * n];
    mixture[1][trim + n] = mix[2 * n + 1];
  }
  const step = overlap === 'default' ? chunk - p.nFft : Math.floor((1 - overlap) * chunk);
  const result = [new Float64Array(L), new Float64Array(L)];
  const divider = new Float64Array(L);
  const stft = new CenteredStft(p.nFft, p.hop);
  const plane = p.dimF * p.dimT;
  for (let i = 0; i < L; i += step) {
    const end = Math.min(i + chunk, L);
    const actual = end - i;
    const window = overlap !== 0 ? symmetricHann(actual) : null;
    const part = [new Float32Array(chunk), new Float32Array(chunk)];
    for (let c = 0; c < 2; c++) part[c].set(mixture[c].subarray(i, end));
    const spec = new Float32Array(4 * plane);
    for (let c = 0; c < 2; c++) {
      stft.forward(
        { data: part[c], length: chunk },
        {
          re: spec,
          im: spec,
          reOffset: 2 * c * plane,
          imOffset: (2 * c + 1) * plane,
          binStride: p.dimT,
          frameStride: 1,
          bins: p.dimF,
        },
      );
    }
    for (let q = 0; q < 4; q++) spec.fill(0, q * plane, q * plane + 3 * p.dimT);
    let pred = await model(spec, 1);
    if (denoise) {
      const neg = await model(
        spec.map((v) => -v),
        1,
      );
      pred = pred.map((v, j) => neg[j] * -0.5 + v * 0.5);
    }
    for (let c = 0; c < 2; c++) {
      const wave = new Float32Array(chunk);
      stft.inverse(
        {
          re: pred,
          im: pred,
          reOffset: 2 * c * plane,
          imOffset: (2 * c + 1) * plane,
          binStride: p.dimT,
          frameStride: 1,
          bins: p.dimF,
        },
        p.dimT,
        { data: wave, length: chunk },
      );
      for (let j = 0; j < actual; j++) result[c][i + j] += wave[j] * (window ? window[j] : 1);
    }
    for (let j = 0; j < actual; j++) divider[i + j] += window ? window[j] : 1;
  }
  const primary = new Float32Array(2 * N);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < 2; c++) primary[2 * n + c] = (result[c][trim + n] / divider[trim + n]) * p.compensate;
  return primary;
}

function signal(N: number, seed = 1): Float32Array {
  const x = new Float32Array(2 * N);
  let s = seed;
  for (let n = 0; n < N; n++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const noise = (s / 2 ** 32 - 0.5) * 0.2;
    x[2 * n] = 0.4 * Math.sin(n * 0.05) + noise;
    x[2 * n + 1] = 0.3 * Math.sin(n * 0.021 + 1) - noise;
  }
  return x;
}

async function separate(sut: MdxSeparator, mix: Float32Array, chunkFrames: number) {
  const got = new Map<string, number[]>(sut.stems.map((s) => [s, []]));
  const sink: StemSink = {
    write(stems) {
      expect([...stems.keys()]).toEqual(sut.stems);
      for (const [k, v] of stems) got.get(k)!.push(...v);
    },
  };
  async function* source() {
    for (let i = 0; i < mix.length; i += 2 * chunkFrames)
      yield mix.slice(i, Math.min(mix.length, i + 2 * chunkFrames));
  }
  const stats = await sut.separate(source, sink);
  return { stats, out: new Map([...got].map(([k, v]) => [k, Float32Array.from(v)])) };
}

const maxAbs = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe(MdxSeparator.name, () => {
  it.each([
    // [N, input chunk frames, overlap, batch, denoise]
    [1000, 97, 0.25, 1, false], // shorter than one gen
    [1152 * 3, 1152, 0.25, 1, false], // a few gens (gen = chunk − n_fft = 1920 − 384 = 1536)
    [1536 * 4, 500, 0.25, 3, false], // N mod gen = 0
    [9999, 4096, 0.5, 2, false],
    [7777, 1000, 0, 1, false], // no cross-fade
    [5000, 333, 0.25, 2, true], // denoise
    [1000, 97, 'default', 1, false],
    [1536 * 4, 500, 'default', 3, false],
    [9999, 4096, 'default', 2, true],
  ] as Array<[number, number, MdxOverlap, number, boolean]>)(
    'matches the whole-signal reference (N=%i, chunks of %i, overlap %p, batch %i, denoise %s)',
    async (N, cf, overlap, batch, denoise) => {
      const mix = signal(N);
      const sut = new MdxSeparator({ params: small, model: weirdModel, overlap, batchSize: batch, denoise });
      const { out, stats } = await separate(sut, mix, cf);
      const ref = await referenceDemix(mix, small, weirdModel, overlap, denoise);
      const primary = out.get('vocals')!;
      const secondary = out.get('instrumental')!;
      expect(primary.length).toBe(2 * N);
      expect(secondary.length).toBe(2 * N);
      expect(maxAbs(primary, ref)).toBeLessThan(1e-5);
      for (let i = 0; i < mix.length; i++) expect(secondary[i]).toBe(Math.fround(mix[i] - primary[i]));
      expect(stats.samples).toBe(N);
      expect(stats.segments).toBe(sut.chunkCount(N));
      expect(stats.modelCalls).toBe(Math.ceil(sut.chunkCount(N) / batch) * (denoise ? 2 : 1));
    },
  );

  describe("UVR's default step (chunk − n_fft) and Hann cross-fade: golden stems", () => {
    // chunk = 128·15 = 1920, n_fft = 384: UVR's 'Default' step is 1536; overlap 0.25 gives 1440.
    const UVR_DEFAULT_STEP = 1536;
    const N = 7000;
    const silence = new Float32Array(2 * N);
    const g = rampWaveform(small);
    const golden = (step: number, rectangular = false) => uvrDemixOfWaveform(N, small, g, step, rectangular);

    it.each([
      ['omitted', UVR_DEFAULT_STEP, undefined, false],
      ["'default'", UVR_DEFAULT_STEP, 'default', false],
      ['0.25', 1440, 0.25, false],
      ['0.5', 960, 0.5, false],
      ['0 (no cross-fade)', 1920, 0, true],
    ] as Array<[string, number, MdxOverlap | undefined, boolean]>)(
      'overlap %s: primary = cross-fade of the chunk ramps at step %i',
      async (_label, step, overlap, rectangular) => {
        const sut = new MdxSeparator({ params: small, model: rampModelFn(small), overlap });
        expect(sut.step).toBe(step);
        const { out, stats } = await separate(sut, silence, 1234);
        const primary = out.get('vocals')!;
        expect(maxAbs(primary, golden(step, rectangular))).toBeLessThan(1e-5);
        expect(stats.segments).toBe(Math.ceil((small.nFft / 2 + N) / step));
      },
    );

    it('the golden values tell the steps apart (the cross-fade is visible)', () => {
      const uvr = golden(UVR_DEFAULT_STEP);
      // Ramps 0 → 0.2 (×1.03) per chunk: a different step moves the seams by a visible amount.
      expect(maxAbs(uvr, golden(1440))).toBeGreaterThan(0.02);
      expect(maxAbs(uvr, golden(UVR_DEFAULT_STEP + 1))).toBeGreaterThan(1e-4);
      // Inside the first chunk (before the second starts) every step gives the ramp itself.
      const trim = small.nFft / 2;
      for (let n = 0; n < 1440 - trim; n++)
        expect(uvr[2 * n]).toBeCloseTo(g[0][trim + n] * small.compensate, 6);
    });

    it('denoise cancels an input-independent output (½·f(x) − ½·f(−x))', async () => {
      const sut = new MdxSeparator({ params: small, model: rampModelFn(small), denoise: true });
      const { out } = await separate(sut, silence, 4096);
      expect(maxAbs(out.get('vocals')!, silence)).toBeLessThan(1e-6);
    });

    it('refuses overlaps outside default | 0–0.99', () => {
      for (const overlap of [-0.1, 0.995, 1, Number.NaN, 'auto'] as unknown as MdxOverlap[]) {
        expect(() => new MdxSeparator({ params: small, model: weirdModel, overlap })).toThrow(
          expect.objectContaining({ code: 'VALIDATION_FAILED', context: { field: 'overlap' } }),
        );
      }
      expect(new MdxSeparator({ params: small, model: weirdModel, overlap: 0.99 }).step).toBe(19);
    });
  });

  it('zero model: primary exactly 0 and secondary exactly the mixture', async () => {
    const mix = signal(6000, 3);
    const sut = new MdxSeparator({ params: small, model: async (x) => new Float32Array(x.length) });
    const { out } = await separate(sut, mix, 777);
    expect(out.get('vocals')!.every((v) => v === 0)).toBe(true);
    expect(out.get('instrumental')).toEqual(mix);
  });

  it('identity model: primary ≈ compensate × mixture band-limited to bins [3, dim_f)', async () => {
    const N = 20_000;
    const sr = 44100;
    const inBand = (k: number) => (k * sr) / small.nFft; // centre frequency of bin k
    const mix = new Float32Array(2 * N);
    const tone = new Float32Array(2 * N);
    for (let n = 0; n < N; n++) {
      const a = 0.5 * Math.sin((2 * Math.PI * inBand(20.5) * n) / sr);
      const b = 0.25 * Math.sin((2 * Math.PI * inBand(40.25) * n) / sr + 1);
      const high = 0.3 * Math.sin((2 * Math.PI * inBand(150) * n) / sr); // above dim_f = 96
      tone[2 * n] = a;
      tone[2 * n + 1] = b;
      mix[2 * n] = a + high;
      mix[2 * n + 1] = b - high;
    }
    const sut = new MdxSeparator({ params: small, model: async (x) => x.slice() });
    const { out } = await separate(sut, mix, 4000);
    const primary = out.get('vocals')!;
    // The signal's abrupt start/end (and, less, each chunk's reflect-padded edges) spread energy
    // outside the band, which the model path drops: judge the interior.
    let err = 0;
    let ref = 0;
    for (let i = 2 * small.nFft; i < 2 * (N - small.nFft); i++) {
      err += (primary[i] - small.compensate * tone[i]) ** 2;
      ref += (small.compensate * tone[i]) ** 2;
    }
    expect(10 * Math.log10(ref / err)).toBeGreaterThan(40);
    // The out-of-band tone is gone from the primary and fully in the secondary.
    const secondary = out.get('instrumental')!;
    let e2 = 0;
    let r2 = 0;
    for (let i = 2 * small.nFft; i < 2 * (N - small.nFft); i++) {
      const expected = mix[i] - small.compensate * tone[i];
      e2 += (secondary[i] - expected) ** 2;
      r2 += expected ** 2;
    }
    expect(10 * Math.log10(r2 / e2)).toBeGreaterThan(35);
  });

  it('rejects a model output of the wrong size and unknown stems', async () => {
    const sut = new MdxSeparator({ params: small, model: async () => new Float32Array(5) });
    await expect(separate(sut, signal(3000), 3000)).rejects.toMatchObject({ code: 'MODEL_INFERENCE_FAILED' });
    expect(() => new MdxSeparator({ params: small, model: weirdModel, stems: ['drums'] })).toThrow(
      /not one of/,
    );
    const only = new MdxSeparator({ params: small, model: weirdModel, stems: ['instrumental'] });
    expect(only.stems).toEqual(['instrumental']);
  });

  it('emits nothing for empty input and reports progress', async () => {
    const progress: number[] = [];
    const sut = new MdxSeparator({ params: small, model: weirdModel });
    const writes: unknown[] = [];
    const stats = await sut.separate(
      async function* () {},
      { write: (s) => void writes.push(s) },
      { onProgress: (f) => progress.push(f) },
    );
    expect(stats.samples).toBe(0);
    expect(writes).toEqual([]);
    const mix = signal(5000);
    await sut.separate(
      async function* () {
        yield mix;
      },
      { write: () => undefined },
      { totalSamples: 5000, onProgress: (f) => progress.push(f) },
    );
    expect(progress.length).toBe(sut.chunkCount(5000));
    expect(progress[progress.length - 1]).toBe(1);
  });
});
