/**
 *
 * Full-size generated Spleeter U-Nets (real architecture, random weights) through the real loader
 * and onnxruntime: shapes, finiteness, mask/softmax invariants, fp16/int8 variants.
 * Set ONNX_BENCH=1 to also print CPU timings for one 512×1024 segment.
 */
import { testModelDir } from '../factories/models';
import { spectrogramMagnitudes } from '../factories/spectrogram';
import { readOnnxMetadata } from '../../src/core/onnx/onnx-metadata-reader';
import type { SpleeterConfigName } from '../../src/core/onnx/spleeter-configs';
import { OnnxRuntime } from '../../src/infra/onnx/onnx-runtime';
import {
  loadSpleeterModel,
  type LoadedSpleeterModel,
} from '../../src/engine/families/spleeter/spleeter-onnx-model';

jest.setTimeout(120_000);

const T = 512;

function report(line: string): void {
  process.stdout.write(`[onnx-integration] ${line}\n`);
}

describe('full-size Spleeter U-Net ONNX models', () => {
  const runtime = new OnnxRuntime();
  // Each full-size session holds ~40 MB of weights (plus prepacked copies): free them per test.
  let models: LoadedSpleeterModel[] = [];
  afterEach(async () => {
    await Promise.all(models.map((m) => m.dispose()));
    models = [];
  });
  afterAll(async () => {
    await runtime.disposeAll();
  });
  const load = async (dir: string, opts: Parameters<typeof loadSpleeterModel>[1] = {}) => {
    const m = await loadSpleeterModel(dir, { runtime, intraOpThreads: 2, ...opts });
    models.push(m);
    return m;
  };

  it.each([
    ['2stems', 1024],
    ['4stems', 1024],
    ['5stems', 1024],
    // Full bandwidth (F=1536) once: the F dimension runs the same code for every stem count.
    ['2stems', 1536],
  ] as [SpleeterConfigName, number][])(
    '%s F=%i: declared shapes, finite outputs, mask/softmax invariants',
    async (config, F) => {
      const dir = await testModelDir('full', { config, F });
      const meta = await readOnnxMetadata(`${dir}/vocals.onnx`);
      expect(meta.inputs[0].shape).toEqual([2, 'num_splits', T, F]);
      const sut = await load(dir);
      expect(sut.F).toBe(F);
      expect(sut.executionProvider).toBe('cpu');
      const x = spectrogramMagnitudes(1, T, F);
      const t0 = performance.now();
      const outs = await sut.run(x, 1);
      report(
        `${config} F=${F}: ${outs.length} instruments, one segment in ${(performance.now() - t0).toFixed(0)} ms`,
      );
      expect(outs).toHaveLength(sut.instruments.length);
      for (const y of outs) {
        expect(y).toHaveLength(x.length);
        expect(y.every(Number.isFinite)).toBe(true);
      }
      if (sut.info.architecture === 'unet') {
        // mask = sigmoid ∈ (0, 1): 0 ≤ y ≤ x, and not a degenerate all-0 / all-1 mask.
        for (const y of outs) {
          let below = 0;
          for (let i = 0; i < x.length; i++) {
            if (y[i] < 0 || y[i] > x[i] * (1 + 1e-6))
              throw new Error(`mask outside [0,1] at ${i}: ${y[i]} vs ${x[i]}`);
            if (y[i] < 0.5 * x[i]) below++;
          }
          expect(below / x.length).toBeGreaterThan(0.01);
          expect(below / x.length).toBeLessThan(0.99);
        }
      } else {
        for (let i = 0; i < x.length; i++) {
          const sum = outs.reduce((a, y) => a + y[i], 0);
          if (Math.abs(sum - x[i]) > 1e-5 * (1 + x[i]))
            throw new Error(`softmax outputs sum to ${sum}, x = ${x[i]}`);
        }
      }
    },
  );

  it('2stems fp16 and int8 files run and stay close to fp32 (relative to max |y|)', async () => {
    const x = spectrogramMagnitudes(1, T, 1024, 2);
    const fp32 = await (await load(await testModelDir('full', { config: '2stems' }))).run(x, 1);
    const results: Record<string, number> = {};
    for (const precision of ['fp16', 'int8'] as const) {
      const m = await load(await testModelDir('full', { config: '2stems', precision }), { precision });
      const t0 = performance.now();
      const y = await m.run(x, 1);
      const ms = performance.now() - t0;
      let maxDiff = 0;
      let maxRef = 0;
      let sumDiff = 0;
      let sumRef = 0;
      for (let k = 0; k < 2; k++)
        for (let i = 0; i < x.length; i++) {
          const d = Math.abs(y[k][i] - fp32[k][i]);
          maxDiff = Math.max(maxDiff, d);
          maxRef = Math.max(maxRef, Math.abs(fp32[k][i]));
          sumDiff += d;
          sumRef += Math.abs(fp32[k][i]);
        }
      results[precision] = maxDiff / maxRef;
      results[`${precision}-mean`] = sumDiff / sumRef;
      report(
        `${precision}: max |y - y_fp32| / max |y_fp32| = ${(maxDiff / maxRef).toExponential(2)}, ` +
          `Σ|y - y_fp32| / Σ|y_fp32| = ${(sumDiff / sumRef).toExponential(2)}, run ${ms.toFixed(0)} ms`,
      );
    }
    expect(results.fp16).toBeLessThan(1e-2);
    // Dynamic per-tensor uint8 quantization of heavy-tailed magnitudes zeroes most small inputs of
    // the first conv (as onnxruntime's quantize_dynamic files do): int8 is coarse by nature.
    expect(results['int8-mean']).toBeLessThan(0.1);
    expect(results.int8).toBeLessThan(0.5);
  });

  (process.env.ONNX_BENCH ? it : it.skip)('benchmark: one 512×1024 segment, 2stems, cpu', async () => {
    const dir = await testModelDir('full', { config: '2stems' });
    const x = spectrogramMagnitudes(1, T, 1024, 3);
    const stats = (v: number[]) => {
      v.sort((a, b) => a - b);
      return `min ${v[0].toFixed(0)} / median ${v[v.length >> 1].toFixed(0)} ms`;
    };
    const time = async (m: LoadedSpleeterModel) => {
      await m.run(x, 1); // warm-up (allocations, prepacking)
      const v: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        await m.run(x, 1);
        v.push(performance.now() - t0);
      }
      return stats(v);
    };
    for (const threads of [1, 2]) {
      const m = await load(dir, { intraOpThreads: threads });
      // Promise.all over the in-thread sessions (what 'concurrent' would mean without workers).
      const sessions = (m as unknown as { runners: { run: LoadedSpleeterModel['run'] }[] }).runners;
      const viaPromiseAll: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        await Promise.all(
          sessions.map((r) =>
            (r.run as unknown as (...a: unknown[]) => Promise<unknown>)('x', 'y', x, [2, 1, T, 1024]),
          ),
        );
        viaPromiseAll.push(performance.now() - t0);
      }
      report(`intraOpThreads=${threads}: sequential ${await time(m)}; Promise.all ${stats(viaPromiseAll)}`);
    }
    const w = await load(dir, { intraOpThreads: 1, parallelism: 'worker-threads' });
    report(`worker-threads (intraOpThreads=1 each): ${await time(w)}`);
  });
});
