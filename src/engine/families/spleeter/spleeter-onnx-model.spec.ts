import { copyFile, mkdtemp, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { testModelDir } from '../../../../test/factories/models';
import { ErrorCodes } from '../../../core/errors';
import { OnnxGraphBuilder } from '../../../core/onnx/onnx-graph-builder';
import { BANDPASS_LOGIT, bandpassRange, defaultTinyScales } from '../../../core/onnx/spleeter-tiny-models';
import { mulberry32 } from '../../../core/onnx/test-weights';
import { OnnxRuntime } from '../../../infra/onnx/onnx-runtime';
import { loadSpleeterModel, softmaxTimesInput, type LoadedSpleeterModel } from './spleeter-onnx-model';

// Tiny analytic models with the real file contract; T is reduced so each run is microseconds.
const T = 8;
const F = 16;
const S = 3;

function input(seed = 1): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: 2 * S * T * F }, () => 4 * r());
}

describe('loadSpleeterModel', () => {
  const runtime = new OnnxRuntime();
  const loaded: LoadedSpleeterModel[] = [];
  let scratch: string;
  const load = async (dir: string, opts: Parameters<typeof loadSpleeterModel>[1] = {}) => {
    const m = await loadSpleeterModel(dir, { runtime, T, intraOpThreads: 1, ...opts });
    loaded.push(m);
    return m;
  };

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'spleeter-model-'));
  });
  afterAll(async () => {
    await Promise.all(loaded.map((m) => m.dispose()));
    await runtime.disposeAll();
    await rm(scratch, { recursive: true, force: true });
  });

  it.each(['CSTF', 'SCTF'] as const)(
    'identity 2stems (%s file): y = x in CSTF, info from the files',
    async (layout) => {
      const sut = await load(await testModelDir('identity', { config: '2stems', layout, F, T }));
      const x = input();
      const copy = x.slice();
      const [vocals, accompaniment] = await sut.run(x, S);
      expect(vocals).toEqual(x);
      expect(accompaniment).toEqual(x);
      expect(x).toEqual(copy); // input untouched
      expect(vocals).not.toBe(x);
      expect(sut.instruments).toEqual(['vocals', 'accompaniment']);
      expect(sut.F).toBe(F);
      expect(sut.executionProvider).toBe('cpu');
      expect(sut.info).toMatchObject({
        layout,
        T,
        architecture: 'unet',
        output: 'magnitude',
        instrumentSource: 'manifest',
      });
    },
  );

  it('scale 4stems: y_i = k_i · x exactly, in manifest order', async () => {
    const sut = await load(await testModelDir('scale', { config: '4stems', layout: 'SCTF', F, T }));
    const x = input(2);
    const outs = await sut.run(x, S);
    expect(sut.instruments).toEqual(['vocals', 'drums', 'bass', 'other']);
    const k = defaultTinyScales(4);
    outs.forEach((y, i) => expect(y).toEqual(x.map((v) => Math.fround(v * k[i]))));
  });

  it('5stems identity logits: softmax of equal logits gives x / 5', async () => {
    const sut = await load(await testModelDir('identity', { config: '5stems', F, T }));
    expect(sut.info).toMatchObject({ architecture: 'softmax_unet', output: 'logits' });
    const x = input(3);
    for (const y of await sut.run(x, S)) y.forEach((v, i) => expect(v).toBeCloseTo(x[i] / 5, 6));
  });

  it('5stems scale logits: softmax_i(k·x) · x, finite even for large logits', async () => {
    const scales = [100, 50, 0, -50, 1];
    const sut = await load(await testModelDir('scale', { config: '5stems', F, T, scales }));
    const x = input(4).map((v) => v * 10); // logits up to 4000: a naive exp overflows
    const outs = await sut.run(x, S);
    for (let i = 0; i < x.length; i += 7) {
      const z = scales.map((k) => Math.fround(k * x[i]));
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const sum = e.reduce((a, b) => a + b, 0);
      outs.forEach((y, k) => expect(y[i]).toBeCloseTo((e[k] / sum) * x[i], 4));
    }
    expect(outs.every((y) => y.every(Number.isFinite))).toBe(true);
  });

  it.each(['2stems', '5stems'] as const)(
    'bandpass %s: bands partition the spectrum and sum to x',
    async (config) => {
      const sut = await load(await testModelDir('bandpass', { config, F, T }));
      const x = input(5);
      const outs = await sut.run(x, S);
      const n = outs.length;
      for (let i = 0; i < x.length; i++) {
        const f = i % F;
        const owner = Array.from({ length: n }, (_, k) => bandpassRange(k, n, F)).findIndex(
          ([a, b]) => f >= a && f < b,
        );
        outs.forEach((y, k) => {
          // softmax leaves e^-40 (≈ 4e-18) off the band: below float32 resolution of x.
          const expected = k === owner ? x[i] : 0;
          expect(Math.abs(y[i] - expected)).toBeLessThanOrEqual(
            config === '5stems' ? x[i] * 4 * Math.exp(-BANDPASS_LOGIT) + 1e-6 : 0,
          );
        });
      }
    },
  );

  it('picks the *.fp16.onnx files when precision is fp16', async () => {
    const sut = await load(await testModelDir('identity', { config: '2stems', F, T, precision: 'fp16' }), {
      precision: 'fp16',
    });
    expect(sut.info.files.map((f) => f.split('/').pop())).toEqual([
      'vocals.fp16.onnx',
      'accompaniment.fp16.onnx',
    ]);
    await expect(
      load(await testModelDir('identity', { config: '2stems', F, T, precision: 'fp16' })),
    ).rejects.toMatchObject({
      code: ErrorCodes.MODEL_NOT_INSTALLED,
      message: expect.stringContaining('vocals.onnx'),
    });
  });

  it('without a manifest takes the instrument order from metadata', async () => {
    const sut = await load(await testModelDir('scale', { config: '4stems', F, T, manifest: false }));
    expect(sut.info.instrumentSource).toBe('metadata');
    expect(sut.instruments).toEqual(['vocals', 'drums', 'bass', 'other']);
  });

  /** A sherpa-onnx-like file: x [2, num_splits, T, F] -> y = k·x, no custom metadata at all. */
  function sherpaLike(
    k: number,
    shape: (number | string)[] = [2, 'num_splits', T, F],
    meta: Record<string, string> = {},
  ) {
    const b = new OnnxGraphBuilder();
    b.addInput('x', 'float32', shape);
    b.addNode('Mul', ['x', b.constant('k', 'float32', [], new Float32Array([k]))], ['y']);
    b.addOutput('y', 'float32', shape);
    b.setMetadata('model_type', 'spleeter').setMetadata('sample_rate', '41000');
    for (const [key, v] of Object.entries(meta)) b.setMetadata(key, v);
    return b.serialize();
  }

  async function dirWith(name: string, files: Record<string, Uint8Array | string>): Promise<string> {
    const d = join(scratch, name);
    await rm(d, { recursive: true, force: true });
    await import('fs/promises').then((fs) => fs.mkdir(d, { recursive: true }));
    for (const [f, content] of Object.entries(files)) await writeFile(join(d, f), content);
    return d;
  }

  it('loads a sherpa-style 2-stem directory in the vocals/accompaniment order', async () => {
    const d = await dirWith('sherpa', {
      'vocals.onnx': sherpaLike(0.25),
      'accompaniment.onnx': sherpaLike(0.75),
    });
    const sut = await load(d);
    expect(sut.info.instrumentSource).toBe('files');
    expect(sut.instruments).toEqual(['vocals', 'accompaniment']);
    const x = input(6);
    const [v, a] = await sut.run(x, S);
    expect(v[10]).toBe(Math.fround(x[10] * 0.25));
    expect(a[10]).toBe(Math.fround(x[10] * 0.75));
  });

  it.each<[string, string[], 'fp32' | 'fp16' | 'int8', string]>([
    ['4 stems', ['vocals', 'drums', 'bass', 'other'], 'fp32', ''],
    ['5 stems', ['vocals', 'piano', 'drums', 'bass', 'other'], 'fp32', ''],
    ['4 stems in fp16', ['vocals', 'drums', 'bass', 'other'], 'fp16', '.fp16'],
    ['4 stems in int8 beside 2-stem fp32 files', ['vocals', 'drums', 'bass', 'other'], 'int8', '.int8'],
  ])(
    'without spleeter.json or metadata infers %s from the files present, in Spleeter order',
    async (name, stems, precision, suffix) => {
      // Written in an order unlike Spleeter's, so a sorted directory listing would give another order.
      const files: Record<string, Uint8Array> = {};
      const shuffled = [...stems].reverse();
      shuffled.forEach((s) => (files[`${s}${suffix}.onnx`] = sherpaLike(stems.indexOf(s) + 1)));
      if (precision === 'int8') {
        files['vocals.onnx'] = sherpaLike(9);
        files['accompaniment.onnx'] = sherpaLike(9);
      }
      const sut = await load(await dirWith(name.replace(/\W/g, '_'), files), { precision });
      expect(sut.info.instrumentSource).toBe('files');
      expect(sut.instruments).toEqual(stems);
      const x = input(8);
      const outs = await sut.run(x, S);
      // Each output is its own instrument's network: k = position in the Spleeter order + 1.
      outs.forEach((y, k) => expect(y[10]).toBe(Math.fround(x[10] * (k + 1))));
    },
  );

  it('refuses a file that is another instrument’s network', async () => {
    const d = await dirWith('swapped', {
      'vocals.onnx': sherpaLike(1, undefined, { comment: 'accompaniment' }),
      'accompaniment.onnx': sherpaLike(1, undefined, { comment: 'accompaniment' }),
    });
    await expect(load(d)).rejects.toMatchObject({
      code: ErrorCodes.MODEL_INVALID,
      message: expect.stringContaining('vocals.onnx'),
    });
  });

  it.each([
    [
      'different F',
      { 'vocals.onnx': sherpaLike(1), 'accompaniment.onnx': sherpaLike(1, [2, 'num_splits', T, 2 * F]) },
      'accompaniment.onnx',
    ],
    [
      'no channel axis',
      { 'vocals.onnx': sherpaLike(1, [4, 'n', T, F]), 'accompaniment.onnx': sherpaLike(1) },
      'vocals.onnx',
    ],
    [
      'fixed T other than expected',
      {
        'vocals.onnx': sherpaLike(1, [2, 'n', 512, F]),
        'accompaniment.onnx': sherpaLike(1, [2, 'n', 512, F]),
      },
      'T=512',
    ],
    ['corrupt file', { 'vocals.onnx': 'garbage', 'accompaniment.onnx': sherpaLike(1) }, 'vocals.onnx'],
    [
      'invalid manifest',
      { 'spleeter.json': JSON.stringify({ name: 'x', architecture: 'unet', instruments: ['../etc'], F }) },
      'spleeter.json',
    ],
  ])('fails with MODEL_INVALID on %s, naming the culprit', async (name, files, culprit) => {
    const d = await dirWith(name.replace(/\W/g, '_'), files as Record<string, Uint8Array | string>);
    await expect(load(d)).rejects.toMatchObject({
      code: ErrorCodes.MODEL_INVALID,
      message: expect.stringContaining(culprit),
    });
  });

  it('fails with MODEL_NOT_INSTALLED for a missing directory or instrument file', async () => {
    await expect(load(join(scratch, 'nowhere'))).rejects.toMatchObject({
      code: ErrorCodes.MODEL_NOT_INSTALLED,
    });
    const d = await dirWith('half', { 'vocals.onnx': sherpaLike(1) });
    await expect(load(d)).rejects.toMatchObject({
      code: ErrorCodes.MODEL_NOT_INSTALLED,
      message: expect.stringContaining('accompaniment.onnx'),
    });
  });

  it('validates run() input, honours abort signals and refuses to run after dispose', async () => {
    const src = await testModelDir('identity', { config: '2stems', F, T });
    const d = join(scratch, 'disposable');
    await rm(d, { recursive: true, force: true });
    await import('fs/promises').then((fs) => fs.mkdir(d));
    for (const f of ['vocals.onnx', 'accompaniment.onnx', 'spleeter.json'])
      await copyFile(join(src, f), join(d, f));
    const sut = await loadSpleeterModel(d, { runtime, T });
    await expect(sut.run(new Float32Array(10), S)).rejects.toMatchObject({
      code: ErrorCodes.VALIDATION_FAILED,
    });
    const ac = new AbortController();
    ac.abort();
    await expect(sut.run(input(), S, ac.signal)).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED });
    // A view into a larger buffer is fed correctly (offset honoured).
    const big = new Float32Array(2 * S * T * F + 5);
    big.set(input(7), 5);
    expect((await sut.run(big.subarray(5), S))[0]).toEqual(input(7));
    await sut.dispose();
    await sut.dispose();
    await expect(sut.run(input(), S)).rejects.toMatchObject({ code: ErrorCodes.MODEL_INFERENCE_FAILED });
  });
});

describe('softmaxTimesInput', () => {
  it('is stable for huge logits and sums to the input', () => {
    const logits = [
      new Float32Array([1000, -1000, 0]),
      new Float32Array([1000, 0, 0]),
      new Float32Array([-1000, 0, 0]),
    ];
    const x = new Float32Array([2, 3, 6]);
    softmaxTimesInput(logits, x);
    expect(Array.from(logits[0])).toEqual([1, 0, 2]);
    expect(Array.from(logits[1])).toEqual([1, 1.5, 2]);
    expect(Array.from(logits[2])).toEqual([0, 1.5, 2]);
  });
});

describe('loadSpleeterModel with worker threads', () => {
  it('runs each instrument in its own worker thread with identical results', async () => {
    const dir = await testModelDir('scale', { config: '4stems', layout: 'SCTF', F, T });
    const warnings: string[] = [];
    const sut = await loadSpleeterModel(dir, {
      T,
      parallelism: 'worker-threads',
      intraOpThreads: 1,
      executionProviders: ['cuda', 'cpu'],
      logger: { warn: (m) => warnings.push(m) },
    });
    try {
      expect(sut.info.parallelism).toBe('worker-threads');
      // Each worker's EP fallback warning reaches the caller's logger.
      if (sut.executionProvider === 'cpu')
        expect(warnings.filter((w) => /falling back to cpu/.test(w))).toHaveLength(4);
      const big = new Float32Array(2 * S * T * F + 3);
      big.set(input(8), 3);
      const x = big.subarray(3);
      const outs = await sut.run(x, S);
      const k = defaultTinyScales(4);
      outs.forEach((y, i) => expect(y).toEqual(x.map((v) => Math.fround(v * k[i]))));
      // Inputs travel to the workers by transfer into buffers that are reused: the caller's array
      // stays intact and a second call with other data gets results of its own data.
      expect(x).toEqual(input(8));
      const x2 = input(9);
      const outs2 = await sut.run(x2, S);
      outs2.forEach((y, i) => expect(y).toEqual(x2.map((v) => Math.fround(v * k[i]))));
      const ac = new AbortController();
      ac.abort();
      await expect(sut.run(x, S, ac.signal)).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED });
    } finally {
      await sut.dispose();
    }
    await expect(sut.run(input(), S)).rejects.toMatchObject({ code: ErrorCodes.MODEL_INFERENCE_FAILED });
  }, 60_000);

  it('reports a session that fails inside its worker as MODEL_LOAD_FAILED naming the file', async () => {
    // Valid protobuf and signature (so the loader's checks pass), but an operator onnxruntime lacks.
    const dir = await mkdtemp(join(tmpdir(), 'spleeter-worker-'));
    try {
      const file = () => {
        const b = new OnnxGraphBuilder();
        b.addInput('x', 'float32', [2, 'n', T, F]);
        b.addNode('NoSuchOperator', ['x'], ['y']);
        b.addOutput('y', 'float32', [2, 'n', T, F]);
        return b.serialize();
      };
      await writeFile(join(dir, 'vocals.onnx'), file());
      await writeFile(join(dir, 'accompaniment.onnx'), file());
      await expect(loadSpleeterModel(dir, { T, parallelism: 'worker-threads' })).rejects.toMatchObject({
        code: ErrorCodes.MODEL_LOAD_FAILED,
        message: expect.stringContaining('.onnx'),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
