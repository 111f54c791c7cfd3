/**
 * Converts an official Spleeter TensorFlow checkpoint (MODEL-FORMATS A9) into one ONNX file per
 * instrument plus a `spleeter.json` manifest. Instruments are read and built one at a time so peak
 * memory is one U-Net's weights (~40 MB), not the whole checkpoint. The output directory appears
 * atomically: everything is written to a sibling temp directory that is renamed at the end.
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { ErrorCodes, ModelError, ValidationError } from '../errors';
import { SPLEETER_CONFIGS, SpleeterConfigName, isSpleeterConfigName } from '../onnx/spleeter-configs';
import {
  SPLEETER_MANIFEST_FILE,
  SpleeterManifest,
  SpleeterManifestInput,
  defaultModelFileName,
  spleeterManifestSchema,
} from '../onnx/spleeter-manifest';
import type { ModelPrecision } from '../models/model-catalog';
import { UNET_SIZE_MULTIPLE, buildSpleeterUnetOnnx } from '../onnx/spleeter-unet';
import { ProgressCallback, SPLEETER_SAMPLE_RATE, SPLEETER_T, SegmentLayout } from '../spleeter/types';
import { UnetModelSpec } from '../spleeter/unet-weights';
import { assertSpleeterVariables, readSpleeterInstrument } from './spleeter-checkpoint';
import { TensorBundleReader } from './tensor-bundle-reader';

export interface ConvertSpleeterOptions {
  config: SpleeterConfigName;
  /** 1024 (default, 11 kHz bandwidth) or 1536 (`-16kHz` variants). Tests may pass any multiple of 64. */
  F?: number;
  outDir: string;
  layout?: SegmentLayout;
  precision?: ModelPrecision;
  /** Replace an existing outDir (atomically). Default false: OUTPUT_EXISTS. */
  overwrite?: boolean;
  /** Declared frames per segment; always 512 for real use, smaller in tests. */
  T?: number;
  onProgress?: ProgressCallback;
}

export interface ConvertSpleeterResult {
  outDir: string;
  /** As written to `spleeter.json` (the Spleeter ONNX loader's schema, src/core/onnx/spleeter-manifest.ts). */
  manifest: SpleeterManifest;
  checkpointPrefix: string;
  files: { instrument: string; file: string; bytes: number; sha256: string }[];
}

/**
 * The checkpoint prefix inside `dir`: `model_checkpoint_path` from the `checkpoint` text file when
 * its index exists, else the single `*.index` file.
 */
export async function resolveCheckpointPrefix(dir: string): Promise<string> {
  const exists = (p: string) =>
    fs.stat(p).then(
      (s) => s.isFile(),
      () => false,
    );
  try {
    const text = await fs.readFile(path.join(dir, 'checkpoint'), 'utf8');
    const m = /^model_checkpoint_path:\s*"((?:[^"\\]|\\.)*)"/m.exec(text);
    if (m) {
      const p = m[1].replace(/\\(.)/g, '$1');
      const candidates = path.isAbsolute(p) ? [p, path.join(dir, path.basename(p))] : [path.join(dir, p)];
      for (const c of candidates) if (await exists(`${c}.index`)) return c;
    }
  } catch {
    // No `checkpoint` file: fall through to the single-index rule.
  }
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (cause) {
    throw new ModelError(
      ErrorCodes.MODEL_NOT_INSTALLED,
      `Checkpoint directory ${dir} not readable`,
      { dir },
      { cause },
    );
  }
  const indexes = names.filter((n) => n.endsWith('.index'));
  if (indexes.length !== 1) {
    throw new ModelError(
      ErrorCodes.MODEL_INVALID,
      indexes.length === 0
        ? `No TensorFlow checkpoint (*.index) in ${dir}`
        : `Several checkpoints in ${dir} (${indexes.join(', ')}) and no usable 'checkpoint' file`,
      { dir, indexes },
    );
  }
  return path.join(dir, indexes[0].slice(0, -'.index'.length));
}

export async function convertSpleeterCheckpoint(
  checkpointDir: string,
  opts: ConvertSpleeterOptions,
): Promise<ConvertSpleeterResult> {
  const { config } = opts;
  if (!isSpleeterConfigName(config)) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `Unknown Spleeter config '${String(config)}'`);
  }
  const F = opts.F ?? 1024;
  const T = opts.T ?? SPLEETER_T;
  for (const [k, v] of [
    ['F', F],
    ['T', T],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0 || v % UNET_SIZE_MULTIPLE !== 0) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `${k} must be a positive multiple of 64, got ${v}`,
      );
    }
  }
  const layout = opts.layout ?? 'CSTF';
  const precision = opts.precision ?? 'fp32';
  const outDir = path.resolve(opts.outDir);
  const outExists = await fs.stat(outDir).then(
    () => true,
    () => false,
  );
  if (outExists && !opts.overwrite) {
    throw new ValidationError(ErrorCodes.OUTPUT_EXISTS, `Output directory ${outDir} already exists`, {
      outDir,
    });
  }

  const prefix = await resolveCheckpointPrefix(checkpointDir);
  const reader = await TensorBundleReader.open(prefix);
  const info = SPLEETER_CONFIGS[config];
  const name = F === 1536 ? `${config}-16kHz` : config;
  const tmpDir = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  try {
    assertSpleeterVariables(reader.entries, config);
    await fs.mkdir(path.dirname(outDir), { recursive: true });
    await fs.mkdir(tmpDir);
    const files: ConvertSpleeterResult['files'] = [];
    for (let k = 0; k < info.instruments.length; k++) {
      const instrument = info.instruments[k];
      opts.onProgress?.(k / info.instruments.length, `converting ${instrument}`);
      // A one-instrument spec keeps memory to one network; the metadata still names them all.
      const spec: UnetModelSpec = {
        architecture: info.architecture,
        convActivation: info.convActivation,
        deconvActivation: info.deconvActivation,
        F,
        instruments: [await readSpleeterInstrument(reader, k, instrument)],
      };
      const bytes = buildSpleeterUnetOnnx(spec, 0, {
        layout,
        precision,
        T,
        F,
        modelName: name,
        metadata: {
          stems: String(info.instruments.length),
          instruments: info.instruments.join(','),
          instrument_index: String(k),
          source: `tensorflow-checkpoint:${path.basename(prefix)}`,
        },
      });
      const file = defaultModelFileName(instrument, precision);
      await fs.writeFile(path.join(tmpDir, file), bytes);
      files.push({
        instrument,
        file,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
    }
    const input: SpleeterManifestInput = {
      format: 'spleeter-onnx',
      version: 1,
      name: `spleeter-${name}`,
      config: name,
      architecture: info.architecture,
      instruments: [...info.instruments],
      F,
      T,
      sample_rate: SPLEETER_SAMPLE_RATE,
      activations: { conv: info.convActivation, deconv: info.deconvActivation },
      files: { [precision]: Object.fromEntries(files.map((f) => [f.instrument, f.file])) },
      source: {
        type: 'tensorflow-checkpoint',
        checkpoint: path.basename(prefix),
        tensors: String(reader.entries.size),
        layout,
        precision,
        ...Object.fromEntries(files.map((f) => [`sha256:${f.file}`, f.sha256])),
      },
    };
    // Validate against the loader's schema so a converted directory always loads.
    const manifest = spleeterManifestSchema.parse(input);
    await fs.writeFile(path.join(tmpDir, SPLEETER_MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    await replaceDirectory(tmpDir, outDir);
    opts.onProgress?.(1, 'converted');
    return { outDir, manifest, checkpointPrefix: prefix, files };
  } catch (err) {
    await fs.rm(tmpDir, { recursive: true, force: true });
    throw err;
  } finally {
    await reader.close();
  }
}

/** Rename `src` onto `dest`; an existing `dest` is moved aside first and removed only on success. */
async function replaceDirectory(src: string, dest: string): Promise<void> {
  const old = `${dest}.old-${process.pid}-${Date.now()}`;
  let moved = false;
  try {
    await fs.rename(dest, old);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await fs.rename(src, dest);
  } catch (err) {
    if (moved) await fs.rename(old, dest);
    throw err;
  }
  if (moved) await fs.rm(old, { recursive: true, force: true });
}
