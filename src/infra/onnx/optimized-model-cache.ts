/**
 * Naming of the optimized-model cache's entries (see onnx-runtime.ts) and the graph rewrite applied
 * when an entry is written.
 */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { readFile } from 'fs/promises';
import { cpus } from 'os';
import * as ort from 'onnxruntime-node';
import { rewriteConvTransposes } from '../../core/onnx/conv-transpose-rewrite';
import { decodeModel, encodeModel } from '../../core/onnx/onnx-protos';

/** The model file's identity in the key: a re-installed file gets a new entry. */
export interface ModelFileStat {
  size: number;
  mtimeMs: number;
}

/** Bumped when the cache key's contents or the file format written here change. */
const OPTIMIZED_CACHE_FORMAT = 2;

/**
 * The model at `path` with its strided ConvTransposes rewritten (core/onnx/conv-transpose-rewrite.ts),
 * or null when none is covered or the file cannot be rewritten (then the original is used as is).
 */
export async function rewrittenModel(
  path: string,
  logger: { debug?(message: string): void },
): Promise<Uint8Array | null> {
  try {
    const model = decodeModel(await readFile(path));
    const { rewritten, skipped } = rewriteConvTransposes(model);
    logger.debug?.(`onnxruntime: ${path}: ${rewritten} ConvTranspose rewritten as Conv, ${skipped} kept`);
    return rewritten > 0 ? encodeModel(model) : null;
  } catch (err) {
    logger.debug?.(`onnxruntime: ${path}: ConvTranspose rewrite skipped: ${(err as Error).message}`);
    return null;
  }
}

let ortVersion: string | undefined;

/** onnxruntime-node's package version: the optimized graph is specific to the build. */
function onnxRuntimeVersion(): string {
  if (ortVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as {
        version?: string;
      };
      ortVersion = pkg.version ?? '';
    } catch {
      ortVersion = '';
    }
    ortVersion ||= `env:${ort.env.versions.node ?? ort.env.versions.common ?? 'unknown'}`;
  }
  return ortVersion;
}

/** 16 hex digits naming the model file's path (the prefix of its optimized-model entries). */
export function modelPathTag(path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 16);
}

/**
 * Hex sha256 naming the optimized form of `path` under `options` on this machine: model identity,
 * onnxruntime version, CPU model and architecture, and the options that shape the optimized graph
 * (thread counts do not).
 */
export function optimizedCacheKey(
  path: string,
  fileStat: ModelFileStat,
  options: Pick<ort.InferenceSession.SessionOptions, 'graphOptimizationLevel' | 'executionProviders'>,
  rewriteConvTranspose = false,
): string {
  const eps = (options.executionProviders ?? []).map((ep) => (typeof ep === 'string' ? ep : ep.name));
  return createHash('sha256')
    .update(
      JSON.stringify([
        OPTIMIZED_CACHE_FORMAT,
        path,
        fileStat.size,
        fileStat.mtimeMs,
        onnxRuntimeVersion(),
        cpus()[0]?.model ?? 'unknown-cpu',
        process.arch,
        options.graphOptimizationLevel ?? 'all',
        eps,
        rewriteConvTranspose,
      ]),
    )
    .digest('hex');
}
