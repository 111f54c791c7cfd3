import { tmpdir } from 'os';
import { join } from 'path';
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
