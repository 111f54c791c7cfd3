/**
 * Installing an official-style Spleeter TensorFlow checkpoint archive over HTTP: download → extract
 * → TypeScript converter (helper code in src/core/tf) → validation (load + smoke inference) →
 * activate. The archive holds a full-size 2stems checkpoint (real variable names and shapes, seeded
 * random weights, plus Adam slots/global_step like TF writes); the catalog entry uses F = T = 64 so
 * the smoke inference is quick (U-Net weights do not depend on F or T). Built once per machine
 * under .cache/models-test/ (~70 MB).
 */
import { existsSync, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createTestUnetSpec } from '../../src/core/onnx/test-weights';
import { spleeterCheckpointTensors } from '../../src/core/tf/spleeter-checkpoint';
import { BundleTensorInput, writeTensorBundle } from '../../src/core/tf/tensor-bundle-writer';
import { HttpDownloader } from '../../src/infra/models/http-downloader';
import { ModelManager } from '../../src/engine/models/model-manager';
import { loadSpleeterModel } from '../../src/engine/families/spleeter/spleeter-onnx-model';
import { TestFileServer, catalogOf, filesToEntries, listTree, sha256, tarGz } from './models-fixtures';

jest.setTimeout(180_000);

const CACHE = path.resolve(__dirname, '..', '..', '.cache', 'models-test');
const ARCHIVE = path.join(CACHE, 'spleeter-2stems-seed7-v1.tar.gz');

/** The checkpoint archive as deezer ships it: `2stems/{checkpoint, model.index, model.data-…}`. */
async function checkpointArchive(): Promise<Buffer> {
  if (existsSync(ARCHIVE)) return fs.readFile(ARCHIVE);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ckpt-build-'));
  try {
    const tensors = new Map<string, BundleTensorInput>(
      spleeterCheckpointTensors(createTestUnetSpec('2stems', { seed: 7 })),
    );
    tensors.set('global_step', { shape: [], data: BigInt64Array.of(200000n) });
    tensors.set('beta1_power', { shape: [], data: Float32Array.of(0.9) });
    await writeTensorBundle(work, 'model', tensors);
    await fs.writeFile(
      path.join(work, 'checkpoint'),
      'model_checkpoint_path: "model"\nall_model_checkpoint_paths: "model"\n',
    );
    const files: Record<string, Uint8Array> = {};
    for (const f of await fs.readdir(work)) files[f] = await fs.readFile(path.join(work, f));
    const archive = tarGz(filesToEntries(files, '2stems'));
    await fs.mkdir(CACHE, { recursive: true });
    const tmp = `${ARCHIVE}.${process.pid}.tmp`;
    await fs.writeFile(tmp, archive);
    await fs.rename(tmp, ARCHIVE);
    return archive;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

const NAME = 'spleeter:test-2stems';

function entry(url: string, digest: string, F = 64) {
  return {
    name: NAME,
    kind: 'spleeter',
    format: 'tf-checkpoint',
    stems: ['vocals', 'accompaniment'],
    sample_rate: 44100,
    license: 'MIT',
    sources: [{ url, sha256: digest }],
    spleeter: {
      config: '2stems',
      F,
      T: 64,
      architecture: 'unet',
      conv_activation: 'leaky_relu',
      deconv_activation: 'relu',
    },
  };
}

describe(`${ModelManager.name} with TensorFlow checkpoint archives`, () => {
  let server: TestFileServer;
  let modelsDir: string;
  let archive: Buffer;

  beforeAll(async () => {
    archive = await checkpointArchive();
    server = await TestFileServer.start();
    server.serve('/v1.4.0/2stems.tar.gz', { body: archive });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(async () => {
    modelsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'models-conv-'));
  });
  afterEach(async () => {
    await fs.rm(modelsDir, { recursive: true, force: true });
  });

  it('downloads, converts, validates and activates; the result loads with the engine loader', async () => {
    const sut = new ModelManager({
      modelsDir,
      catalog: catalogOf([entry(server.url('/v1.4.0/2stems.tar.gz'), sha256(archive))]),
      downloader: new HttpDownloader({ progressIntervalMs: 0 }),
      precision: 'fp32',
    });
    const stages = new Set<string>();
    const started = Date.now();
    const res = await sut.downloadModel(NAME, { onProgress: (p) => stages.add(p.stage) });
    const installMs = Date.now() - started;
    expect(res).toMatchObject({ version: 'v1', installed: true });
    expect([...stages]).toEqual(
      expect.arrayContaining(['downloading', 'extracting', 'converting', 'validating', 'activating', 'done']),
    );
    const r = await sut.resolve(NAME);
    expect(r.precision).toBe('fp32');
    expect((await fs.readdir(r.dir!)).sort()).toEqual([
      'accompaniment.onnx',
      'spleeter.json',
      'version.json',
      'vocals.onnx',
    ]);
    const loaded = await loadSpleeterModel(r.dir!, { T: 64 });
    expect(loaded.info).toMatchObject({
      instruments: ['vocals', 'accompaniment'],
      F: 64,
      T: 64,
      architecture: 'unet',
    });
    await loaded.dispose();
    const report = await sut.validateModel(NAME);
    expect(report.valid).toBe(true);
    expect(report.checks.find((c) => c.name === 'smoke:vocals:finite')).toMatchObject({ ok: true });
    // The 70 MB archive and the extracted checkpoint are gone; only the converted model remains.
    expect(await listTree(path.join(modelsDir, '.tmp'))).toEqual([]);
    expect(await listTree(path.join(modelsDir, '.downloads'))).toEqual([]);
    process.stdout.write(
      `tf-checkpoint install (${(archive.length / 1e6).toFixed(1)} MB archive): ${installMs} ms\n`,
    );
  });

  it('refuses an archive whose checkpoint does not fit the entry (4stems expected), leaving nothing', async () => {
    const bad = {
      ...entry(server.url('/v1.4.0/2stems.tar.gz'), sha256(archive)),
      stems: ['vocals', 'drums', 'bass', 'other'],
    };
    bad.spleeter = { ...bad.spleeter, config: '4stems', conv_activation: 'elu', deconv_activation: 'elu' };
    const sut = new ModelManager({ modelsDir, catalog: catalogOf([bad]), downloader: new HttpDownloader() });
    await expect(sut.downloadModel(NAME)).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('does not match the Spleeter 4stems layout'),
    });
    expect((await listTree(modelsDir)).filter((p) => !['.tmp', '.downloads', '.locks'].includes(p))).toEqual(
      [],
    );
  });
});
