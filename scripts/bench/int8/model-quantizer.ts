/**
 * Measurement tool of `npm run bench:int8` (not shipped: int8 was not faster on the build machine,
 * see README "Benchmarks"). Writes the int8 files of a Spleeter ONNX model directory under the names
 * `models.precision: int8` loads (spleeter.json `files.int8`, else `<instrument>.int8.onnx`); the
 * graph rewrite is ./spleeter-int8-quantizer.ts. All or nothing: temporary names, then renamed.
 */
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { ErrorCodes, ModelError, ValidationError } from '../../../src/core/errors';
import { SPLEETER_MANIFEST_FILE } from '../../../src/core/onnx/spleeter-manifest';
import { quantizeSpleeterUnetInt8, type SpleeterInt8Options } from './spleeter-int8-quantizer';
import { spleeterStemFiles } from '../../../src/infra/models/model-files';
import { spleeterInstrumentsOf } from '../../../src/engine/families/spleeter/spleeter-onnx-model';

export interface QuantizeModelDirOptions extends SpleeterInt8Options {
  /** Where to write the int8 files (and a copy of spleeter.json); default: the model directory. */
  outputDir?: string;
  /** Replace existing int8 files; otherwise they are refused (OUTPUT_EXISTS). */
  force?: boolean;
}

export interface QuantizedFile {
  instrument: string;
  source: string;
  target: string;
  bytes: number;
  convs: number;
  deconvs: number;
}

export interface QuantizeModelDirResult {
  dir: string;
  outputDir: string;
  files: QuantizedFile[];
}

export async function quantizeSpleeterModelDir(
  modelDir: string,
  opts: QuantizeModelDirOptions = {},
): Promise<QuantizeModelDirResult> {
  const dir = path.resolve(modelDir);
  if (!(await fs.stat(dir).catch(() => null))?.isDirectory()) {
    throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `model directory not found: ${dir}`, { dir });
  }
  const outputDir = path.resolve(opts.outputDir ?? dir);
  const instruments = await spleeterInstrumentsOf(dir, 'fp32');
  const sources = await spleeterStemFiles(dir, instruments, 'fp32');
  const targets = await spleeterStemFiles(dir, instruments, 'int8');

  const plan = instruments.map((instrument) => ({
    instrument,
    source: path.join(dir, sources[instrument]),
    target: path.join(outputDir, targets[instrument]),
  }));
  for (const p of plan) {
    if (!(await fs.stat(p.source).catch(() => null))?.isFile()) {
      throw new ModelError(
        ErrorCodes.MODEL_NOT_INSTALLED,
        `no fp32 file for instrument '${p.instrument}': ${p.source}`,
        { dir, instrument: p.instrument },
      );
    }
    if (!opts.force && (await fs.stat(p.target).catch(() => null))) {
      throw new ValidationError(ErrorCodes.OUTPUT_EXISTS, `${p.target} exists (use --force to replace it)`, {
        path: p.target,
      });
    }
  }

  const manifest = path.join(dir, SPLEETER_MANIFEST_FILE);
  const copyManifest = outputDir !== dir && (await fs.stat(manifest).catch(() => null))?.isFile();
  const tag = `${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  const pending: { tmp: string; target: string }[] = [];
  const files: QuantizedFile[] = [];
  // The first directory mkdir created (undefined when outputDir existed): removed again on failure.
  let created: string | undefined;
  try {
    created = await fs.mkdir(outputDir, { recursive: true });
    for (const p of plan) {
      let result;
      try {
        result = quantizeSpleeterUnetInt8(await fs.readFile(p.source), opts);
      } catch (err) {
        if (err instanceof ModelError) {
          throw new ModelError(err.code, `${p.source}: ${err.message}`, { path: p.source }, { cause: err });
        }
        throw err;
      }
      const tmp = `${p.target}.${tag}`;
      pending.push({ tmp, target: p.target });
      await fs.writeFile(tmp, result.bytes);
      files.push({ ...p, bytes: result.bytes.length, convs: result.convs, deconvs: result.deconvs });
    }
    if (copyManifest) {
      const target = path.join(outputDir, SPLEETER_MANIFEST_FILE);
      pending.push({ tmp: `${target}.${tag}`, target });
      await fs.copyFile(manifest, `${target}.${tag}`);
    }
    for (const p of pending) await fs.rename(p.tmp, p.target);
  } catch (err) {
    await Promise.all(pending.map((p) => fs.rm(p.tmp, { force: true })));
    if (created) await fs.rm(created, { recursive: true, force: true });
    throw err;
  }
  return { dir, outputDir, files };
}
