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
import { SPLEETER_CONFIGS, type SpleeterConfigName } from '../../src/core/onnx/spleeter-configs';
import {
  defaultModelFileName,
  SPLEETER_MANIFEST_FILE,
  type SpleeterManifestInput,
} from '../../src/core/onnx/spleeter-manifest';
import { buildTinySpleeterOnnx, type TinySpleeterKind } from '../../src/core/onnx/spleeter-tiny-models';
import { buildSpleeterUnetOnnx, type ModelPrecision } from '../../src/core/onnx/spleeter-unet';
import { createTestUnetSpec } from '../../src/core/onnx/test-weights';
import { SPLEETER_T, type SegmentLayout } from '../../src/core/spleeter/types';

export type TestModelSize = 'full' | TinySpleeterKind;

export interface TestModelOptions {
  config?: SpleeterConfigName;
  layout?: SegmentLayout;
  /** Full size: the stored precision. Tiny models are always fp32 graphs, written under this precision's file names. */
  precision?: ModelPrecision;
  seed?: number;
  F?: number;
  T?: number;
  /** `scale` factors per instrument. */
  scales?: readonly number[];
  /** Write spleeter.json (default true); false gives a sherpa-style directory. */
  manifest?: boolean;
}

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const TEST_MODEL_CACHE = join(REPO_ROOT, '.cache', 'test-models');

const GENERATOR_SOURCES = [
  'src/core/onnx/onnx-graph-builder.ts',
  'src/core/onnx/float16.ts',
  'src/core/onnx/spleeter-unet.ts',
  'src/core/onnx/spleeter-tiny-models.ts',
  'src/core/onnx/test-weights.ts',
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

function normalize(size: TestModelSize, o: TestModelOptions) {
  return {
    size,
    config: o.config ?? '2stems',
    layout: o.layout ?? 'CSTF',
    precision: o.precision ?? 'fp32',
    seed: o.seed ?? 1,
    F: o.F ?? 1024,
    T: o.T ?? SPLEETER_T,
    scales: o.scales ? [...o.scales] : undefined,
    manifest: o.manifest ?? true,
  } as const;
}

/** Model files (name -> bytes) and manifest for the options; pure, no I/O. */
export function generateTestModelFiles(
  size: TestModelSize,
  options: TestModelOptions = {},
): Map<string, Uint8Array> {
  const o = normalize(size, options);
  const info = SPLEETER_CONFIGS[o.config];
  const files = new Map<string, Uint8Array>();
  const spec = size === 'full' ? createTestUnetSpec(o.config, { F: o.F, seed: o.seed }) : null;
  info.instruments.forEach((instrument, i) => {
    const bytes = spec
      ? buildSpleeterUnetOnnx(spec, i, {
          layout: o.layout,
          precision: o.precision,
          T: o.T,
          F: o.F,
          modelName: `test-full-${o.config}`,
        })
      : buildTinySpleeterOnnx(size as TinySpleeterKind, o.config, i, {
          layout: o.layout,
          F: o.F,
          T: o.T,
          scales: o.scales,
        });
    files.set(defaultModelFileName(instrument, o.precision), bytes);
  });
  if (o.manifest) {
    const manifest: SpleeterManifestInput = {
      format: 'spleeter-onnx',
      version: 1,
      name: `test-${size}-${o.config}`,
      config: o.config,
      architecture: info.architecture,
      instruments: [...info.instruments],
      F: o.F,
      T: o.T,
      sample_rate: 44100,
      activations: { conv: info.convActivation, deconv: info.deconvActivation },
      files: {
        [o.precision]: Object.fromEntries(
          info.instruments.map((i) => [i, defaultModelFileName(i, o.precision)]),
        ),
      },
      source: { generator: 'test/factories/models.ts', size, seed: String(o.seed), layout: o.layout },
    };
    files.set(SPLEETER_MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'));
  }
  return files;
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
  const o = normalize(size, options);
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
