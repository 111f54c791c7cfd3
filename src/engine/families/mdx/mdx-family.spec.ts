import { mkdtemp, rm } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { writeMdxModelDir } from '../../../../test/factories/mdx-models';
import { OnnxRuntime } from '../../../infra/onnx/onnx-runtime';
import { MdxFamily } from './mdx-family';

describe(MdxFamily.name, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mdx-family-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists the stems of a model without creating a session (request validation in the main thread)', async () => {
    const runtime = new OnnxRuntime();
    const create = jest.spyOn(runtime, 'createSession');
    const sut = new MdxFamily({
      executionProviders: ['cpu'],
      intraOpThreads: 1,
      precision: 'fp32',
      batchSegments: 1,
      logger: { warn: () => undefined },
      runtime,
    });

    const stems = await sut.stems(await writeMdxModelDir(join(dir, 'ramp')));

    expect(stems).toEqual(['vocals', 'instrumental']);
    expect(create).not.toHaveBeenCalled();
    await sut.dispose();
  });
});
