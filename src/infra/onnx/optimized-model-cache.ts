/**
 * Naming of the optimized-model cache's entries (see onnx-runtime.ts) and the graph rewrite applied
 * when an entry is written.
 *
 * An entry is two files: `<tag>-<key>.onnx`, the optimized graph, and `<tag>-<key>.<nonce>.data`,
 * the weights it references (onnxruntime's external-data format). onnxruntime maps an external data
 * file into memory instead of reading and copying the weights, so a session from the cache starts
 * in a fraction of the time and with less memory (the weights are shared page cache, not copies):
 * full-size 2-stem model, one session, 36–47 ms instead of 134–147 ms to create, 252 instead of
 * 281–309 MiB RSS after 8 calls, and the first calls are no slower. The nonce makes every write's data
 * file a new file: a data file is never rewritten in place, which would break (SIGBUS) the processes
 * that have it mapped; a replaced or removed one stays valid for them until they release it.
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
const OPTIMIZED_CACHE_FORMAT = 3;

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

/** The data file of the entry `<tag>-<key>.onnx` written with `nonce` (see the file comment). */
export function optimizedDataFileName(tag: string, key: string, nonce: string): string {
  return `${tag}-${key}.${nonce}.data`;
}

/** Session config entries that make onnxruntime save the optimized model's weights in `dataName`. */
export function externalDataConfig(dataName: string): Record<string, string> {
  return {
    // Relative to the optimized model's directory; tensors under 1 KiB (biases) stay inline.
    optimized_model_external_initializers_file_name: dataName,
    optimized_model_external_initializers_min_size_in_bytes: '1024',
  };
}

/**
 * The files of model path `tag` to remove once `keep` (`<tag>-<key>.onnx`, whose bytes are
 * `keepBytes`) is the entry: every other `.onnx` of the tag, and every data file of the tag that
 * `keep` does not reference, except one whose write is still under way (its temp model exists).
 * Without `keepBytes` (the kept graph could not be read) no data file is removed.
 */
export function staleCacheFiles(
  names: readonly string[],
  tag: string,
  keep: string,
  keepBytes: Uint8Array | null,
): string[] {
  const inProgress = new Set(names.filter((n) => n.startsWith('.') && n.endsWith('.tmp.onnx')));
  const referenced = (name: string) => keepBytes !== null && Buffer.from(keepBytes).includes(name);
  return names.filter((name) => {
    if (name === keep || !name.startsWith(`${tag}-`)) return false;
    if (name.endsWith('.onnx')) return true;
    if (!name.endsWith('.data') || keepBytes === null || referenced(name)) return false;
    // <tag>-<key>.<nonce>.data is written with the temp model .<key>.<nonce>.tmp.onnx
    return !inProgress.has(`.${name.slice(tag.length + 1, -'.data'.length)}.tmp.onnx`);
  });
}
