/**
 * Where the files of a catalog install come from: a download (resumable, first working mirror), a
 * local archive or extracted directory, and how they become the files of a version (move, extract,
 * or convert a TensorFlow checkpoint).
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { ErrorCodes, ModelError, ValidationError } from '../../core/errors';
import {
  CatalogEntry,
  CatalogSource,
  ModelPrecision,
  entryArchiveType,
} from '../../core/models/model-catalog';
import { FileLock } from '../../infra/models/file-lock';
import {
  MDX_MODEL_FILE,
  findCheckpointDirs,
  findFile,
  writeMdxManifest,
  writeSpleeterManifest,
} from '../../infra/models/model-files';
import { sha256File } from '../../infra/models/model-store';
import type { ModelContext, ProgressReporter } from './model-context';

export class ModelSources {
  constructor(private readonly ctx: ModelContext) {}

  /**
   * Downloads the first source that works (resumable, in .downloads) and moves the verified file
   * into `staging`, so nothing outlives a failed install except a resumable partial download.
   */
  async fetchSource(
    entry: CatalogEntry,
    staging: string,
    progress: ProgressReporter,
    signal?: AbortSignal,
  ): Promise<{ source: CatalogSource; file: string; sha256: string }> {
    let lastError: unknown = null;
    for (const source of entry.sources) {
      const dest = path.join(this.ctx.store.downloadsDir, downloadFileName(source.url));
      // Two models can share one archive (2stems and 2stems-16kHz): one download at a time per file.
      const lock = await FileLock.acquire(`${dest}.lock`, {
        staleMs: this.ctx.lockStaleMs,
        signal,
        purpose: 'download',
      });
      try {
        progress('downloading', 0, { totalBytes: source.size });
        const result = await this.ctx.downloader.download({
          url: source.url,
          dest,
          expectedSize: source.size,
          sha256: source.sha256,
          md5Tail: source.md5_tail,
          signal,
          onProgress: (p) =>
            progress('downloading', p.totalBytes ? p.bytes / p.totalBytes : 0, {
              bytes: p.bytes,
              totalBytes: p.totalBytes,
              bytesPerSecond: p.bytesPerSecond,
              resumedFrom: p.resumedFrom || undefined,
            }),
        });
        progress('verifying', 1, { bytes: result.size, totalBytes: result.size });
        const file = path.join(staging, `download-${path.basename(dest)}`);
        await fs.rename(dest, file);
        return { source, file, sha256: result.sha256 };
      } catch (err) {
        lastError = err;
        // A checksum mismatch from one mirror is worth trying the next; so is a dead mirror.
        if (signal?.aborted) throw err;
        this.ctx.logger.warn(`download of ${source.url} failed: ${(err as Error).message}`);
      } finally {
        await lock.release();
      }
    }
    throw lastError instanceof Error
      ? lastError
      : new ModelError(ErrorCodes.MODEL_DOWNLOAD_FAILED, `No source for ${entry.name}`, {
          model: entry.name,
        });
  }

  async useLocalFile(
    entry: CatalogEntry,
    file: string,
    progress: ProgressReporter,
  ): Promise<{ source: CatalogSource; file: string; sha256: string | null }> {
    const source = entry.sources[0];
    progress('verifying', 0);
    const st = await fs.stat(file).catch(() => null);
    if (st?.isDirectory() && entry.format !== 'onnx') {
      // An already-extracted archive (e.g. `tar xzf 2stems.tar.gz` done by hand): nothing to
      // checksum; the conversion and the validation still guard it.
      progress('verifying', 1);
      return { source, file, sha256: null };
    }
    if (!st?.isFile())
      throw new ValidationError(ErrorCodes.FILE_NOT_FOUND, `No such file: ${file}`, { field: 'file' });
    const sha256 = await sha256File(file);
    const mismatch = (what: string, expected: unknown, actual: unknown) =>
      new ModelError(ErrorCodes.MODEL_CHECKSUM_MISMATCH, `${file}: ${what} mismatch for ${entry.name}`, {
        check: what,
        expected,
        actual,
      });
    if (source.size != null && st.size !== source.size) throw mismatch('size', source.size, st.size);
    if (source.sha256 && sha256 !== source.sha256) throw mismatch('sha256', source.sha256, sha256);
    progress('verifying', 1);
    return { source, file, sha256 };
  }

  /** Turns the verified download into the files of a version; returns the precision of its files. */
  async prepareModelDir(
    entry: CatalogEntry,
    source: CatalogSource,
    file: string,
    staging: string,
    modelDir: string,
    progress: ProgressReporter,
    signal?: AbortSignal,
  ): Promise<ModelPrecision | null> {
    if (entry.format === 'onnx') {
      // A downloaded file already lies in staging (move it); a local file is the user's (copy it).
      if (path.dirname(file) === staging) await fs.rename(file, path.join(modelDir, MDX_MODEL_FILE));
      else await fs.copyFile(file, path.join(modelDir, MDX_MODEL_FILE));
      if (entry.kind === 'mdx') await writeMdxManifest(modelDir, entry);
      return null;
    }
    const type = entryArchiveType(entry, source);
    if (!type)
      throw new ModelError(ErrorCodes.MODEL_INVALID, `Unknown archive type for ${source.url}`, {
        model: entry.name,
      });
    // A directory given to installFromArchive is the user's: read from it, never move or delete.
    const userDir = (await fs.stat(file)).isDirectory();
    const extractDir = userDir ? file : path.join(staging, 'extract');
    if (!userDir) {
      progress('extracting', 0);
      await this.ctx.extractor.extract(file, type, extractDir, {
        signal,
        onProgress: (done, total) => progress('extracting', total > 0 ? done / total : 0),
      });
    }
    const sp = entry.spleeter!;
    if (entry.format === 'onnx-archive') {
      const precision = sp.precision ?? 'fp32';
      const files: Record<string, string> = {};
      for (const [stem, fileName] of Object.entries(sp.files!)) {
        const found = await findFile(extractDir, fileName);
        if (!found) {
          throw new ModelError(
            ErrorCodes.MODEL_INVALID,
            `${path.basename(file)} has no ${fileName} (stem ${stem})`,
            {
              model: entry.name,
            },
          );
        }
        if (userDir) await fs.copyFile(found, path.join(modelDir, fileName));
        else await fs.rename(found, path.join(modelDir, fileName));
        files[stem] = fileName;
      }
      await writeSpleeterManifest(modelDir, entry, precision, files, {
        url: source.url,
        type: 'onnx-archive',
      });
      return precision;
    }
    // tf-checkpoint: convert with the configured precision.
    const dirs = await findCheckpointDirs(extractDir);
    if (dirs.length !== 1) {
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        dirs.length === 0
          ? `${path.basename(file)} holds no TensorFlow checkpoint (*.index)`
          : `${path.basename(file)} holds several checkpoints`,
        { model: entry.name },
      );
    }
    progress('converting', 0);
    // The converter creates its output directory itself (atomically).
    await fs.rm(modelDir, { recursive: true, force: true });
    const runtime = await this.ctx.runtime();
    await runtime.convertSpleeterCheckpoint(dirs[0], modelDir, {
      config: sp.config!,
      F: sp.F,
      T: sp.T,
      precision: this.ctx.precision,
      signal,
      onProgress: (f) => progress('converting', f),
    });
    if (!userDir) await fs.rm(extractDir, { recursive: true, force: true });
    return this.ctx.precision;
  }
}

/** `<16 hex of sha256(url)>-<basename>`: stable across runs (resume) and unique per URL. */
export function downloadFileName(url: string): string {
  const base = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'download').replace(
    /[^A-Za-z0-9._-]/g,
    '_',
  );
  return `${createHash('sha256').update(url).digest('hex').slice(0, 16)}-${base.slice(0, 80)}`;
}
