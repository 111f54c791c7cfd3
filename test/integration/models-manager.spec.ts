/**
 * ModelManager end to end: real HTTP (local server), real archives, real onnxruntime loading and
 * smoke inference of generated models, real files and locks in a temporary models directory.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify as toYaml } from 'yaml';
import type { InstallProgress } from '../../src/core/models/model-types';
import { HttpDownloader } from '../../src/infra/models/http-downloader';
import { OnnxRuntime } from '../../src/infra/onnx/onnx-runtime';
import { modelPathTag } from '../../src/infra/onnx/optimized-model-cache';
import { ModelManager, type ModelManagerOptions } from '../../src/engine/models/model-manager';
import { loadSpleeterModel } from '../../src/engine/families/spleeter/spleeter-onnx-model';
import {
  HAVE_BZIP2,
  TestFileServer,
  catalogOf,
  filesToEntries,
  listTree,
  mdxEntry,
  md5Tail,
  sha256,
  sherpaEntry,
  sherpaStyleFiles,
  tarBz2,
  tarGz,
  tinyMdxOnnx,
  zipOf,
} from './models-fixtures';

jest.setTimeout(60_000);

const SHERPA = 'sherpa:test-2stems';
const MDX = 'mdx:test';

let server: TestFileServer;
let modelsDir: string;
let archive: Buffer;
let archiveUrl: string;
const managers: ModelManager[] = [];

/** Archives are .tar.bz2 like sherpa's when a bzip2 compressor exists, else .tar.gz. */
const ext = HAVE_BZIP2 ? 'tar.bz2' : 'tar.gz';
const pack = HAVE_BZIP2 ? tarBz2 : tarGz;

beforeAll(async () => {
  server = await TestFileServer.start();
  archive = pack(filesToEntries(sherpaStyleFiles(), 'sherpa-onnx-spleeter-2stems'));
  archiveUrl = server.serve(`/sherpa.${ext}`, { body: archive });
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  modelsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'models-mgr-'));
  server.requests.length = 0;
});
afterEach(async () => {
  managers.length = 0;
  await fs.rm(modelsDir, { recursive: true, force: true });
});

function newManager(models: unknown[], opts: Partial<ModelManagerOptions> = {}): ModelManager {
  const m = new ModelManager({
    modelsDir,
    catalog: catalogOf(models),
    downloader: new HttpDownloader({
      retryDelayMs: 10,
      progressIntervalMs: 0,
      idleTimeoutMs: 2000,
      connectTimeoutMs: 2000,
    }),
    ...opts,
  });
  managers.push(m);
  return m;
}

/** Everything in models.dir except bookkeeping that is allowed to stay (empty dirs, locks dir). */
async function leftovers(): Promise<string[]> {
  return (await listTree(modelsDir)).filter((p) => !['.tmp', '.downloads', '.locks'].includes(p));
}

describe(ModelManager.name, () => {
  it('installs a sherpa-style ONNX archive end to end: download, extract, manifest, validate, activate', async () => {
    const sut = newManager([
      sherpaEntry(SHERPA, archiveUrl, { sha256: sha256(archive), size: archive.length }),
    ]);
    const progress: InstallProgress[] = [];
    const res = await sut.downloadModel(SHERPA, { onProgress: (p) => progress.push(p) });

    expect(res).toMatchObject({ name: SHERPA, version: 'v1', installed: true });
    const model = await sut.getModel(SHERPA);
    expect(model).toMatchObject({
      installed: true,
      activeVersion: 'v1',
      source: 'catalog',
      stems: ['vocals', 'accompaniment'],
    });
    expect(model.versions[0]).toMatchObject({
      id: 'v1',
      active: true,
      origin: 'catalog',
      sourceUrl: archiveUrl,
      sha256: sha256(archive),
      format: 'onnx-archive',
      precision: 'fp32',
      validation: 'valid',
    });
    // The version directory is loadable by the engine's loader as is.
    const resolved = await sut.resolve(SHERPA);
    expect(resolved).toMatchObject({
      version: 'v1',
      kind: 'spleeter',
      ref: `${SHERPA}@v1`,
      precision: 'fp32',
    });
    const loaded = await loadSpleeterModel(resolved.dir!, { precision: 'fp32' });
    expect(loaded.info).toMatchObject({
      instruments: ['vocals', 'accompaniment'],
      F: 1024,
      instrumentSource: 'manifest',
    });
    await loaded.dispose();
    const record = JSON.parse(await fs.readFile(path.join(resolved.dir!, 'version.json'), 'utf8'));
    expect(record).toMatchObject({
      id: 'v1',
      name: SHERPA,
      source: { url: archiveUrl, sha256: sha256(archive) },
    });
    expect(record.files.map((f: { path: string }) => f.path).sort()).toEqual([
      'accompaniment.onnx',
      'spleeter.json',
      'vocals.onnx',
    ]);

    const stages = [...new Set(progress.map((p) => p.stage))];
    expect(stages).toEqual([
      'queued',
      'downloading',
      'verifying',
      'extracting',
      'validating',
      'activating',
      'done',
    ]);
    const fractions = progress.map((p) => p.fraction);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
    expect(fractions[fractions.length - 1]).toBe(1);
    // Nothing but the installed model remains: no archive, no staging.
    expect(await listTree(path.join(modelsDir, '.tmp'))).toEqual([]);
    expect(await listTree(path.join(modelsDir, '.downloads'))).toEqual([]);
  });

  it('returns the installed version without downloading again unless forced', async () => {
    const sut = newManager([sherpaEntry(SHERPA, archiveUrl)]);
    await sut.downloadModel(SHERPA);
    const again = await sut.downloadModel(SHERPA);
    expect(again).toMatchObject({ version: 'v1', installed: false });
    expect(server.requestsFor(`/sherpa.${ext}`)).toHaveLength(1);
    const forced = await sut.downloadModel(SHERPA, { force: true });
    expect(forced).toMatchObject({ version: 'v2', installed: true });
    expect(server.requestsFor(`/sherpa.${ext}`)).toHaveLength(2);
  });

  it('installs on first use when auto-download is on, and answers MODEL_NOT_INSTALLED when off', async () => {
    const off = newManager([sherpaEntry(SHERPA, archiveUrl)], { autoDownload: false });
    await expect(off.resolve(SHERPA)).rejects.toMatchObject({
      code: 'MODEL_NOT_INSTALLED',
      context: { model: SHERPA },
    });
    expect(server.requests).toHaveLength(0);

    const on = newManager([sherpaEntry(SHERPA, archiveUrl)], { autoDownload: true });
    const stages: string[] = [];
    const lease = await on.acquire(SHERPA, { onProgress: (p) => stages.push(p.stage) });
    expect(lease).toMatchObject({ name: SHERPA, version: 'v1', kind: 'spleeter' });
    expect(stages).toContain('downloading');
    expect(stages[stages.length - 1]).toBe('done');
    await lease.release();
    expect(server.requestsFor(`/sherpa.${ext}`)).toHaveLength(1);
  });

  it('resumes after a connection cut mid-file and installs the intact archive', async () => {
    const url = server.serve(`/cut.${ext}`, { body: archive, cutAt: Math.floor(archive.length / 2) });
    const sut = newManager([sherpaEntry(SHERPA, url, { sha256: sha256(archive) })]);
    const resumed: number[] = [];
    const res = await sut.downloadModel(SHERPA, {
      onProgress: (p) => p.resumedFrom && resumed.push(p.resumedFrom),
    });
    expect(res.version).toBe('v1');
    const reqs = server.requestsFor(`/cut.${ext}`);
    expect(reqs.map((r) => r.status)).toEqual([200, 206]);
    expect(reqs[1].range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(resumed.length).toBeGreaterThan(0);
    expect((await sut.getModel(SHERPA)).versions[0].sha256).toBe(sha256(archive));
  });

  it('refuses a checksum mismatch and leaves nothing behind', async () => {
    const sut = newManager([sherpaEntry(SHERPA, archiveUrl, { sha256: 'f'.repeat(64) })]);
    const events: string[] = [];
    sut.on('install.failed', (e) => events.push(e.name));
    await expect(sut.downloadModel(SHERPA)).rejects.toMatchObject({ code: 'MODEL_CHECKSUM_MISMATCH' });
    expect(events).toEqual([SHERPA]);
    expect(await leftovers()).toEqual([]);
    expect((await sut.getModel(SHERPA)).installed).toBe(false);
  });

  it('reports 404 as MODEL_DOWNLOAD_FAILED (status in context) and leaves nothing behind', async () => {
    const sut = newManager([sherpaEntry(SHERPA, server.url('/nope.tar.bz2'))]);
    await expect(sut.downloadModel(SHERPA)).rejects.toMatchObject({
      code: 'MODEL_DOWNLOAD_FAILED',
      context: { status: 404 },
    });
    expect(await leftovers()).toEqual([]);
  });

  it('tries the next mirror when the first one fails', async () => {
    const entry = sherpaEntry(SHERPA, server.url('/dead-mirror.tar.bz2'), { sha256: sha256(archive) });
    entry.sources.push({ url: archiveUrl, sha256: sha256(archive), size: null });
    const sut = newManager([entry]);
    await expect(sut.downloadModel(SHERPA)).resolves.toMatchObject({ version: 'v1' });
    expect((await sut.getModel(SHERPA)).versions[0].sourceUrl).toBe(archiveUrl);
  });

  it('times out a slow server with MODEL_DOWNLOAD_FAILED', async () => {
    const url = server.serve(`/slow.${ext}`, { body: archive, stallAfter: 10 });
    const sut = newManager([sherpaEntry(SHERPA, url)], {
      downloader: new HttpDownloader({ idleTimeoutMs: 250, retries: 1, retryDelayMs: 10 }),
    });
    const started = Date.now();
    await expect(sut.downloadModel(SHERPA)).rejects.toMatchObject({
      code: 'MODEL_DOWNLOAD_FAILED',
      context: { timeout: 'idle' },
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await sut.getModel(SHERPA)).installed).toBe(false);
  });

  it('refuses an archive with ../ entries without writing outside models.dir', async () => {
    const evil = tarGz([
      ...filesToEntries(sherpaStyleFiles(), 'pkg'),
      { name: '../../../../evil-model.txt', data: Buffer.from('pwned') },
    ]);
    const url = server.serve('/evil.tar.gz', { body: evil });
    const sut = newManager([sherpaEntry(SHERPA, url)]);
    await expect(sut.downloadModel(SHERPA)).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('unsafe path'),
    });
    for (let up = modelsDir, i = 0; i < 5; i++, up = path.dirname(up)) {
      expect(existsSync(path.join(up, 'evil-model.txt'))).toBe(false);
    }
    expect(await leftovers()).toEqual([]);
  });

  it('installs .zip archives too', async () => {
    const files = Object.fromEntries([...sherpaStyleFiles()].map(([n, b]) => [`pkg/${n}`, Buffer.from(b)]));
    const entry = sherpaEntry('sherpa:zip', server.serve('/model.zip', { body: zipOf(files) }));
    const sut = newManager([entry]);
    await expect(sut.downloadModel('sherpa:zip')).resolves.toMatchObject({ version: 'v1' });
  });

  it('shares one install between concurrent callers in a process and between processes (lock)', async () => {
    const url = server.serve(`/slowish.${ext}`, { body: archive, chunkDelayMs: 20 });
    const a = newManager([sherpaEntry(SHERPA, url)]);
    const b = newManager([sherpaEntry(SHERPA, url)]); // a second process on the same models.dir
    // Whichever "process" takes the install lock first, the other one waits for it.
    const waits: string[] = [];
    const onProgress = (p: { stage: string }) => waits.push(p.stage);
    const [r1, r2, r3] = await Promise.all([
      a.downloadModel(SHERPA, { onProgress }),
      a.downloadModel(SHERPA),
      b.downloadModel(SHERPA, { onProgress }),
    ]);
    expect(new Set([r1.version, r2.version, r3.version])).toEqual(new Set(['v1']));
    expect(server.requestsFor(`/slowish.${ext}`)).toHaveLength(1);
    expect(waits).toContain('waiting-for-lock');
    expect(await fs.readdir(path.join(modelsDir, 'sherpa~test-2stems', 'versions'))).toEqual(['v1']);
  });

  it('lets a second OS process wait for a running install and reuse its result', async () => {
    const url = server.serve(`/origin.${ext}`, { body: archive, responseDelayMs: 1500 });
    const catalogFile = path.join(modelsDir, '..', `catalog-${path.basename(modelsDir)}.yaml`);
    await fs.writeFile(catalogFile, toYaml({ catalog_version: 1, models: [sherpaEntry(SHERPA, url)] }));
    const child = spawn(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        path.join(__dirname, 'models-child-install.ts'),
        modelsDir,
        catalogFile,
        SHERPA,
      ],
      { cwd: path.resolve(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const lines: string[] = [];
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (c: string) => lines.push(...c.split('\n').filter(Boolean)));
      const deadline = Date.now() + 30_000;
      while (!lines.includes('downloading') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(lines).toContain('downloading');

      // The child holds the install lock and is downloading: we wait for it, then reuse v1.
      const stages: string[] = [];
      const mine = await newManager([sherpaEntry(SHERPA, url)]).downloadModel(SHERPA, {
        onProgress: (p) => stages.push(p.stage),
      });
      expect(await exited).toBe(0);
      expect(JSON.parse(lines[lines.length - 1])).toEqual({ version: 'v1', installed: true });
      expect(mine).toMatchObject({ version: 'v1', installed: false });
      expect(stages).toContain('waiting-for-lock');
      expect(stages).not.toContain('downloading');
      expect(server.requestsFor(`/origin.${ext}`)).toHaveLength(1);
      expect(await fs.readdir(path.join(modelsDir, 'sherpa~test-2stems', 'versions'))).toEqual(['v1']);
    } finally {
      child.kill();
      await fs.rm(catalogFile, { force: true });
    }
  });

  it('keeps versions: pin with @, rollback, activate, and refuses to delete a version in use', async () => {
    const sut = newManager([sherpaEntry(SHERPA, archiveUrl)]);
    await sut.downloadModel(SHERPA);
    await sut.downloadModel(SHERPA, { force: true });
    await sut.downloadModel(SHERPA, { force: true, activate: false });
    expect((await sut.getModel(SHERPA)).activeVersion).toBe('v2');
    expect((await sut.resolve(`${SHERPA}@v1`)).version).toBe('v1');
    expect((await sut.resolve(`${SHERPA}@3`)).version).toBe('v3');

    await expect(sut.rollback(SHERPA)).resolves.toMatchObject({ id: 'v1', active: true });
    expect((await sut.resolve(SHERPA)).version).toBe('v1');
    await sut.activate(SHERPA, 'v3');
    expect((await sut.resolve(SHERPA)).version).toBe('v3');

    const lease = await sut.acquire(SHERPA);
    expect(await sut.inUse(SHERPA, 'v3')).toBe(1);
    expect((await sut.getModel(SHERPA)).versions.find((v) => v.id === 'v3')!.inUse).toBe(1);
    await expect(sut.remove(`${SHERPA}@v3`)).rejects.toMatchObject({ code: 'MODEL_IN_USE' });
    await expect(sut.remove(SHERPA)).rejects.toMatchObject({ code: 'MODEL_IN_USE' });
    expect((await sut.getModel(SHERPA)).versions).toHaveLength(3);
    await lease.release();
    await lease.release(); // idempotent

    // Deleting the (idle) active version falls back to the previously active one.
    await expect(sut.remove(`${SHERPA}@v3`)).resolves.toEqual({
      name: SHERPA,
      removed: ['v3'],
      active: 'v1',
    });
    await expect(sut.remove(`${SHERPA}@v9`)).rejects.toMatchObject({ code: 'MODEL_NOT_INSTALLED' });
    await sut.remove(SHERPA);
    expect(await sut.getModel(SHERPA)).toMatchObject({ installed: false, versions: [] });
    await expect(sut.resolve(SHERPA)).rejects.toMatchObject({ code: 'MODEL_NOT_INSTALLED' });
    expect(await leftovers()).toEqual([]);
  });

  it("deletes a removed version's optimized-model cache entries, keeps the others, and prunes orphans at start", async () => {
    const cacheDir = path.join(modelsDir, '.ort-cache');
    const sut = newManager([sherpaEntry(SHERPA, archiveUrl)], { optimizedModelCacheDir: cacheDir });
    await sut.downloadModel(SHERPA);
    await sut.downloadModel(SHERPA, { force: true });
    // Real entries, written by onnxruntime through the cache for each version's files.
    const runtime = new OnnxRuntime();
    const filesOf = async (version: string) => {
      const dir = (await sut.resolve(`${SHERPA}@${version}`)).dir!;
      return (await fs.readdir(dir)).filter((f) => f.endsWith('.onnx')).map((f) => path.join(dir, f));
    };
    const v1 = await filesOf('v1');
    const v2 = await filesOf('v2');
    for (const file of [...v1, ...v2]) {
      const handle = await runtime.createSession(file, {
        intraOpThreads: 1,
        optimizedModelCacheDir: cacheDir,
      });
      await handle.release();
    }
    const tags = (files: string[]) => files.map((f) => modelPathTag(f));
    const entriesOf = async (fileTags: string[]) =>
      (await fs.readdir(cacheDir)).filter((n) => fileTags.some((t) => n.startsWith(t)));
    // Per file: the graph (weights this small stay inline, no data file) and the record of its path.
    const kinds = (names: string[]) =>
      names.map((n) => n.replace(/^[0-9a-f]{16}[-.]/, '').replace(/^[0-9a-f]{64}/, '')).sort();
    expect(kinds(await entriesOf(tags(v1)))).toEqual(v1.flatMap(() => ['.onnx', 'source']).sort());
    const keptBefore = (await entriesOf(tags(v2))).sort();
    expect(kinds(keptBefore)).toEqual(v2.flatMap(() => ['.onnx', 'source']).sort());

    await sut.remove(`${SHERPA}@v1`);
    expect(await entriesOf(tags(v1))).toEqual([]);
    expect((await entriesOf(tags(v2))).sort()).toEqual(keptBefore);

    // Gone some other way (deleted by hand): the next manager's start prunes them.
    await fs.rm(path.dirname(v2[0]), { recursive: true, force: true });
    await newManager([sherpaEntry(SHERPA, archiveUrl)], { optimizedModelCacheDir: cacheDir }).init();
    expect(await entriesOf(tags(v2))).toEqual([]);
  });

  it('sees leases of other processes (lease files) when removing', async () => {
    const a = newManager([sherpaEntry(SHERPA, archiveUrl)]);
    const b = newManager([sherpaEntry(SHERPA, archiveUrl)]);
    await a.downloadModel(SHERPA);
    const lease = await a.acquire(SHERPA);
    await expect(b.remove(SHERPA)).rejects.toMatchObject({ code: 'MODEL_IN_USE' });
    await lease.release();
    await expect(b.remove(SHERPA)).resolves.toMatchObject({ removed: ['v1'] });
  });

  it('detects a corrupted file: validate reports it, and the version is never used again', async () => {
    const sut = newManager([sherpaEntry(SHERPA, archiveUrl)]);
    await sut.downloadModel(SHERPA);
    const good = await sut.validateModel(SHERPA);
    expect(good).toMatchObject({ valid: true, corrupted: false });
    expect(good.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['files', 'load', 'stems', 'F', 'smoke:run', 'smoke:vocals:finite']),
    );
    const file = path.join((await sut.resolve(SHERPA)).dir!, 'vocals.onnx');
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 10] ^= 0xff; // same size, different content
    await fs.writeFile(file, bytes);
    const bad = await sut.validateModel(SHERPA);
    expect(bad).toMatchObject({ valid: false, corrupted: true });
    expect(bad.checks[0].detail).toContain('vocals.onnx: content changed');
    await expect(sut.resolve(SHERPA)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect((await sut.getModel(SHERPA)).installed).toBe(false);
    await expect(sut.activate(SHERPA, 'v1')).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('catches a truncated file on use (cheap size check) and marks the version invalid', async () => {
    const sut = newManager([sherpaEntry(SHERPA, archiveUrl)]);
    await sut.downloadModel(SHERPA);
    const dir = (await sut.resolve(SHERPA)).dir!;
    await fs.truncate(path.join(dir, 'accompaniment.onnx'), 100);
    await expect(sut.resolve(SHERPA)).rejects.toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('corrupted'),
    });
    expect((await sut.getModel(SHERPA)).versions[0].validation).toBe('invalid');
  });

  it('refuses to install a model whose smoke inference yields NaN, leaving nothing behind', async () => {
    const nanArchive = pack(filesToEntries(sherpaStyleFiles('fp32', [NaN, 1]), 'pkg'));
    const sut = newManager([sherpaEntry(SHERPA, server.serve(`/nan.${ext}`, { body: nanArchive }))]);
    const err = await sut.downloadModel(SHERPA).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringContaining('smoke:vocals:finite'),
    });
    expect(await leftovers()).toEqual([]);
  });

  it('installs fp16 file sets under their own names and resolves with that precision', async () => {
    const fp16 = pack(filesToEntries(sherpaStyleFiles('fp16'), 'sherpa-onnx-spleeter-2stems-fp16'));
    const entry = sherpaEntry('sherpa:test-fp16', server.serve(`/fp16.${ext}`, { body: fp16 }), {
      precision: 'fp16',
    });
    const sut = newManager([entry]);
    await sut.downloadModel('sherpa:test-fp16');
    const r = await sut.resolve('sherpa:test-fp16');
    expect(r.precision).toBe('fp16');
    expect((await fs.readdir(r.dir!)).sort()).toEqual([
      'accompaniment.fp16.onnx',
      'spleeter.json',
      'version.json',
      'vocals.fp16.onnx',
    ]);
  });

  describe('MDX-Net single files', () => {
    const dimF = 64;
    const dimT = 16;
    const onnx = tinyMdxOnnx(dimF, dimT);

    it('verifies the UVR md5_tail key and installs model.onnx + mdx.json', async () => {
      const url = server.serve('/UVR-test.onnx', { body: onnx });
      const sut = newManager([mdxEntry(MDX, url, dimF, dimT, { md5_tail: md5Tail(onnx) })]);
      await sut.downloadModel(MDX);
      const r = await sut.resolve(MDX);
      expect(r.kind).toBe('mdx');
      expect(JSON.parse(await fs.readFile(path.join(r.dir!, 'mdx.json'), 'utf8'))).toMatchObject({
        format: 'mdx-onnx',
        file: 'model.onnx',
        params: { dim_f: dimF, dim_t: dimT, n_fft: 256, compensate: 1.02, primary_stem: 'vocals' },
      });
      const report = await sut.validateModel(MDX);
      expect(report.valid).toBe(true);
      expect(report.checks.find((c) => c.name === 'smoke:run')!.detail).toContain(`[1, 4, ${dimF}, ${dimT}]`);
    });

    it('refuses a file whose md5_tail does not match (wrong or tampered model)', async () => {
      const url = server.serve('/UVR-other.onnx', { body: onnx });
      const sut = newManager([mdxEntry(MDX, url, dimF, dimT, { md5_tail: '0'.repeat(32) })]);
      await expect(sut.downloadModel(MDX)).rejects.toMatchObject({
        code: 'MODEL_CHECKSUM_MISMATCH',
        context: { check: 'md5_tail' },
      });
      expect(await leftovers()).toEqual([]);
    });

    it('refuses a file whose declared signature disagrees with the entry (dim_f)', async () => {
      const url = server.serve('/UVR-wrong.onnx', { body: tinyMdxOnnx(32, dimT) });
      const sut = newManager([mdxEntry(MDX, url, dimF, dimT)]);
      await expect(sut.downloadModel(MDX)).rejects.toMatchObject({
        code: 'MODEL_INVALID',
        message: expect.stringContaining('dim_f = 32, expected 64'),
      });
    });
  });

  it('installs an uploaded custom ONNX model as a versioned, validated model', async () => {
    const sut = newManager([sherpaEntry(SHERPA, archiveUrl)]);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'upload-'));
    const files: { name: string; path: string }[] = [];
    for (const [name, bytes] of sherpaStyleFiles()) {
      await fs.writeFile(path.join(dir, `u-${name}`), bytes);
      files.push({ name, path: path.join(dir, `u-${name}`) });
    }
    const manifest = {
      name: 'custom:vox',
      kind: 'spleeter',
      stems: ['vocals', 'accompaniment'],
      spleeter: {
        F: 1024,
        architecture: 'unet',
        conv_activation: 'leaky_relu',
        deconv_activation: 'relu',
        files: { vocals: 'vocals.onnx', accompaniment: 'accompaniment.onnx' },
      },
    };
    const res = await sut.installCustomOnnx({ manifest: JSON.stringify(manifest), files });
    expect(res).toMatchObject({ name: 'custom:vox', version: 'v1' });
    expect(await sut.getModel('custom:vox')).toMatchObject({
      source: 'custom',
      installed: true,
      activeVersion: 'v1',
    });
    expect((await sut.resolve('custom:vox')).source).toBe('custom');
    expect((await sut.listModels()).map((m) => m.name)).toContain('custom:vox');

    await expect(
      sut.installCustomOnnx({ manifest: { ...manifest, name: SHERPA }, files }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(sut.installCustomOnnx({ manifest, files: files.slice(0, 1) })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('not uploaded'),
    });
    const bogus = path.join(dir, 'bogus.onnx');
    await fs.writeFile(bogus, randomBytes(1000));
    await expect(
      sut.installCustomOnnx({
        manifest: { ...manifest, name: 'custom:bogus' },
        files: [files[0], { name: 'accompaniment.onnx', path: bogus }],
      }),
    ).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect(await sut.getModel('custom:bogus').catch((e: { code: string }) => e.code)).toBe(
      'MODEL_NOT_INSTALLED',
    );
    // Handed-over files (move: true) are deleted when the install is refused...
    const handed = path.join(dir, 'handed.onnx');
    await fs.copyFile(files[0].path, handed);
    await expect(
      sut.installCustomOnnx({
        manifest: { ...manifest, name: 'custom:refused' },
        files: [{ name: 'vocals.onnx', path: handed }],
        move: true,
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(existsSync(handed)).toBe(false);
    // ...and moved (nothing left behind) when it succeeds.
    const moved = files.map((f) => ({ name: f.name, path: `${f.path}.moved` }));
    for (let i = 0; i < files.length; i++) await fs.copyFile(files[i].path, moved[i].path);
    await sut.installCustomOnnx({
      manifest: { ...manifest, name: 'custom:moved' },
      files: moved,
      move: true,
    });
    expect(moved.map((f) => existsSync(f.path))).toEqual([false, false]);
    expect((await sut.getModel('custom:moved')).installed).toBe(true);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('installs from a local copy of the archive or an extracted directory (offline machines)', async () => {
    const sut = newManager([
      sherpaEntry(SHERPA, server.url('/unreachable.tar.bz2'), { sha256: sha256(archive) }),
    ]);
    const local = path.join(os.tmpdir(), `local-${process.pid}.${ext}`);
    await fs.writeFile(local, archive);
    try {
      await expect(sut.installFromArchive(SHERPA, local)).resolves.toMatchObject({ version: 'v1' });
      expect(server.requests).toHaveLength(0);
      expect(existsSync(local)).toBe(true);
      await fs.writeFile(local, Buffer.concat([archive, Buffer.from('x')]));
      await expect(sut.installFromArchive(SHERPA, local)).rejects.toMatchObject({
        code: 'MODEL_CHECKSUM_MISMATCH',
      });
      // An archive extracted by hand: used in place, left untouched.
      const dir = `${local}.d`;
      for (const [name, bytes] of sherpaStyleFiles()) {
        await fs.mkdir(path.join(dir, 'inner'), { recursive: true });
        await fs.writeFile(path.join(dir, 'inner', name), bytes);
      }
      await expect(sut.installFromArchive(SHERPA, dir)).resolves.toMatchObject({ version: 'v2' });
      expect((await sut.getModel(SHERPA)).versions[1]).toMatchObject({
        id: 'v2',
        sha256: null,
        active: true,
      });
      expect((await fs.readdir(path.join(dir, 'inner'))).sort()).toEqual([
        'accompaniment.onnx',
        'vocals.onnx',
      ]);
      await fs.rm(dir, { recursive: true, force: true });
    } finally {
      await fs.rm(local, { force: true });
    }
  });

  it.each(['builtin:center', 'builtin:hpss'])(
    'validates the built-in %s by separating the smoke signal',
    async (name) => {
      const sut = newManager([]);
      const report = await sut.validateModel(name);
      expect(report).toMatchObject({ name, version: 'builtin', valid: true });
      const sum = report.checks.find((c) => c.name === 'smoke:sum-to-mixture')!;
      expect(sum.ok).toBe(true);
      expect(Number(/at (-?[\d.]+) dB/.exec(sum.detail)![1])).toBeGreaterThanOrEqual(60);
      await expect(sut.remove(name)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    },
  );

  it('lists the catalog with install state and built-ins as installed', async () => {
    const sut = newManager([sherpaEntry(SHERPA, archiveUrl)]);
    const all = await sut.listModels();
    expect(all.find((m) => m.name === SHERPA)).toMatchObject({ installed: false, activeVersion: null });
    expect(all.find((m) => m.name === 'builtin:center')).toMatchObject({
      installed: true,
      activeVersion: 'builtin',
    });
    expect((await sut.listLocalModels()).map((m) => m.name).sort()).toEqual([
      'builtin:center',
      'builtin:hpss',
    ]);
    expect((await sut.resolve('builtin:hpss')).dir).toBeNull();
    await expect(sut.getModel('nope:model')).rejects.toMatchObject({ code: 'MODEL_NOT_INSTALLED' });
  });
});
