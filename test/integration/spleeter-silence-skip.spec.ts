/**
 * Skipping Spleeter segments of digital silence with a real network: a full-size 2-stem U-Net
 * (generated weights) through onnxruntime. Stems must be byte-identical with and without the
 * skip, also when the skip turns a batch of 3 segments into a model call of 2 (which relies on the
 * runtime computing each segment of a batch independently).
 */
import { tones, whiteNoise } from '../support/signals';
import { SpleeterSeparator } from '../../src/core/spleeter/separator';
import { segmentSampleSpan } from '../../src/core/spleeter/silent-segments';
import { bufferSource, collectingSink } from '../support/stream-helpers';
import { OnnxRuntime } from '../../src/infra/onnx/onnx-runtime';
import {
  loadSpleeterModel,
  type LoadedSpleeterModel,
} from '../../src/engine/families/spleeter/spleeter-onnx-model';
import { testModelDir } from '../factories/models';

jest.setTimeout(600_000);

const SEGMENT = 512 * 1024;

describe('silent segments with an onnxruntime Spleeter model (integration)', () => {
  const runtime = new OnnxRuntime();
  let model: LoadedSpleeterModel;

  beforeAll(async () => {
    model = await loadSpleeterModel(await testModelDir('full', { config: '2stems' }), {
      runtime,
      intraOpThreads: 2,
    });
  });
  afterAll(async () => {
    await model?.dispose();
    await runtime.disposeAll();
  });

  it('gives byte-identical stems with and without the skip (segment 1 of 3 silent, one batch)', async () => {
    const frames = 3 * SEGMENT - 20000;
    const x = tones(frames, 2, [110, 660, 3000, 7000]);
    const noise = whiteNoise(frames, 2, 8, 0.05);
    for (let i = 0; i < x.length; i++) x[i] += noise[i];
    const { start, end } = segmentSampleSpan(1);
    x.fill(0, start * 2, end * 2);
    const run = async (skipSilentSegments: boolean) => {
      const sink = collectingSink();
      const stats = await new SpleeterSeparator(model, { batchSegments: 3, skipSilentSegments }).separate(
        bufferSource(x, 100000),
        sink,
      );
      return { stats, stems: model.instruments.map((s) => sink.stem(s)) };
    };
    const full = await run(false);
    const skipped = await run(true);
    expect(full.stats.skippedSegments).toBe(0);
    expect(skipped.stats.skippedSegments).toBe(1);
    for (let k = 0; k < full.stems.length; k++) {
      const a = full.stems[k];
      const b = skipped.stems[k];
      expect(
        Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(
          Buffer.from(a.buffer, a.byteOffset, a.byteLength),
        ),
      ).toBe(true);
    }
    process.stdout.write(
      `[silence-skip] model time ${full.stats.inferenceMs.toFixed(0)} ms → ${skipped.stats.inferenceMs.toFixed(0)} ms, wall ${full.stats.wallMs.toFixed(0)} → ${skipped.stats.wallMs.toFixed(0)} ms\n`,
    );
  });
});
