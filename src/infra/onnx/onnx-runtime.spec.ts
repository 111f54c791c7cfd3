import { execFileSync } from 'child_process';
import { existsSync } from 'fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'fs/promises';
import { cpus, tmpdir } from 'os';
import { dirname, join, relative } from 'path';
import * as ort from 'onnxruntime-node';
import { ErrorCodes } from '../../core/errors';
import { OnnxGraphBuilder } from '../../core/onnx/onnx-graph-builder';
import { decodeModel } from '../../core/onnx/onnx-protos';
import { executionDeviceName, OnnxRuntime, type InferenceLogger } from './onnx-runtime';

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
    'fails with GPU_UNAVAILABLE when only GPU EPs are allowed and none registers (no implicit cpu)',
    async () => {
      await expect(sut.createSession(modelPath, { executionProviders: ['cuda'] })).rejects.toMatchObject({
        code: ErrorCodes.GPU_UNAVAILABLE,
        message: expect.stringMatching(/require_gpu.*cuda: /),
      });
    },
  );

  it('fails with MODEL_LOAD_FAILED, not GPU_UNAVAILABLE, for a corrupt model when cpu is allowed', async () => {
    const bad = join(dir, 'corrupt-gpu.onnx');
    await writeFile(bad, 'not an onnx model');
    await expect(sut.createSession(bad, { executionProviders: ['cuda', 'cpu'] })).rejects.toMatchObject({
      code: ErrorCodes.MODEL_LOAD_FAILED,
    });
  });

  it('probes cpu on a one-node model and names the CPU model as the device', async () => {
    const probe = await sut.probeExecutionProvider(['cpu']);
    expect(probe).toEqual({
      executionProvider: 'cpu',
      executionDevice: cpus()[0].model.trim(),
      failures: [],
    });
    expect(warnings).toEqual([]);
  });

  (cudaLibraryPresent ? it.skip : it)(
    'probes past a missing cuda to cpu with a one-line reason, and refuses GPU_UNAVAILABLE without cpu',
    async () => {
      const started = Date.now();
      const probe = await sut.probeExecutionProvider(['cuda', 'cpu']);
      expect(probe.executionProvider).toBe('cpu');
      expect(probe.failures).toHaveLength(1);
      expect(probe.failures[0]).toMatch(/^cuda: \S/);
      expect(probe.failures[0]).not.toContain('\n');
      // Remembered: the second probe does not load the provider library again, and says the same.
      await expect(sut.probeExecutionProvider(['cuda'])).rejects.toMatchObject({
        code: ErrorCodes.GPU_UNAVAILABLE,
        context: { failures: probe.failures },
      });
      expect(Date.now() - started).toBeLessThan(5000);
      // The probe reports; the caller (the engine) decides whether and how to warn.
      expect(warnings).toEqual([]);
    },
  );

  it('returns the device with a session handle', async () => {
    const handle = await sut.createSession(modelPath, { executionProviders: ['cpu'] });
    expect(handle.executionDevice).toBe(cpus()[0].model.trim());
  });

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

describe(executionDeviceName.name, () => {
  const cpu = cpus()[0].model.trim();
  it.each([
    ['cpu', 0, cpu],
    ['dsp', 0, cpu],
    ['cuda', 1, 'CUDA device 1'],
    ['webgpu', 0, null],
    ['cuda,cpu', 0, `CUDA device 0, ${cpu}`],
    ['cpu,cpu', 0, cpu],
    ['', 0, null],
  ])('%s (device %d) -> %s', (provider, deviceId, expected) => {
    expect(executionDeviceName(provider, deviceId)).toBe(expected);
  });
});

/** Conv + BatchNorm + Relu + a constant subexpression: a graph the 'all' level really rewrites. */
function convBnModel(channels = 8): Uint8Array {
  const b = new OnnxGraphBuilder();
  const seq = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  b.addInput('x', 'float32', [1, 4, 8, 8]);
  const w = b.constant(
    'w',
    'float32',
    [channels, 4, 3, 3],
    seq(channels * 36, (i) => Math.sin(i) / 4),
  );
  const bias = b.constant(
    'bias',
    'float32',
    [channels],
    seq(channels, (i) => i / 10),
  );
  const conv = b.op('Conv', ['x', w, bias], { pads: [1, 1, 1, 1] });
  const bn = b.op('BatchNormalization', [
    conv,
    b.constant(
      'scale',
      'float32',
      [channels],
      seq(channels, (i) => 1 + i / 8),
    ),
    b.constant(
      'shift',
      'float32',
      [channels],
      seq(channels, (i) => -i / 16),
    ),
    b.constant(
      'mean',
      'float32',
      [channels],
      seq(channels, (i) => i / 32),
    ),
    b.constant(
      'var',
      'float32',
      [channels],
      seq(channels, (i) => 1 + i / 4),
    ),
  ]);
  const relu = b.op('Relu', [bn]);
  const k = b.op('Add', [
    b.constant('k1', 'float32', [1], new Float32Array([1.5])),
    b.constant('k2', 'float32', [1], new Float32Array([0.25])),
  ]);
  b.addNode('Mul', [relu, k], ['y']);
  b.addOutput('y', 'float32', [1, channels, 8, 8]);
  return b.serialize();
}

const HEX_MODEL = /^[0-9a-f]{16}-[0-9a-f]{64}\.onnx$/;
const HEX_DATA = /^[0-9a-f]{16}-[0-9a-f]{64}\.[0-9a-f]{12}\.data$/;

/** A cache dir's entry: its model file and the data file it references. */
async function entryFiles(cacheDir: string): Promise<{ model: string; data: string; all: string[] }> {
  const all = (await readdir(cacheDir)).sort();
  const models = all.filter((f) => f.endsWith('.onnx'));
  const datas = all.filter((f) => f.endsWith('.data'));
  expect(models).toHaveLength(1);
  expect(datas).toHaveLength(1);
  return { model: models[0], data: datas[0], all };
}

describe(`${OnnxRuntime.name} optimized-model cache`, () => {
  let dir: string;
  let modelPath: string;
  let input: ort.Tensor;
  let expected: Float32Array;
  const runtimes: OnnxRuntime[] = [];

  /** A fresh runtime (no in-process session cache) whose logger records everything. */
  function fresh(): { rt: OnnxRuntime; logs: string[] } {
    const logs: string[] = [];
    const rt = new OnnxRuntime({
      warn: (m) => logs.push(`warn: ${m}`),
      debug: (m) => logs.push(`debug: ${m}`),
    });
    runtimes.push(rt);
    return { rt, logs };
  }

  async function runOnce(rt: OnnxRuntime, path: string, cacheDir: string | null): Promise<Float32Array> {
    const handle = await rt.createSession(path, { intraOpThreads: 1, optimizedModelCacheDir: cacheDir });
    expect(handle.executionProvider).toBe('cpu');
    expect(handle.path).toBe(path);
    const out = await handle.session.run({ x: input });
    return out.y.data as Float32Array;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-opt-cache-'));
    modelPath = join(dir, 'convbn.onnx');
    await writeFile(modelPath, convBnModel());
    input = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 4 * 64 }, (_, i) => Math.cos(i * 0.37)),
      [1, 4, 8, 8],
    );
    const { rt } = fresh();
    expected = Float32Array.from(await runOnce(rt, modelPath, null));
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((rt) => rt.disposeAll()));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is off without a cache dir: nothing is written next to the model', async () => {
    expect((await readdir(dir)).sort()).toEqual(['convbn.onnx']);
  });

  it('writes one entry (graph + mapped weights) on a miss and loads it on a hit with identical results', async () => {
    const cacheDir = join(dir, 'cache-hit', 'nested');
    const first = fresh();
    expect(Array.from(await runOnce(first.rt, modelPath, cacheDir))).toEqual(Array.from(expected));
    const files = await entryFiles(cacheDir);
    expect(files.model).toMatch(HEX_MODEL);
    expect(files.data).toMatch(HEX_DATA);
    expect(files.data.slice(0, 81)).toBe(files.model.slice(0, 81));
    const cached = join(cacheDir, files.model);
    const data = join(cacheDir, files.data);
    // The weights are in the data file, which the graph references by name.
    expect((await readFile(cached)).includes(files.data)).toBe(true);
    expect((await stat(data)).size).toBeGreaterThan((await stat(cached)).size);
    const before = [await stat(cached), await stat(data)];
    expect(first.logs.filter((l) => l.startsWith('warn'))).toEqual([]);

    const second = fresh();
    const create = jest.spyOn(ort.InferenceSession, 'create');
    try {
      expect(Array.from(await runOnce(second.rt, modelPath, cacheDir))).toEqual(Array.from(expected));
      // Loaded from the cached file alone, and not asked to save anything.
      expect(create.mock.calls.map((c) => c[0])).toEqual([cached]);
      expect(create.mock.calls[0][1]).not.toHaveProperty('optimizedModelFilePath');
    } finally {
      create.mockRestore();
    }
    const after = [await stat(cached), await stat(data)];
    after.forEach((a, i) => {
      expect(a.mtimeMs).toBe(before[i].mtimeMs);
      expect(a.ino).toBe(before[i].ino);
    });
    expect(await readdir(cacheDir)).toEqual(files.all);
    expect(second.logs).toEqual([]);
  });

  it('leaves one consistent entry when two runtimes write it at the same time', async () => {
    const cacheDir = join(dir, 'cache-race');
    const [a, b] = [fresh(), fresh()];
    const outs = await Promise.all([runOnce(a.rt, modelPath, cacheDir), runOnce(b.rt, modelPath, cacheDir)]);
    for (const o of outs) expect(Array.from(o)).toEqual(Array.from(expected));
    // One graph, and the data file it references; whichever write lost, nothing else is left.
    const files = await entryFiles(cacheDir);
    expect((await readFile(join(cacheDir, files.model))).includes(files.data)).toBe(true);
    const third = fresh();
    expect(Array.from(await runOnce(third.rt, modelPath, cacheDir))).toEqual(Array.from(expected));
    expect(third.logs).toEqual([]);
  });

  it('rebuilds an entry whose data file is gone, with a new data file name', async () => {
    const cacheDir = join(dir, 'cache-no-data');
    await runOnce(fresh().rt, modelPath, cacheDir);
    const old = await entryFiles(cacheDir);
    await rm(join(cacheDir, old.data));

    const { rt, logs } = fresh();
    expect(Array.from(await runOnce(rt, modelPath, cacheDir))).toEqual(Array.from(expected));
    const rebuilt = await entryFiles(cacheDir);
    expect(rebuilt.model).toBe(old.model);
    expect(rebuilt.data).not.toBe(old.data);
    expect(logs.some((l) => l.startsWith('debug') && l.includes('discarding'))).toBe(true);
    expect(logs.filter((l) => l.startsWith('warn'))).toEqual([]);
    expect(Array.from(await runOnce(fresh().rt, modelPath, cacheDir))).toEqual(Array.from(expected));
  });

  it('replaces a corrupt cached file and still returns a working session', async () => {
    const cacheDir = join(dir, 'cache-corrupt');
    await runOnce(fresh().rt, modelPath, cacheDir);
    const old = await entryFiles(cacheDir);
    const name = old.model;
    const cached = join(cacheDir, name);
    await writeFile(cached, Buffer.from('garbage, not a protobuf model'));
    const garbage = await stat(cached);

    const { rt, logs } = fresh();
    expect(Array.from(await runOnce(rt, modelPath, cacheDir))).toEqual(Array.from(expected));
    // The same entry name, with a new data file; the old one, no longer referenced, is removed.
    const replacedFiles = await entryFiles(cacheDir);
    expect(replacedFiles.model).toBe(name);
    expect(replacedFiles.data).not.toBe(old.data);
    const replaced = await stat(cached);
    expect(replaced.size).toBeGreaterThan(garbage.size);
    expect(logs.some((l) => l.startsWith('debug') && l.includes('discarding'))).toBe(true);
    expect(logs.filter((l) => l.startsWith('warn'))).toEqual([]);
    // And the replacement is a valid hit for the next process.
    expect(Array.from(await runOnce(fresh().rt, modelPath, cacheDir))).toEqual(Array.from(expected));
  });

  it('still yields a working session when the cache dir cannot be created (debug once, no warning)', async () => {
    const blocker = join(dir, 'a-regular-file');
    await writeFile(blocker, 'x');
    const cacheDir = join(blocker, 'cache');
    const { rt, logs } = fresh();
    expect(Array.from(await runOnce(rt, modelPath, cacheDir))).toEqual(Array.from(expected));
    // Another session (other options, same dir): not reported again.
    await rt.createSession(modelPath, { intraOpThreads: 2, optimizedModelCacheDir: cacheDir });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^debug: .*cache .*not usable/);
  });

  (process.getuid?.() === 0 ? it.skip : it)(
    'still yields a working session in a read-only cache dir',
    async () => {
      const cacheDir = join(dir, 'cache-readonly');
      await mkdir(cacheDir);
      await chmod(cacheDir, 0o555);
      try {
        const { rt, logs } = fresh();
        expect(Array.from(await runOnce(rt, modelPath, cacheDir))).toEqual(Array.from(expected));
        expect(await readdir(cacheDir)).toEqual([]);
        expect(logs.filter((l) => l.startsWith('warn'))).toEqual([]);
      } finally {
        await chmod(cacheDir, 0o755);
      }
    },
  );

  it('uses a new key when the model file changes, removes the stale entry, and never leaves temp files', async () => {
    const cacheDir = join(dir, 'cache-changed');
    const changing = join(dir, 'changing.onnx');
    await writeFile(changing, convBnModel(8));
    await runOnce(fresh().rt, changing, cacheDir);
    const { model: firstKey } = await entryFiles(cacheDir);

    await writeFile(changing, convBnModel(16));
    const { rt } = fresh();
    const handle = await rt.createSession(changing, { intraOpThreads: 1, optimizedModelCacheDir: cacheDir });
    const y = (await handle.session.run({ x: input })).y;
    expect(y.dims).toEqual([1, 16, 8, 8]);
    // one entry per model path: the old version's copy (graph and data) is gone, another model's is kept
    const { model, all } = await entryFiles(cacheDir);
    expect(model).toMatch(HEX_MODEL);
    expect(model).not.toBe(firstKey);
    expect(model.slice(0, 17)).toBe(firstKey.slice(0, 17));
    // The entry, and the record of its model path (optimized-model-orphans).
    const tag = model.slice(0, 16);
    expect(all.filter((f) => !f.startsWith(model.slice(0, 81)))).toEqual([`${tag}.source`]);
    expect(await readFile(join(cacheDir, `${tag}.source`), 'utf8')).toBe(`${relative(cacheDir, changing)}\n`);

    const other = join(dir, 'other.onnx');
    await writeFile(other, convBnModel(8));
    await runOnce(fresh().rt, other, cacheDir);
    expect(await readdir(cacheDir)).toHaveLength(6);
  });

  it('leaves no temp file behind when the model cannot be loaded', async () => {
    const cacheDir = join(dir, 'cache-bad-model');
    const bad = join(dir, 'bad.onnx');
    await writeFile(bad, 'not a model');
    await expect(
      fresh().rt.createSession(bad, { intraOpThreads: 1, optimizedModelCacheDir: cacheDir }),
    ).rejects.toMatchObject({ code: ErrorCodes.MODEL_LOAD_FAILED, message: expect.stringContaining(bad) });
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('rewrites ConvTransposes when asked, keyed apart, with the same outputs to float32 rounding', async () => {
    const deconvPath = join(dir, 'deconv.onnx');
    const b = new OnnxGraphBuilder();
    b.addInput('x', 'float32', [1, 4, 8, 8]);
    const w = b.constant(
      'w',
      'float32',
      [4, 16, 5, 5],
      Float32Array.from({ length: 1600 }, (_, i) => Math.sin(i) / 5),
    );
    const bias = b.constant(
      'bias',
      'float32',
      [16],
      Float32Array.from({ length: 16 }, (_, i) => i / 16),
    );
    b.addNode('ConvTranspose', ['x', w, bias], ['y'], {
      kernel_shape: [5, 5],
      strides: [2, 2],
      pads: [1, 1, 2, 2],
    });
    b.addOutput('y', 'float32', [1, 16, 16, 16]);
    await writeFile(deconvPath, b.serialize());
    const cacheDir = join(dir, 'cache-rewrite');
    const outputs: Float32Array[] = [];
    for (const rewriteConvTranspose of [false, true]) {
      const { rt, logs } = fresh();
      const handle = await rt.createSession(deconvPath, {
        intraOpThreads: 1,
        optimizedModelCacheDir: cacheDir,
        rewriteConvTranspose,
      });
      outputs.push(Float32Array.from((await handle.session.run({ x: input })).y.data as Float32Array));
      if (rewriteConvTranspose)
        expect(logs).toContain(
          `debug: onnxruntime: ${deconvPath}: 1 ConvTranspose rewritten as Conv, 0 kept`,
        );
    }
    // Each setting has its own entry; the second replaced the first (one entry per model file).
    const { model: entry } = await entryFiles(cacheDir);
    expect(entry).toMatch(HEX_MODEL);
    const ops = decodeModel(await readFile(join(cacheDir, entry))).graph!.node!.map((n) => n.opType);
    expect(ops).not.toContain('ConvTranspose');
    expect(ops).toContain('DepthToSpace');
    expect(outputs[1]).toHaveLength(16 * 16 * 16);
    outputs[0].forEach((v, i) => expect(Math.abs(outputs[1][i] - v)).toBeLessThan(1e-5));
  });
});
