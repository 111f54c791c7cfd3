/**
 * Extracts .tar.gz / .tar.bz2 / .zip model archives into an empty directory, refusing anything
 * that could write outside it: absolute paths, `..` segments, links leaving the tree, device
 * files. A refused archive throws ModelError MODEL_INVALID; what was already written stays in
 * the (caller-owned, temporary) target directory, which the caller deletes.
 *
 * tar handles gzip itself; bzip2 goes through the system `bzip2 -dc` when there is one (about 4×
 * faster: measured 30 MB in 4 s vs. 16 s) and `unbzip2-stream` (pure JS) otherwise; zip through yauzl.
 */
import { spawn, spawnSync } from 'child_process';
import { createReadStream, createWriteStream, promises as fs } from 'fs';
import * as path from 'path';
// The archive libraries load on first use: most runs (a separation from the CLI) never extract.
import type * as Tar from 'tar';
import type * as Yauzl from 'yauzl';
import {
  ArchiveEntryType,
  archiveEntryProblem,
  isInside,
  safeRelativePath,
} from '../../core/models/archive-paths';
import type { ArchiveType } from '../../core/models/model-catalog';
import { ErrorCodes, ModelError } from '../../core/errors';

export interface ExtractOptions {
  /** Refuse archives whose entries add up to more than this (decompression bombs). Default 16 GiB. */
  maxBytes?: number;
  signal?: AbortSignal;
  /** Called with bytes of the compressed file consumed so far. */
  onProgress?: (consumed: number, total: number) => void;
}

export interface ExtractResult {
  files: number;
  bytes: number;
}

const DEFAULT_MAX_BYTES = 16 * 1024 ** 3;

export interface ArchiveExtractorOptions {
  /** Path of a bzip2 binary, or null to always use the JS decoder. Default: `bzip2` if it runs. */
  bzip2Binary?: string | null;
}

let detectedBzip2: string | null | undefined;
function detectBzip2(): string | null {
  if (detectedBzip2 === undefined) {
    const r = spawnSync('bzip2', ['--help'], { stdio: 'ignore', timeout: 5000 });
    detectedBzip2 = r.error ? null : 'bzip2';
  }
  return detectedBzip2;
}

export class ArchiveExtractor {
  private readonly bzip2Option: string | null | undefined;

  constructor(opts: ArchiveExtractorOptions = {}) {
    this.bzip2Option = opts.bzip2Binary;
  }

  /** The bzip2 binary to use, detected on first need (spawning it costs a process start). */
  private get bzip2(): string | null {
    return this.bzip2Option === undefined ? detectBzip2() : this.bzip2Option;
  }

  async extract(
    archive: string,
    type: ArchiveType,
    dest: string,
    opts: ExtractOptions = {},
  ): Promise<ExtractResult> {
    await fs.mkdir(dest, { recursive: true });
    switch (type) {
      case 'tar.gz':
      case 'tar.bz2':
        return this.extractTar(archive, type, dest, opts);
      case 'zip':
        return this.extractZip(archive, dest, opts);
      default: {
        const never: never = type;
        throw new ModelError(ErrorCodes.MODEL_INVALID, `unsupported archive type ${String(never)}`);
      }
    }
  }

  private async extractTar(
    archive: string,
    type: 'tar.gz' | 'tar.bz2',
    dest: string,
    opts: ExtractOptions,
  ): Promise<ExtractResult> {
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const tar = await import('tar');
    const bzip2 = type === 'tar.bz2' ? this.bzip2 : null;
    const unbzip2 = type === 'tar.bz2' && !bzip2 ? (await import('unbzip2-stream')).default : null;
    const total = (await fs.stat(archive)).size;
    const source = createReadStream(archive, { highWaterMark: 1 << 20 });
    let consumed = 0;
    source.on('data', (c) => {
      consumed += c.length;
      opts.onProgress?.(consumed, total);
    });
    let files = 0;
    let bytes = 0;
    let refusal: ModelError | null = null;

    return new Promise<ExtractResult>((resolve, reject) => {
      let settled = false;
      const cleanups: (() => void)[] = [];
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        source.destroy();
        for (const c of cleanups) c();
        reject(err);
      };
      const onAbort = () =>
        fail(new ModelError(ErrorCodes.MODEL_DOWNLOAD_FAILED, 'extraction canceled', { canceled: true }));
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });

      // After a refusal every later entry is skipped, and we still wait for tar's 'close': earlier
      // entries may be mid-write, and the caller deletes the directory as soon as we reject.
      const refuse = (message: string) => {
        refusal ??= new ModelError(
          ErrorCodes.MODEL_INVALID,
          `Refusing archive ${path.basename(archive)}: ${message}`,
          {
            archive,
          },
        );
      };

      const unpack = tar.x({
        cwd: dest,
        strict: true,
        preservePaths: false,
        preserveOwner: false,
        noChmod: true,
        // Our own byte limit (maxBytes) guards against bombs; tar's ratio check (1000:1) would
        // refuse legitimate archives of highly compressible weights.
        maxDecompressionRatio: Number.MAX_SAFE_INTEGER,
        filter: (entryPath, entry) => {
          if (refusal) return false;
          const e = entry as Tar.ReadEntry;
          const problem = archiveEntryProblem({
            path: entryPath,
            type: tarType(e.type),
            linkPath: e.linkpath,
          });
          if (problem) {
            refuse(problem);
            return false;
          }
          if (tarType(e.type) === 'file') {
            files++;
            bytes += e.size ?? 0;
            if (bytes > maxBytes) {
              refuse(`more than ${maxBytes} bytes uncompressed`);
              return false;
            }
          }
          return true;
        },
        onwarn: (code, message) => {
          // With strict: true tar turns entry problems into errors; remaining warnings are benign.
          void code;
          void message;
        },
      });
      unpack.on('error', (err: Error) =>
        fail(
          refusal ??
            new ModelError(
              ErrorCodes.MODEL_INVALID,
              `Corrupt archive ${path.basename(archive)}: ${err.message}`,
              {
                archive,
              },
            ),
        ),
      );
      unpack.on('close', () => {
        if (settled) return;
        if (refusal) return fail(refusal);
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        resolve({ files, bytes });
      });
      source.on('error', (err) =>
        fail(new ModelError(ErrorCodes.MODEL_INVALID, `Cannot read ${archive}: ${err.message}`)),
      );

      const corruptBz2 = (detail: string) =>
        fail(
          new ModelError(
            ErrorCodes.MODEL_INVALID,
            `Corrupt bzip2 data in ${path.basename(archive)}: ${detail}`,
          ),
        );
      if (bzip2) {
        const child = spawn(bzip2, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()).slice(0, 2000));
        child.on('error', (err) => corruptBz2(err.message));
        child.on('exit', (code) => {
          if (code !== 0 && code !== null) corruptBz2(stderr.trim() || `bzip2 exited with ${code}`);
        });
        // The child dies with the extraction when it fails or is canceled.
        cleanups.push(() => child.kill('SIGKILL'));
        child.stdin.on('error', () => undefined); // EPIPE after a refusal; reported elsewhere
        source.pipe(child.stdin);
        child.stdout.pipe(unpack as unknown as NodeJS.WritableStream);
      } else if (unbzip2) {
        const bz = unbzip2();
        bz.on('error', (err: Error) => corruptBz2(err.message));
        source.pipe(bz);
        bz.pipe(unpack as unknown as NodeJS.WritableStream);
      } else {
        source.pipe(unpack as unknown as NodeJS.WritableStream);
      }
    });
  }

  private async extractZip(archive: string, dest: string, opts: ExtractOptions): Promise<ExtractResult> {
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const yauzl = await import('yauzl');
    const zip = await new Promise<Yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(
        archive,
        // Our own path checks run first and give a clearer message than yauzl's validation.
        {
          lazyEntries: true,
          autoClose: true,
          validateEntrySizes: true,
          strictFileNames: false,
          decodeStrings: true,
        },
        (err, z) =>
          err || !z
            ? reject(
                new ModelError(
                  ErrorCodes.MODEL_INVALID,
                  `Corrupt zip ${path.basename(archive)}: ${err?.message}`,
                ),
              )
            : resolve(z),
      ),
    );
    const root = path.resolve(dest);
    let files = 0;
    let bytes = 0;
    return new Promise<ExtractResult>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        zip.close();
        reject(err);
      };
      const refuse = (message: string) =>
        fail(
          new ModelError(ErrorCodes.MODEL_INVALID, `Refusing archive ${path.basename(archive)}: ${message}`, {
            archive,
          }),
        );
      zip.on('error', (err: Error) =>
        fail(
          new ModelError(ErrorCodes.MODEL_INVALID, `Corrupt zip ${path.basename(archive)}: ${err.message}`),
        ),
      );
      zip.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ files, bytes });
      });
      zip.on('entry', (entry: Yauzl.Entry) => {
        if (opts.signal?.aborted) {
          return fail(
            new ModelError(ErrorCodes.MODEL_DOWNLOAD_FAILED, 'extraction canceled', { canceled: true }),
          );
        }
        const isDir = entry.fileName.endsWith('/');
        const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
        const type: ArchiveEntryType =
          isDir || mode === 0o040000 ? 'directory' : mode === 0o120000 ? 'symlink' : 'file';
        // Zip symlinks store their target as the file data; we never create them.
        const problem =
          type === 'symlink'
            ? `symlink '${entry.fileName}' (links are not supported in zip model archives)`
            : archiveEntryProblem({ path: entry.fileName, type });
        if (problem) return refuse(problem);
        const rel = safeRelativePath(entry.fileName)!;
        const target = path.resolve(root, rel);
        if (!isInside(root, target)) return refuse(`unsafe path '${entry.fileName}'`);
        if (type === 'directory') {
          fs.mkdir(target, { recursive: true }).then(() => zip.readEntry(), fail);
          return;
        }
        bytes += entry.uncompressedSize;
        if (bytes > maxBytes) return refuse(`more than ${maxBytes} bytes uncompressed`);
        files++;
        fs.mkdir(path.dirname(target), { recursive: true }).then(() => {
          zip.openReadStream(entry, (err, stream) => {
            if (err || !stream)
              return fail(new ModelError(ErrorCodes.MODEL_INVALID, `Corrupt zip entry ${entry.fileName}`));
            const out = createWriteStream(target, { flags: 'wx' });
            stream.on('error', (e) =>
              fail(
                new ModelError(ErrorCodes.MODEL_INVALID, `Corrupt zip entry ${entry.fileName}: ${e.message}`),
              ),
            );
            out.on('error', (e) => fail(e));
            out.on('finish', () => {
              opts.onProgress?.(files, zip.entryCount);
              zip.readEntry();
            });
            stream.pipe(out);
          });
        }, fail);
      });
      zip.readEntry();
    });
  }
}

function tarType(t: string): ArchiveEntryType {
  switch (t) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
      return 'directory';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    default:
      return 'other';
  }
}
