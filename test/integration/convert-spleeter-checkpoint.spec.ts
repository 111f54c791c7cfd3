import { promises as fs, existsSync, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { createTestUnetSpec, gaussianSource } from '../../src/core/onnx/test-weights';
import { referenceSpleeterForward } from '../support/unet-reference';
import { crc32c, maskCrc32c } from '../../src/core/tf/crc32c';
import { readLevelDbTable, writeLevelDbTable } from '../../src/core/tf/leveldb-table';
import {
  checkSpleeterVariables,
  expectedSpleeterVariables,
  isIgnoredCheckpointVariable,
  spleeterCheckpointTensors,
} from '../../src/core/tf/spleeter-checkpoint';
import { SPLEETER_MANIFEST_FILE, spleeterManifestSchema } from '../../src/core/onnx/spleeter-manifest';
import { convertSpleeterCheckpoint, resolveCheckpointPrefix } from '../../src/core/tf/spleeter-converter';
import { impliedShardSizes, parseTensorBundleIndex } from '../../src/core/tf/tensor-bundle-reader';
import { BundleTensorInput, writeTensorBundle } from '../../src/core/tf/tensor-bundle-writer';
import { loadSpleeterModel } from '../../src/engine/families/spleeter/spleeter-onnx-model';

/**
 * onnxruntime-node builds output tensors from Float32Arrays of Node's main realm, which fail jest's
 * sandbox `instanceof Float32Array` check inside onnxruntime-common; recognise them by tag instead.
 * Only Float32Array: Uint8Array is shared with the main realm in jest-environment-node and a looser
 * check there would make Buffer.isBuffer() accept plain Uint8Arrays (breaking protobufjs).
 */
Object.defineProperty(Float32Array, Symbol.hasInstance, {
  configurable: true,
  value: (v: unknown) =>
    ArrayBuffer.isView(v) && Object.prototype.toString.call(v) === '[object Float32Array]',
});

const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared');
const CKPT_DIR = path.join(SHARED, 'fixtures', 'spleeter-2stems-checkpoint');
const REAL_INDEX = path.join(CKPT_DIR, 'model.ckpt-1000000.index');
const haveReal = existsSync(REAL_INDEX);
if (!haveReal) console.warn(`[skip] real Spleeter index not found at ${REAL_INDEX} (../shared absent)`);
const describeReal = haveReal ? describe : describe.skip;

describeReal('real Spleeter 2stems checkpoint index', () => {
  const bytes = haveReal ? readFileSync(REAL_INDEX) : Buffer.alloc(0);
  const index = haveReal ? parseTensorBundleIndex(bytes) : undefined!;

  it('has 343 entries in one little-endian shard whose offsets imply 235,777,688 bytes', () => {
    expect(index.entries.size).toBe(343);
    expect(index.header).toEqual({ numShards: 1, endianness: 0, producer: 1 });
    expect(impliedShardSizes(index)).toEqual([235_777_688]);
    // Stored in byte-sorted key order with no padding: each tensor starts where the previous ended.
    let offset = 0;
    for (const e of index.entries.values()) {
      expect(e.offset).toBe(offset);
      offset += e.size;
    }
  });

  it('holds every variable the 2stems U-Nets need, with the expected shapes and float32 dtype', () => {
    const expected = expectedSpleeterVariables('2stems');
    expect(expected).toHaveLength(140);
    expect(checkSpleeterVariables(index.entries, '2stems')).toEqual({ missing: [], mismatched: [] });
    expect(index.entries.get('conv2d_7/kernel')?.shape).toEqual([5, 5, 2, 16]);
    expect(index.entries.get('conv2d_13/kernel')?.shape).toEqual([4, 4, 1, 2]);
    expect(index.entries.get('conv2d_transpose_7/kernel')?.shape).toEqual([5, 5, 128, 512]);
    expect(index.entries.get('conv2d_transpose_11/kernel')?.shape).toEqual([5, 5, 1, 32]);
    // 4stems would need conv2d_14.. which this checkpoint does not have.
    expect(checkSpleeterVariables(index.entries, '4stems').missing).toContain('conv2d_14/kernel');
  });

  it('leaves only Adam slots, beta powers, global_step and the unused BNs 5/17 unmapped', () => {
    const expected = new Set(expectedSpleeterVariables('2stems').map((v) => v.name));
    const rest = [...index.entries.keys()].filter((k) => !expected.has(k));
    const ignored = rest.filter(isIgnoredCheckpointVariable);
    expect(ignored.filter((k) => k.endsWith('/Adam'))).toHaveLength(96);
    expect(ignored.filter((k) => k.endsWith('/Adam_1'))).toHaveLength(96);
    expect(ignored.filter((k) => !k.includes('/Adam')).sort()).toEqual([
      'beta1_power',
      'beta2_power',
      'global_step',
    ]);
    expect(index.entries.get('global_step')).toMatchObject({ dtype: 9, shape: [] });
    expect(rest.filter((k) => !isIgnoredCheckpointVariable(k)).sort()).toEqual(
      ['batch_normalization_17', 'batch_normalization_5'].flatMap((l) =>
        ['beta', 'gamma', 'moving_mean', 'moving_variance'].map((p) => `${l}/${p}`),
      ),
    );
    expect(rest.some((k) => k.startsWith('batch_normalization_5/') && k.includes('Adam'))).toBe(false);
  });

  it('stores masked crc32c: every moving_mean is all zeros, every moving_variance all ones', () => {
    for (const [name, e] of index.entries) {
      const n = e.size / 4;
      if (name.endsWith('/moving_mean')) expect(e.crc32c).toBe(maskCrc32c(crc32c(new Uint8Array(e.size))));
      if (name.endsWith('/moving_variance')) {
        expect(e.crc32c).toBe(maskCrc32c(crc32c(new Uint8Array(new Float32Array(n).fill(1).buffer))));
      }
    }
  });

  it('re-encodes byte-identically with our LevelDB table writer', () => {
    expect(writeLevelDbTable(readLevelDbTable(bytes)).equals(bytes)).toBe(true);
  });

  it('resolves the prefix from the checkpoint file and fails cleanly without the data shard', async () => {
    expect(await resolveCheckpointPrefix(CKPT_DIR)).toBe(path.join(CKPT_DIR, 'model.ckpt-1000000'));
    const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'conv-real-')), 'out');
    await expect(
      convertSpleeterCheckpoint(CKPT_DIR, { config: '2stems', outDir: out }),
    ).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('data shard'),
    });
    expect(await fs.readdir(path.dirname(out))).toEqual([]);
    await fs.rm(path.dirname(out), { recursive: true });
  });
});

/** A checkpoint as TF writes it: weights + Adam slots for a few + beta powers + global_step. */
function checkpointTensors(spec: ReturnType<typeof createTestUnetSpec>): Map<string, BundleTensorInput> {
  const t = new Map<string, BundleTensorInput>(spleeterCheckpointTensors(spec));
  const g = gaussianSource(99);
  for (const name of ['conv2d/kernel', 'conv2d_transpose_6/bias', 'batch_normalization_12/gamma']) {
    const v = t.get(name)!;
    for (const slot of ['Adam', 'Adam_1']) {
      t.set(`${name}/${slot}`, {
        shape: v.shape,
        data: Float32Array.from({ length: v.data.length }, () => g()),
      });
    }
  }
  t.set('beta1_power', { shape: [], data: Float32Array.of(0.5) });
  t.set('beta2_power', { shape: [], data: Float32Array.of(0.25) });
  t.set('global_step', { shape: [], data: BigInt64Array.of(42n) });
  return t;
}

describe('convertSpleeterCheckpoint on generated checkpoints', () => {
  const T = 64;
  const F = 64;
  let root: string;
  let ckptDir: string;
  const spec = createTestUnetSpec('2stems', { seed: 7, F });

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'conv-gen-'));
    ckptDir = path.join(root, 'ckpt');
    await writeTensorBundle(ckptDir, 'model.ckpt-42', checkpointTensors(spec));
    await fs.writeFile(
      path.join(ckptDir, 'checkpoint'),
      'model_checkpoint_path: "model.ckpt-42"\nall_model_checkpoint_paths: "model.ckpt-42"\n',
    );
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it.each(['CSTF', 'SCTF'] as const)(
    'writes per-instrument ONNX files (%s) matching the TF-semantics reference within 1e-4',
    async (layout) => {
      const outDir = path.join(root, `out-${layout}`);
      const res = await convertSpleeterCheckpoint(ckptDir, {
        config: '2stems',
        F,
        T,
        outDir,
        layout,
        precision: 'fp32',
      });
      const manifest = spleeterManifestSchema.parse(
        JSON.parse(await fs.readFile(path.join(outDir, SPLEETER_MANIFEST_FILE), 'utf8')),
      );
      expect(manifest).toEqual(res.manifest);
      expect(manifest).toMatchObject({
        config: '2stems',
        architecture: 'unet',
        instruments: ['vocals', 'accompaniment'],
        activations: { conv: 'leaky_relu', deconv: 'relu' },
        F,
        T,
        sample_rate: 44100,
        files: { fp32: { vocals: 'vocals.onnx', accompaniment: 'accompaniment.onnx' } },
        source: { checkpoint: 'model.ckpt-42', tensors: String(140 + 8 + 6 + 3), layout },
      });
      expect((await fs.readdir(root)).filter((n) => n.includes('.tmp-'))).toEqual([]);

      const S = 2;
      const g = gaussianSource(5);
      const cstf = Float32Array.from({ length: 2 * S * T * F }, () => Math.abs(g()) * 2);
      const reference = referenceSpleeterForward(spec, cstf, S, T, F);
      let maxErr = 0;
      for (const [k, file] of res.files.map((f) => f.file).entries()) {
        const session = await ort.InferenceSession.create(path.join(outDir, file));
        try {
          let input: Float32Array = cstf;
          if (layout === 'SCTF') input = transposeCS(cstf, 2, S, T * F);
          const out = await session.run({
            x: new ort.Tensor(
              'float32',
              input as Float32Array<ArrayBuffer>,
              layout === 'CSTF' ? [2, S, T, F] : [S, 2, T, F],
            ),
          });
          let y = out.y.data as Float32Array;
          if (layout === 'SCTF') y = transposeCS(y, S, 2, T * F);
          for (let i = 0; i < y.length; i++) maxErr = Math.max(maxErr, Math.abs(y[i] - reference[k][i]));
        } finally {
          await session.release();
        }
      }
      console.log(`converter ${layout}: max |onnx − reference| = ${maxErr.toExponential(2)}`);
      expect(maxErr).toBeLessThan(1e-4);
      // The two instruments must differ (a mapping that read instrument 0 twice would not).
      expect(reference[0].some((v, i) => Math.abs(v - reference[1][i]) > 1e-3)).toBe(true);
    },
    120_000,
  );

  it('produces a directory the Spleeter ONNX loader accepts (manifest order, T, F, magnitudes)', async () => {
    const outDir = path.join(root, 'out-loader');
    await convertSpleeterCheckpoint(ckptDir, { config: '2stems', F, T, outDir, layout: 'SCTF' });
    const model = await loadSpleeterModel(outDir, { T });
    try {
      expect(model.info).toMatchObject({
        instruments: ['vocals', 'accompaniment'],
        instrumentSource: 'manifest',
        F,
        T,
        layout: 'SCTF',
      });
      const S = 1;
      const g = gaussianSource(11);
      const cstf = Float32Array.from({ length: 2 * S * T * F }, () => Math.abs(g()));
      const got = await model.run(cstf, S);
      const ref = referenceSpleeterForward(spec, cstf, S, T, F);
      const err = Math.max(
        ...got.map((y, k) => y.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[k][i])), 0)),
      );
      expect(err).toBeLessThan(1e-4);
    } finally {
      await model.dispose();
    }
  }, 60_000);

  it("precision 'fp16c': float16-compute files the loader selects, within 50 dB SNR of the reference", async () => {
    const outDir = path.join(root, 'out-fp16c');
    const res = await convertSpleeterCheckpoint(ckptDir, {
      config: '2stems',
      F,
      T,
      outDir,
      precision: 'fp16c',
    });
    expect(res.manifest.files).toEqual({
      fp16c: { vocals: 'vocals.fp16c.onnx', accompaniment: 'accompaniment.fp16c.onnx' },
    });
    const model = await loadSpleeterModel(outDir, { T, precision: 'fp16c' });
    try {
      expect(model.info.precision).toBe('fp16c');
      const S = 1;
      const g = gaussianSource(13);
      const cstf = Float32Array.from({ length: 2 * S * T * F }, () => Math.abs(g()));
      const got = await model.run(cstf, S);
      const ref = referenceSpleeterForward(spec, cstf, S, T, F);
      for (const [k, y] of got.entries()) {
        let signal = 0;
        let noise = 0;
        for (let i = 0; i < y.length; i++) {
          signal += ref[k][i] ** 2;
          noise += (y[i] - ref[k][i]) ** 2;
        }
        const snr = 10 * Math.log10(signal / noise);
        console.log(`converter fp16c ${model.instruments[k]}: SNR vs reference ${snr.toFixed(1)} dB`);
        expect(snr).toBeGreaterThan(50);
        expect(snr).toBeLessThan(120); // float16, not float32
      }
    } finally {
      await model.dispose();
    }
  }, 60_000);

  it('converts a 5stems (softmax_unet, elu) checkpoint: instrument k reads conv2d_{7k+i} etc.', async () => {
    const spec5 = createTestUnetSpec('5stems', { seed: 3, F });
    const dir = path.join(root, 'ckpt5');
    await writeTensorBundle(dir, 'model', spleeterCheckpointTensors(spec5));
    const outDir = path.join(root, 'out5');
    const res = await convertSpleeterCheckpoint(dir, { config: '5stems', F, T, outDir });
    expect(res.manifest).toMatchObject({
      architecture: 'softmax_unet',
      instruments: ['vocals', 'piano', 'drums', 'bass', 'other'],
      activations: { conv: 'elu', deconv: 'elu' },
    });
    const model = await loadSpleeterModel(outDir, { T });
    try {
      const S = 1;
      const g = gaussianSource(12);
      const cstf = Float32Array.from({ length: 2 * S * T * F }, () => Math.abs(g()));
      const got = await model.run(cstf, S);
      const ref = referenceSpleeterForward(spec5, cstf, S, T, F);
      const err = Math.max(
        ...got.map((y, k) => y.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[k][i])), 0)),
      );
      console.log(`converter 5stems via loader: max |onnx − reference| = ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
    } finally {
      await model.dispose();
    }
  }, 180_000);

  it('reports a corrupted data byte as MODEL_CHECKSUM_MISMATCH and leaves no output', async () => {
    const dir = path.join(root, 'corrupt');
    await fs.cp(ckptDir, dir, { recursive: true });
    const index = parseTensorBundleIndex(await fs.readFile(path.join(dir, 'model.ckpt-42.index')));
    const e = index.entries.get('conv2d_transpose_9/kernel')!;
    const dataPath = path.join(dir, 'model.ckpt-42.data-00000-of-00001');
    const fh = await fs.open(dataPath, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, e.offset + 17);
    b[0] ^= 0x10;
    await fh.write(b, 0, 1, e.offset + 17);
    await fh.close();
    const outDir = path.join(root, 'out-corrupt');
    await expect(convertSpleeterCheckpoint(dir, { config: '2stems', F, T, outDir })).rejects.toMatchObject({
      code: 'MODEL_CHECKSUM_MISMATCH',
      message: expect.stringContaining('conv2d_transpose_9/kernel'),
    });
    expect((await fs.readdir(root)).filter((n) => n.startsWith('out-corrupt'))).toEqual([]);
  }, 60_000);

  it('lists missing and mis-shaped variables as MODEL_INVALID', async () => {
    const t = checkpointTensors(spec);
    t.delete('conv2d_8/kernel');
    t.set('batch_normalization_7/gamma', { shape: [64], data: new Float32Array(64) });
    const dir = path.join(root, 'broken');
    await writeTensorBundle(dir, 'model', t); // no `checkpoint` file: single *.index rule
    const err = await convertSpleeterCheckpoint(dir, {
      config: '2stems',
      F,
      T,
      outDir: path.join(root, 'x'),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'MODEL_INVALID',
      context: { missing: ['conv2d_8/kernel'], mismatched: ['batch_normalization_7/gamma'] },
    });
    expect((err as Error).message).toMatch(
      /conv2d_8\/kernel.*batch_normalization_7\/gamma \[64\] \(expected \[128\]/,
    );
    await expect(
      convertSpleeterCheckpoint(dir, { config: '4stems', F, T, outDir: path.join(root, 'x') }),
    ).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
  }, 60_000);

  it('refuses to overwrite an existing output unless asked, then replaces it atomically', async () => {
    const outDir = path.join(root, 'existing');
    await fs.mkdir(outDir);
    await fs.writeFile(path.join(outDir, 'stale.txt'), 'x');
    await expect(
      convertSpleeterCheckpoint(ckptDir, { config: '2stems', F, T, outDir }),
    ).rejects.toMatchObject({
      code: 'OUTPUT_EXISTS',
    });
    await convertSpleeterCheckpoint(ckptDir, {
      config: '2stems',
      F,
      T,
      outDir,
      overwrite: true,
      precision: 'fp16',
    });
    expect((await fs.readdir(outDir)).sort()).toEqual([
      'accompaniment.fp16.onnx',
      SPLEETER_MANIFEST_FILE,
      'vocals.fp16.onnx',
    ]);
  }, 60_000);
});

/** [A, B, n] → [B, A, n]. */
function transposeCS(x: Float32Array, A: number, B: number, n: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(x.length);
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++) out.set(x.subarray((a * B + b) * n, (a * B + b + 1) * n), (b * A + a) * n);
  return out;
}
