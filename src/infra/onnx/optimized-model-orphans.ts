/**
 * Entries of the optimized-model cache whose model file is gone (a removed model or version): each
 * is a full copy of the weights, so they are deleted when a model is removed and when a process's
 * model manager starts.
 *
 * The cache names an entry after a hash of its model's path (optimized-model-cache.ts), which
 * cannot be turned back into the path, so each tag has a record `<tag>.source` holding the path,
 * written with its entries. Entries without a record (written by an older build) are left alone.
 * The path is recorded relative to the cache dir: processes that mount a shared models volume at
 * different places (a container and the host, two images) then agree on which models exist.
 * Deleting a data file that a running session maps is safe: the mapping stays valid until released.
 *
 * No onnxruntime import here: the model manager loads this without loading onnxruntime.
 */
import { readFile, readdir, rename, rm, stat, writeFile } from 'fs/promises';
import { join, relative, resolve } from 'path';

const SOURCE_SUFFIX = '.source';

/** The record naming the model path of tag `tag`. */
export function sourceRecordName(tag: string): string {
  return `${tag}${SOURCE_SUFFIX}`;
}

/** Writes `<tag>.source` (atomically) unless it already names `modelPath` (see the file comment). */
export async function recordEntrySource(dir: string, tag: string, modelPath: string): Promise<void> {
  const file = join(dir, sourceRecordName(tag));
  const recorded = relative(resolve(dir), resolve(modelPath));
  const current = await readFile(file, 'utf8').catch(() => null);
  if (current?.trim() === recorded) return;
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, `${recorded}\n`);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

/**
 * The files to delete for the tags in `goneTags`: their entries' graphs and data files
 * (`<tag>-…`) and their records. Pure (for the specs).
 */
export function orphanedCacheFiles(names: readonly string[], goneTags: ReadonlySet<string>): string[] {
  return names.filter((name) => {
    const dash = name.indexOf('-');
    if (dash > 0 && goneTags.has(name.slice(0, dash))) return true;
    return name.endsWith(SOURCE_SUFFIX) && goneTags.has(name.slice(0, -SOURCE_SUFFIX.length));
  });
}

export interface OrphanPruneResult {
  /** Model paths whose entries were deleted. */
  models: string[];
  files: number;
  bytes: number;
}

/**
 * Deletes the entries in `dir` whose recorded model file no longer exists. Best effort: a missing
 * or unreadable cache dir prunes nothing; a file that cannot be deleted is skipped.
 */
export async function pruneOrphanedOptimizedModels(dir: string): Promise<OrphanPruneResult> {
  const result: OrphanPruneResult = { models: [], files: 0, bytes: 0 };
  const names = await readdir(dir).catch(() => [] as string[]);
  const gone = new Set<string>();
  for (const name of names) {
    if (!name.endsWith(SOURCE_SUFFIX)) continue;
    const recorded = (await readFile(join(dir, name), 'utf8').catch(() => '')).trim();
    if (!recorded) continue;
    const modelPath = resolve(dir, recorded);
    const exists = await stat(modelPath).then(
      () => true,
      (err: NodeJS.ErrnoException) => err.code !== 'ENOENT' && err.code !== 'ENOTDIR',
    );
    if (exists) continue;
    gone.add(name.slice(0, -SOURCE_SUFFIX.length));
    result.models.push(modelPath);
  }
  for (const name of orphanedCacheFiles(names, gone)) {
    const file = join(dir, name);
    const size = await stat(file).then(
      (st) => st.size,
      () => 0,
    );
    try {
      await rm(file);
      result.files++;
      result.bytes += size;
    } catch {
      // Already gone, or not ours to delete: skipped.
    }
  }
  return result;
}
