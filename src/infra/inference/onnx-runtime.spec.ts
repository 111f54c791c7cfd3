import { execFileSync } from 'child_process';
import { existsSync } from 'fs';
import { mkdtemp, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import * as ort from 'onnxruntime-node';
import { ErrorCodes } from '../../core/errors';
import { OnnxGraphBuilder } from '../../core/onnx/onnx-graph-builder';
import { OnnxRuntime, type InferenceLogger } from './onnx-runtime';

/** The CUDA EP needs provider libraries next to the binding; this npm install skipped them. */
const cudaLibraryPresent = (() => {
  try {
    const bin = dirname(
      require.resolve(
        `onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`,
      ),
    );
    return existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return true; // unknown layout: don't assume the EP must fail
  }
})();
/** Without a Vulkan loader Dawn has no adapter, so the WebGPU EP cannot start. */
const vulkanLoaderPresent = (() => {
  try {
    return execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes('libvulkan.so.1');
  } catch {
    return true; // unknown: don't assume the EP must fail
  }
})();

describe(OnnxRuntime.name, () => {
  let dir: string;
  let modelPath: string;
  let sut: OnnxRuntime;
  let warnings: string[];
  let logger: InferenceLogger;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-runtime-'));
    const b = new OnnxGraphBuilder();
    b.addInput('x', 'float32', ['n']);
    b.addNode('Mul', ['x', b.constant('k', 'float32', [], new Float32Array([3]))], ['y']);
    b.addOutput('y', 'float32', ['n']);
    modelPath = join(dir, 'triple.onnx');
    await writeFile(modelPath, b.serialize());
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    warnings = [];
    logger = { warn: (m) => warnings.push(m) };
    sut = new OnnxRuntime(logger);
  });
  afterEach(async () => {
    await sut.disposeAll();
  });

  it('creates a cpu session that runs', async () => {
    const handle = await sut.createSession(modelPath, { executionProviders: ['cpu'], intraOpThreads: 1 });
    expect(handle.executionProvider).toBe('cpu');
    const y = await handle.session.run({ x: new ort.Tensor('float32', new Float32Array([1, 2]), [2]) });
    expect(Array.from(y.y.data as Float32Array)).toEqual([3, 6]);
    expect(warnings).toEqual([]);
  });

  (cudaLibraryPresent ? it.skip : it)(
    'reports cpu, with a warning, when cuda cannot be registered',
    async () => {
      const handle = await sut.createSession(modelPath, { executionProviders: ['cuda', 'cpu'] });
      expect(handle.executionProvider).toBe('cpu');
      expect(handle.partialCpuFallback).toBe(false);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/falling back to cpu.*cuda:/);
    },
  );

  (cudaLibraryPresent || vulkanLoaderPresent ? it.skip : it)(
    'walks cuda -> webgpu -> cpu and never reports a GPU it did not get',
    async () => {
      const handle = await sut.createSession(modelPath, { executionProviders: ['cuda', 'webgpu', 'cpu'] });
      expect(handle.executionProvider).toBe('cpu');
      expect(warnings[0]).toMatch(/cuda:.*webgpu:/);
      // Remembered: a second model does not probe the failed EPs again.
      warnings.length = 0;
      const other = await sut.createSession(modelPath, {
        executionProviders: ['cuda', 'webgpu', 'cpu'],
        intraOpThreads: 1,
      });
      expect(other.executionProvider).toBe('cpu');
      expect(warnings[0]).toMatch(/cuda: unavailable/);
    },
  );

  (cudaLibraryPresent ? it.skip : it)(
    'fails with MODEL_LOAD_FAILED when no preferred EP works (no implicit cpu)',
    async () => {
      await expect(sut.createSession(modelPath, { executionProviders: ['cuda'] })).rejects.toMatchObject({
        code: ErrorCodes.MODEL_LOAD_FAILED,
        message: expect.stringContaining(modelPath),
      });
    },
  );

  it('caches sessions per (file, options) and disposes after the last release', async () => {
    const a = await sut.createSession(modelPath, { intraOpThreads: 1 });
    const b = await sut.createSession(modelPath, { intraOpThreads: 1 });
    const c = await sut.createSession(modelPath, { intraOpThreads: 2 });
    expect(b.session).toBe(a.session);
    expect(c.session).not.toBe(a.session);
    expect(sut.cachedSessionCount).toBe(2);
    await a.release();
    await a.release(); // idempotent: must not drop b's reference
    expect(sut.cachedSessionCount).toBe(2);
    await b.release();
    expect(sut.cachedSessionCount).toBe(1);
    await expect(
      b.session.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) }),
    ).rejects.toThrow();
    const d = await sut.createSession(modelPath, { intraOpThreads: 1 });
    expect(d.session).not.toBe(a.session);
  });

  it('fails with MODEL_NOT_INSTALLED for a missing file and MODEL_LOAD_FAILED naming a corrupt one', async () => {
    await expect(sut.createSession(join(dir, 'missing.onnx'))).rejects.toMatchObject({
      code: ErrorCodes.MODEL_NOT_INSTALLED,
    });
    const corrupt = join(dir, 'corrupt.onnx');
    await writeFile(corrupt, 'definitely not protobuf');
    await expect(sut.createSession(corrupt)).rejects.toMatchObject({
      code: ErrorCodes.MODEL_LOAD_FAILED,
      message: expect.stringContaining(corrupt),
    });
    expect(sut.cachedSessionCount).toBe(0);
  });

  it('rejects unknown execution provider names', async () => {
    await expect(
      sut.createSession(modelPath, { executionProviders: ['tpu' as never] }),
    ).rejects.toMatchObject({
      code: ErrorCodes.VALIDATION_FAILED,
    });
  });
});
