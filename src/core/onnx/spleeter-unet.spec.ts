import * as ort from 'onnxruntime-node';
import { ErrorCodes } from '../errors';
import type { UnetModelSpec } from '../spleeter/unet-weights';
import { parseOnnxMetadata } from './onnx-metadata-reader';
import {
  buildSpleeterUnetOnnx,
  quantizeUInt8,
  tfConvKernelToOnnx,
  tfConvTransposeKernelToOnnx,
  type SpleeterUnetBuildOptions,
} from './spleeter-unet';
import { createTestUnetSpec, createTestUnetWeights, mulberry32 } from './test-weights';
import { referenceSpleeterForward, referenceUnetLogitsForward } from '../../../test/support/unet-reference';

// Real filter counts, reduced time/frequency size (multiples of 64) so the naive reference is quick.
interface Dims {
  S: number;
  T: number;
  F: number;
}
const D: Dims = { S: 2, T: 64, F: 128 };
const { S, T, F } = D;

function randomMagnitudes(seed: number, d: Dims = D): Float32Array {
  const r = mulberry32(seed);
  // Include exact zeros: padding and mask maths must not turn them into anything else.
  return Float32Array.from({ length: 2 * d.S * d.T * d.F }, (_, i) => (i % 97 === 0 ? 0 : 2 * r()));
}

/** CSTF <-> SCTF block permutation (toSctf = true: CSTF in). */
function permute(x: Float32Array, d: Dims, toSctf: boolean): Float32Array {
  const out = new Float32Array(x.length);
  const TF = d.T * d.F;
  for (let c = 0; c < 2; c++)
    for (let s = 0; s < d.S; s++) {
      const [from, to] = toSctf ? [c * d.S + s, s * 2 + c] : [s * 2 + c, c * d.S + s];
      out.set(x.subarray(from * TF, (from + 1) * TF), to * TF);
    }
  return out;
}

async function runFile(
  bytes: Uint8Array,
  x: Float32Array,
  layout: 'CSTF' | 'SCTF',
  d: Dims = D,
): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const feed = layout === 'CSTF' ? x : permute(x, d, true);
    const dims = layout === 'CSTF' ? [2, d.S, d.T, d.F] : [d.S, 2, d.T, d.F];
    const y = (await session.run({ x: new ort.Tensor('float32', feed, dims) })).y.data as Float32Array;
    return layout === 'CSTF' ? y : permute(y, d, false);
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

describe('buildSpleeterUnetOnnx', () => {
  const x = randomMagnitudes(11);
  let spec2: UnetModelSpec;
  let ref2: Float32Array[] | undefined;
  beforeAll(() => {
    spec2 = createTestUnetSpec('2stems', { seed: 3 });
  });

  describe('matches the naive TF-semantics reference (A5) within 1e-4', () => {
    it.each(['CSTF', 'SCTF'] as const)(
      '2stems (leaky_relu / relu, sigmoid head), layout %s',
      async (layout) => {
        const ref = (ref2 ??= referenceSpleeterForward(spec2, x, S, T, F));
        for (let k = 0; k < 2; k++) {
          const y = await runFile(
            buildSpleeterUnetOnnx(spec2, k, { layout, precision: 'fp32', T, F }),
            x,
            layout,
          );
          expect(maxAbsDiff(y, ref[k])).toBeLessThan(1e-4);
          // The comparison must be meaningful: masks neither all 0 nor all 1.
          const masks = Array.from(y, (v, i) => (x[i] > 0.5 ? v / x[i] : 0.5));
          expect(Math.min(...masks)).toBeLessThan(0.3);
          expect(Math.max(...masks)).toBeGreaterThan(0.7);
        }
      },
    );

    it('elu / elu (4stems activations)', async () => {
      const spec: UnetModelSpec = {
        architecture: 'unet',
        convActivation: 'elu',
        deconvActivation: 'elu',
        F,
        instruments: [createTestUnetWeights('drums', 5)],
      };
      const ref = referenceSpleeterForward(spec, x, S, T, F);
      const y = await runFile(
        buildSpleeterUnetOnnx(spec, 0, { layout: 'CSTF', precision: 'fp32', T, F }),
        x,
        'CSTF',
      );
      expect(maxAbsDiff(y, ref[0])).toBeLessThan(1e-4);
    });

    it('5stems softmax_unet: each file outputs the head logits; softmax across files × x matches', async () => {
      const d: Dims = { S: 1, T: 64, F: 64 }; // 5 naive U-Nets: smallest legal size
      const x5 = randomMagnitudes(12, d);
      const spec = createTestUnetSpec('5stems', { seed: 9 });
      const logits: Float32Array[] = [];
      for (let k = 0; k < 5; k++) {
        logits.push(
          await runFile(
            buildSpleeterUnetOnnx(spec, k, { layout: 'SCTF', precision: 'fp32', T: d.T, F: d.F }),
            x5,
            'SCTF',
            d,
          ),
        );
      }
      // Raw logits of one file, then the full softmax path (which covers every file's logits).
      expect(maxAbsDiff(logits[2], referenceUnetLogitsForward(spec, 2, x5, d.S, d.T, d.F))).toBeLessThan(
        1e-4,
      );
      const ref = referenceSpleeterForward(spec, x5, d.S, d.T, d.F);
      let worst = 0;
      for (let i = 0; i < x5.length; i++) {
        const m = Math.max(...logits.map((l) => l[i]));
        const e = logits.map((l) => Math.exp(l[i] - m));
        const sum = e.reduce((a, b) => a + b, 0);
        for (let k = 0; k < 5; k++) worst = Math.max(worst, Math.abs((e[k] / sum) * x5[i] - ref[k][i]));
      }
      expect(worst).toBeLessThan(1e-4);
    }, 30_000);
  });

  it('fp16 stays close to fp32 and int8 (ConvInteger) loads and approximates it', async () => {
    const opts: SpleeterUnetBuildOptions = { layout: 'CSTF', precision: 'fp32', T, F };
    const fp32 = await runFile(buildSpleeterUnetOnnx(spec2, 0, opts), x, 'CSTF');
    const fp16Bytes = buildSpleeterUnetOnnx(spec2, 0, { ...opts, precision: 'fp16' });
    const fp16 = await runFile(fp16Bytes, x, 'CSTF');
    const int8Bytes = buildSpleeterUnetOnnx(spec2, 0, { ...opts, precision: 'int8' });
    const int8 = await runFile(int8Bytes, x, 'CSTF');
    const scale = maxAbs(fp32);
    expect(maxAbsDiff(fp16, fp32) / scale).toBeLessThan(5e-3);
    expect(maxAbsDiff(fp16, fp32)).toBeGreaterThan(0); // really rounded weights
    expect(maxAbsDiff(int8, fp32) / scale).toBeLessThan(0.1);
    const fp32Size = buildSpleeterUnetOnnx(spec2, 0, opts).length;
    expect(fp16Bytes.length / fp32Size).toBeCloseTo(0.5, 1);
    // Encoder/head weights (44 % of the parameters) shrink 4×; the transposed convs stay fp32.
    expect(int8Bytes.length / fp32Size).toBeLessThan(0.75);
  });

  it('declares the sherpa-compatible signature and metadata', async () => {
    const meta = await parseOnnxMetadata(
      buildSpleeterUnetOnnx(spec2, 1, { layout: 'CSTF', precision: 'fp16' }),
    );
    expect(meta.inputs).toEqual([{ name: 'x', elementType: 'float32', shape: [2, 'num_splits', 512, 1024] }]);
    expect(meta.outputs).toEqual([
      { name: 'y', elementType: 'float32', shape: [2, 'num_splits', 512, 1024] },
    ]);
    expect(meta.metadata).toMatchObject({
      model_type: 'spleeter',
      sample_rate: '44100',
      version: '1',
      stems: '2',
      comment: 'accompaniment',
      architecture: 'unet',
      F: '1024',
      output: 'magnitude',
      conv_activation: 'leaky_relu',
      deconv_activation: 'relu',
      instruments: 'vocals,accompaniment',
      precision: 'fp16',
    });
    const sctf = await parseOnnxMetadata(
      buildSpleeterUnetOnnx(spec2, 0, { layout: 'SCTF', precision: 'fp32', F: 1536 }),
    );
    expect(sctf.inputs[0].shape).toEqual(['num_splits', 2, 512, 1536]);
  });

  it('rejects sizes the 6-level U-Net cannot take and weights of the wrong shape', () => {
    expect(() =>
      buildSpleeterUnetOnnx(spec2, 0, { layout: 'CSTF', precision: 'fp32', T: 16, F: 32 }),
    ).toThrow(/multiple of 64/);
    const broken: UnetModelSpec = {
      ...spec2,
      instruments: [
        { ...spec2.instruments[0], head: { ...spec2.instruments[0].head, kernelShape: [4, 4, 2, 1] } },
      ],
    };
    expect(() => buildSpleeterUnetOnnx(broken, 0, { layout: 'CSTF', precision: 'fp32' })).toThrow(
      expect.objectContaining({ code: ErrorCodes.MODEL_INVALID }),
    );
  });
});

describe('TF -> ONNX kernel layouts', () => {
  const shape = [2, 3, 4, 5] as const;
  const k = Float32Array.from({ length: 120 }, (_, i) => i);
  it('Conv2D [kh,kw,in,out] -> Conv [out,in,kh,kw]', () => {
    const w = tfConvKernelToOnnx(k, shape);
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 3; x++)
        for (let i = 0; i < 4; i++)
          for (let o = 0; o < 5; o++)
            expect(w[((o * 4 + i) * 2 + y) * 3 + x]).toBe(k[((y * 3 + x) * 4 + i) * 5 + o]);
  });
  it('Conv2DTranspose [kh,kw,out,in] -> ConvTranspose [in,out,kh,kw]', () => {
    const w = tfConvTransposeKernelToOnnx(k, shape); // out = 4, in = 5
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 3; x++)
        for (let o = 0; o < 4; o++)
          for (let i = 0; i < 5; i++)
            expect(w[((i * 4 + o) * 2 + y) * 3 + x]).toBe(k[((y * 3 + x) * 4 + o) * 5 + i]);
  });
});

describe('quantizeUInt8', () => {
  it('represents 0 exactly and keeps every weight within half a step', () => {
    const w = Float32Array.from([-0.3, 0, 0.1, 0.7, -0.05]);
    const q = quantizeUInt8(w);
    expect((q.values[1] - q.zeroPoint) * q.scale).toBe(0);
    w.forEach((v, i) =>
      expect(Math.abs((q.values[i] - q.zeroPoint) * q.scale - v)).toBeLessThanOrEqual(q.scale / 2 + 1e-7),
    );
    expect(q.values[3]).toBeGreaterThanOrEqual(254); // the largest weight sits at the top of the range
    expect(q.values[0]).toBe(0);
  });
});
