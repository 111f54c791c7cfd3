import { mkdtemp, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { OnnxGraphBuilder } from '../../../core/onnx/onnx-graph-builder';
import { testModelDir } from '../../../../test/factories/models';
import { ErrorCodes } from '../../../core/errors';
import { OnnxRuntime } from '../../../infra/onnx/onnx-runtime';
import { crossJobBatchingFor, SpleeterFamily } from './spleeter-family';

function family(runtime: OnnxRuntime): SpleeterFamily {
  return new SpleeterFamily({
    executionProviders: ['cpu'],
    intraOpThreads: 1,
    parallelInstruments: false,
    precision: 'fp32',
    batchSegments: 1,
    logger: { warn: () => undefined },
    runtime,
  });
}

describe(SpleeterFamily.name, () => {
  it('lists the stems of a model without creating a session (request validation in the main thread)', async () => {
    const runtime = new OnnxRuntime();
    const create = jest.spyOn(runtime, 'createSession');
    const sut = family(runtime);

    const stems = await sut.stems(await testModelDir('identity', { config: '4stems', F: 16, T: 8 }));

    expect(stems).toEqual(['vocals', 'drums', 'bass', 'other']);
    expect(create).not.toHaveBeenCalled();
    await sut.dispose();
  });

  it('forgets a model whose sessions fail after it was returned, so the next job loads it again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spleeter-family-'));
    const sut = new SpleeterFamily({
      executionProviders: ['cpu'],
      intraOpThreads: 2,
      parallelInstruments: true,
      precision: 'fp32',
      batchSegments: 1,
      logger: { warn: () => undefined },
      runtime: new OnnxRuntime(),
    });
    const loaded = (sut as unknown as { loaded: Map<string, unknown> }).loaded;
    try {
      // Valid files (the loader's checks pass) with an operator onnxruntime lacks.
      const b = new OnnxGraphBuilder();
      b.addInput('x', 'float32', [2, 'n', 512, 1024]);
      b.addNode('NoSuchOperator', ['x'], ['y']);
      b.addOutput('y', 'float32', [2, 'n', 512, 1024]);
      for (const f of ['vocals.onnx', 'accompaniment.onnx']) await writeFile(join(dir, f), b.serialize());

      await sut.separator(dir, { mwf: false, bandwidth: 'model' });
      expect(loaded.size).toBe(1);
      for (let i = 0; i < 100 && loaded.size > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(loaded.size).toBe(0);
    } finally {
      await sut.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a directory that does not exist with MODEL_NOT_INSTALLED', async () => {
    const sut = family(new OnnxRuntime());

    await expect(sut.stems(join(tmpdir(), 'no-such-spleeter-model-dir'))).rejects.toMatchObject({
      code: ErrorCodes.MODEL_NOT_INSTALLED,
    });
  });

  it('turns cross-job batching on for GPU providers only in auto mode; on/off are unconditional', () => {
    expect(crossJobBatchingFor('auto', 'cpu')).toBe(false);
    expect(crossJobBatchingFor('auto', 'cuda,cpu')).toBe(false);
    expect(crossJobBatchingFor('auto', 'cuda')).toBe(true);
    expect(crossJobBatchingFor('auto', 'webgpu')).toBe(true);
    expect(crossJobBatchingFor('on', 'cpu')).toBe(true);
    expect(crossJobBatchingFor('off', 'cuda')).toBe(false);
  });
});
