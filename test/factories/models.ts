/**
 * Generated Spleeter ONNX model directories for tests (never committed): full-size U-Nets with
 * seeded random weights, or the tiny analytic stand-ins (identity / scale / bandpass) with the same
 * file contract. `testModelDir()` generates once into <repo>/.cache/test-models/<key>/, where the key
 * covers the options and a hash of the generator sources, so edits to the builders invalidate it.
 */
import { createHash } from 'crypto';
import { existsSync, readFileSync } from 'fs';
import { mkdir, readdir, rename, rm, writeFile } from 'fs/promises';
import { join, resolve } from 'path';
import {
  generateTestModelFiles,
  normalizeTestModelOptions,
  type TestModelOptions,
  type TestModelSize,
} from '../../src/core/onnx/test-model-generator';

export { generateTestModelFiles, type TestModelOptions, type TestModelSize };

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const TEST_MODEL_CACHE = join(REPO_ROOT, '.cache', 'test-models');

const GENERATOR_SOURCES = [
  'src/core/onnx/onnx-graph-builder.ts',
  'src/core/onnx/float16.ts',
  'src/core/onnx/spleeter-unet.ts',
  'src/core/onnx/spleeter-tiny-models.ts',
  'src/core/onnx/test-weights.ts',
  'src/core/onnx/test-model-generator.ts',
  'test/factories/models.ts',
];

let generatorHash: string | undefined;
function generatorVersion(): string {
  if (!generatorHash) {
    const h = createHash('sha1');
    for (const f of GENERATOR_SOURCES) {
      const p = join(REPO_ROOT, f);
      h.update(existsSync(p) ? readFileSync(p) : f);
    }
    generatorHash = h.digest('hex').slice(0, 10);
  }
  return generatorHash;
}

/** Writes a model directory (files written to a temp name, then renamed: no half-written models). */
export async function writeTestModelDir(
  dir: string,
  size: TestModelSize,
  options: TestModelOptions = {},
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, bytes] of generateTestModelFiles(size, options)) {
    const target = join(dir, name);
    const tmp = `${target}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    written.push(target);
  }
  return written;
}

const pending = new Map<string, Promise<string>>();
let pruned = false;

/** Removes cached models built by older generator sources (keys end with the sources' hash). */
async function pruneStale(): Promise<void> {
  if (pruned) return;
  pruned = true;
  const suffix = `-${generatorVersion()}`;
  const names = await readdir(TEST_MODEL_CACHE).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => !n.endsWith(suffix) && !n.includes('.tmp-'))
      .map((n) => rm(join(TEST_MODEL_CACHE, n), { recursive: true, force: true }).catch(() => undefined)),
  );
}

export function testModelKey(size: TestModelSize, options: TestModelOptions = {}): string {
  const o = normalizeTestModelOptions(size, options);
  const parts = [o.size, o.config, o.layout, o.precision, `F${o.F}`, `T${o.T}`, `s${o.seed}`];
  if (o.scales) parts.push(`k${o.scales.join('_')}`);
  if (!o.manifest) parts.push('nomanifest');
  parts.push(generatorVersion());
  return parts.join('-');
}

/** Cached model directory for the options; generated on first use (safe across jest workers). */
export function testModelDir(size: TestModelSize, options: TestModelOptions = {}): Promise<string> {
  const key = testModelKey(size, options);
  let p = pending.get(key);
  if (!p) {
    p = materialize(key, size, options);
    pending.set(key, p);
    p.catch(() => pending.delete(key));
  }
  return p;
}

async function materialize(key: string, size: TestModelSize, options: TestModelOptions): Promise<string> {
  const dir = join(TEST_MODEL_CACHE, key);
  const complete = () => existsSync(join(dir, '.complete'));
  if (complete()) return dir;
  await pruneStale();
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeTestModelDir(tmp, size, options);
    await writeFile(join(tmp, '.complete'), '');
    // Another jest worker may have finished the same key meanwhile: keep its directory.
    if (complete()) {
      await rm(tmp, { recursive: true, force: true });
      return dir;
    }
    await rm(dir, { recursive: true, force: true }); // a stale, incomplete leftover
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (complete()) return dir;
    throw err;
  }
  return dir;
}
