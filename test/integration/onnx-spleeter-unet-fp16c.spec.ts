/**
 * precision 'fp16c' (float16 compute) Spleeter U-Nets: float32 I/O, every internal value float16,
 * and on onnxruntime's CPU provider (which runs the float16 nodes through Casts it inserts) the
 * same segment gives outputs within a stated SNR of the fp32 file's. A small U-Net (real filter
 * counts, T=64, F=128) built directly in both layouts, and the full-size seeded 2-stem test model
 * (test/factories) loaded the way the engine loads it (`precision: 'fp16c'`).
 */
import { mkdtemp, readdir, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import * as ort from 'onnxruntime-node';
import { testModelDir } from '../factories/models';
import { createTestUnetSpec } from '../../src/core/onnx/test-weights';
import { spectrogramMagnitudes } from '../factories/spectrogram';
import { parseOnnxMetadata, readOnnxMetadata } from '../../src/core/onnx/onnx-metadata-reader';
import { DataType, decodeModel } from '../../src/core/onnx/onnx-protos';
import { buildSpleeterUnetOnnx } from '../../src/core/onnx/spleeter-unet';
import type { ModelPrecision } from '../../src/core/models/model-catalog';
import { OnnxRuntime } from '../../src/infra/onnx/onnx-runtime';
import {
  loadSpleeterModel,
  type LoadedSpleeterModel,
} from '../../src/engine/families/spleeter/spleeter-onnx-model';

jest.setTimeout(120_000);

/**
 * Lower bound on 10·log10(Σ y_fp32² / Σ (y_fp16c − y_fp32)²). Measured on onnxruntime-node 1.30
 * CPU with these inputs: 60.6–66.0 dB (small and full size, per stem, both layouts, 5stems logits),
 * so ~10 dB of margin. (float16 has an 11-bit significand: one rounding costs ~66 dB.) On the CPU,
 * onnxruntime computes in float32 after its inserted Casts; a GPU's float16 arithmetic is not
 * what this bounds.
 */
const MIN_SNR_DB = 50;

const FLOAT = DataType.FLOAT;
const FLOAT16 = DataType.FLOAT16;
const INT64 = DataType.INT64;

function report(line: string): void {
  process.stdout.write(`[fp16c] ${line}\n`);
}

function snrDb(y: Float32Array, ref: Float32Array): number {
  expect(y).toHaveLength(ref.length);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    signal += ref[i] * ref[i];
    noise += (y[i] - ref[i]) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

/**
 * ONNX type inference for the ops the U-Net uses: a Cast gives its `to` type, every other op's
 * output has the type of its float inputs, which must agree (Slice's int64 starts/ends/axes aside).
 * Returns the element type of every node output.
 */
function valueTypes(bytes: Uint8Array): Map<string, number> {
  const g = decodeModel(bytes).graph!;
  const types = new Map<string, number>();
  for (const v of g.input!) types.set(v.name!, v.type!.tensorType!.elemType!);
  for (const t of g.initializer!) types.set(t.name!, t.dataType!);
  const outputs = new Map<string, number>();
  for (const n of g.node!) {
    let type: number;
    if (n.opType === 'Cast') {
      type = Number(n.attribute!.find((a) => a.name === 'to')!.i);
    } else {
      const floats = n.input!.filter((i) => i !== '').map((i) => types.get(i));
      if (floats.some((t) => t === undefined)) throw new Error(`${n.name}: input of unknown type`);
      const distinct = [...new Set(floats.filter((t) => t !== INT64))];
      if (distinct.length !== 1)
        throw new Error(`${n.name} (${n.opType}): input types ${distinct.join(',')}`);
      type = distinct[0]!;
    }
    for (const o of n.output!) {
      types.set(o, type);
      outputs.set(o, type);
    }
  }
  return outputs;
}

function floatInitializerTypes(bytes: Uint8Array): Set<number> {
  const g = decodeModel(bytes).graph!;
  return new Set(g.initializer!.map((t) => t.dataType!).filter((t) => t !== INT64));
}

async function runOrt(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const y = (await session.run({ x: new ort.Tensor('float32', x, dims) })).y;
    expect(y.type).toBe('float32');
    return y.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe("Spleeter U-Net precision 'fp16c' (float16 compute)", () => {
  describe('small U-Net (real filter counts, T=64, F=128, 2 segments)', () => {
    const S = 2;
    const T = 64;
    const F = 128;
    const spec = createTestUnetSpec('2stems', { seed: 3, F });
    const build = (instrument: number, precision: ModelPrecision, layout: 'CSTF' | 'SCTF') =>
      buildSpleeterUnetOnnx(spec, instrument, { layout, precision, T, F });

    it.each(['CSTF', 'SCTF'] as const)(
      '%s: float32 I/O, float16 weights and values, one Cast in and one out',
      async (layout) => {
        const bytes = build(0, 'fp16c', layout);
        const meta = await parseOnnxMetadata(bytes);
        expect(meta.inputs.map((v) => v.elementType)).toEqual(['float32']);
        expect(meta.outputs.map((v) => v.elementType)).toEqual(['float32']);
        expect(meta.metadata.precision).toBe('fp16c');
        expect(floatInitializerTypes(bytes)).toEqual(new Set([FLOAT16]));
        const types = valueTypes(bytes);
        expect(types.get('y')).toBe(FLOAT);
        const internal = [...types].filter(([name]) => name !== 'y');
        expect(internal.length).toBeGreaterThan(40); // 6 convs, 6 deconvs, 11 BNs, …
        expect(internal.filter(([, t]) => t !== FLOAT16)).toEqual([]);
        const casts = decodeModel(bytes).graph!.node!.filter((n) => n.opType === 'Cast');
        expect(casts.map((n) => [n.input![0], Number(n.attribute![0].i)])).toEqual([
          ['x', FLOAT16],
          [expect.any(String), FLOAT],
        ]);
        // The same analysis sees float32 everywhere in the fp32 file (it can tell the two apart).
        const fp32 = valueTypes(build(0, 'fp32', layout));
        expect(new Set(fp32.values())).toEqual(new Set([FLOAT]));
      },
    );

    it.each(['CSTF', 'SCTF'] as const)(
      `%s: both stems within ${MIN_SNR_DB} dB SNR of fp32 on onnxruntime CPU`,
      async (layout) => {
        const x = spectrogramMagnitudes(S, T, F, 5);
        const dims = layout === 'CSTF' ? [2, S, T, F] : [S, 2, T, F];
        for (const instrument of [0, 1]) {
          const ref = await runOrt(build(instrument, 'fp32', layout), x, dims);
          const y = await runOrt(build(instrument, 'fp16c', layout), x, dims);
          expect(y.every(Number.isFinite)).toBe(true);
          const snr = snrDb(y, ref);
          report(`small ${layout} stem ${instrument}: SNR vs fp32 ${snr.toFixed(2)} dB`);
          expect(snr).toBeGreaterThan(MIN_SNR_DB);
          expect(snr).toBeLessThan(140); // really rounded (not a float32 graph)
        }
      },
    );
  });

  it('small 5stems (softmax_unet, elu deconv activation): logits within the same bound', async () => {
    const [T, F] = [64, 128];
    const spec5 = createTestUnetSpec('5stems', { seed: 4, F });
    const x = spectrogramMagnitudes(1, T, F, 6);
    for (const instrument of [0, 4]) {
      const run = (precision: ModelPrecision) =>
        runOrt(buildSpleeterUnetOnnx(spec5, instrument, { layout: 'CSTF', precision, T, F }), x, [
          2,
          1,
          T,
          F,
        ]);
      const snr = snrDb(await run('fp16c'), await run('fp32'));
      report(`small 5stems instrument ${instrument}: logits SNR vs fp32 ${snr.toFixed(2)} dB`);
      expect(snr).toBeGreaterThan(MIN_SNR_DB);
      expect(snr).toBeLessThan(140);
    }
  });

  describe('full-size 2-stem test model through the Spleeter loader', () => {
    const runtime = new OnnxRuntime();
    let models: LoadedSpleeterModel[] = [];
    let cacheDir: string | undefined;
    afterEach(async () => {
      await Promise.all(models.map((m) => m.dispose()));
      models = [];
    });
    afterAll(async () => {
      await runtime.disposeAll();
      if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
    });
    const load = async (dir: string, opts: Parameters<typeof loadSpleeterModel>[1] = {}) => {
      const m = await loadSpleeterModel(dir, { runtime, intraOpThreads: 2, ...opts });
      models.push(m);
      return m;
    };

    it(`fp16c files load with precision 'fp16c' and stay within ${MIN_SNR_DB} dB SNR of fp32`, async () => {
      const fp16cDir = await testModelDir('full', { config: '2stems', precision: 'fp16c' });
      expect((await readdir(fp16cDir)).filter((f) => f.endsWith('.onnx')).sort()).toEqual([
        'accompaniment.fp16c.onnx',
        'vocals.fp16c.onnx',
      ]);
      const meta = await readOnnxMetadata(join(fp16cDir, 'vocals.fp16c.onnx'));
      expect(meta.inputs).toEqual([
        { name: 'x', elementType: 'float32', shape: [2, 'num_splits', 512, 1024] },
      ]);
      expect(meta.outputs).toEqual([
        { name: 'y', elementType: 'float32', shape: [2, 'num_splits', 512, 1024] },
      ]);
      expect(meta.metadata.precision).toBe('fp16c');

      const x = spectrogramMagnitudes(1, 512, 1024, 2);
      const fp32 = await (await load(await testModelDir('full', { config: '2stems' }))).run(x, 1);
      // Through the on-disk cache of onnxruntime-optimized CPU models, as the engine runs it:
      // once writing the optimized copy (with onnxruntime's inserted Casts), once loading it.
      cacheDir = await mkdtemp(join(tmpdir(), 'fp16c-ort-cache-'));
      for (const pass of ['first load', 'from the optimized-model cache']) {
        // A fresh runtime per pass: no session shared from the first.
        const passRuntime = new OnnxRuntime();
        const m = await load(fp16cDir, {
          runtime: passRuntime,
          precision: 'fp16c',
          optimizedModelCacheDir: cacheDir,
        });
        expect(m.info.precision).toBe('fp16c');
        expect(m.instruments).toEqual(['vocals', 'accompaniment']);
        expect(m.executionProvider).toBe('cpu');
        const y = await m.run(x, 1);
        for (let k = 0; k < 2; k++) {
          expect(y[k].every(Number.isFinite)).toBe(true);
          const snr = snrDb(y[k], fp32[k]);
          report(`full size, ${pass}, ${m.instruments[k]}: SNR vs fp32 ${snr.toFixed(2)} dB`);
          expect(snr).toBeGreaterThan(MIN_SNR_DB);
          expect(snr).toBeLessThan(140);
        }
        await m.dispose();
        await passRuntime.disposeAll();
        models = models.filter((o) => o !== m);
        expect((await readdir(cacheDir)).filter((f) => f.endsWith('.onnx'))).toHaveLength(2);
      }
    });
  });
});
