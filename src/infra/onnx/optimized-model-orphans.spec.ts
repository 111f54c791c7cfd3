import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  orphanedCacheFiles,
  pruneOrphanedOptimizedModels,
  recordEntrySource,
  sourceRecordName,
} from './optimized-model-orphans';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const KEY = 'c'.repeat(64);

describe('optimized-model orphans', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ort-orphans-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("names a gone tag's graphs, data files and record, and nothing of other tags or temp files", () => {
    const names = [
      `${A}-${KEY}.onnx`,
      `${A}-${KEY}.0123456789ab.data`,
      `${A}.source`,
      `${B}-${KEY}.onnx`,
      `${B}.source`,
      `.${KEY}.0123456789ab.tmp.onnx`,
      'unrelated.txt',
    ];
    expect(orphanedCacheFiles(names, new Set([A])).sort()).toEqual(
      [`${A}-${KEY}.0123456789ab.data`, `${A}-${KEY}.onnx`, `${A}.source`].sort(),
    );
    expect(orphanedCacheFiles(names, new Set())).toEqual([]);
  });

  it('records the model path relative to the cache dir, atomically, rewritten only when it changes', async () => {
    const cache = join(dir, '.ort-cache');
    const record = join(cache, sourceRecordName(A));
    await mkdir(cache);
    await recordEntrySource(cache, A, join(dir, 'x', 'v1', 'vocals.onnx'));
    expect(await readFile(record, 'utf8')).toBe('../x/v1/vocals.onnx\n');
    await recordEntrySource(cache, A, join(dir, 'x', 'v1', 'vocals.onnx'));
    await recordEntrySource(cache, A, join(dir, 'x', 'v2', 'vocals.onnx'));
    expect(await readFile(record, 'utf8')).toBe('../x/v2/vocals.onnx\n');
    expect(await readdir(cache)).toEqual([sourceRecordName(A)]);
  });

  it('judges recorded paths from the cache dir: a models volume mounted elsewhere agrees', async () => {
    const models = join(dir, 'models');
    await mkdir(join(models, '.ort-cache'), { recursive: true });
    await writeFile(join(models, 'live.onnx'), 'x');
    await recordEntrySource(join(models, '.ort-cache'), A, join(models, 'live.onnx'));
    await writeFile(join(models, '.ort-cache', `${A}-${KEY}.onnx`), 'graph');
    // The same volume seen at another path (another container's mount).
    const elsewhere = join(dir, 'mounted-elsewhere');
    await rename(models, elsewhere);
    await expect(pruneOrphanedOptimizedModels(join(elsewhere, '.ort-cache'))).resolves.toMatchObject({
      files: 0,
    });
    expect(await readdir(join(elsewhere, '.ort-cache'))).toHaveLength(2);
  });

  it('deletes the entries whose model file is gone, keeps the rest and those without a record', async () => {
    const models = join(dir, 'models');
    const cache = join(dir, 'cache');
    await mkdir(models);
    await mkdir(cache);
    const live = join(models, 'live.onnx');
    await writeFile(live, 'x');
    const files: Record<string, string> = {
      [`${A}-${KEY}.onnx`]: 'graph',
      [`${A}-${KEY}.0123456789ab.data`]: 'weights!',
      [`${B}-${KEY}.onnx`]: 'graph',
      // An entry of an older build: no record, so unknown and kept.
      [`dddddddddddddddd-${KEY}.onnx`]: 'graph',
    };
    for (const [name, body] of Object.entries(files)) await writeFile(join(cache, name), body);
    await recordEntrySource(cache, A, join(models, 'removed', 'vocals.onnx'));
    await recordEntrySource(cache, B, live);

    const result = await pruneOrphanedOptimizedModels(cache);
    const gone = join(models, 'removed', 'vocals.onnx');
    // The record holds ../models/removed/vocals.onnx.
    expect(result).toEqual({
      models: [gone],
      files: 3,
      bytes: 5 + 8 + '../models/removed/vocals.onnx\n'.length,
    });
    expect((await readdir(cache)).sort()).toEqual(
      [`${B}-${KEY}.onnx`, `${B}.source`, `dddddddddddddddd-${KEY}.onnx`].sort(),
    );
    await expect(pruneOrphanedOptimizedModels(cache)).resolves.toEqual({ models: [], files: 0, bytes: 0 });
    await expect(pruneOrphanedOptimizedModels(join(dir, 'missing'))).resolves.toEqual({
      models: [],
      files: 0,
      bytes: 0,
    });
  });
});
