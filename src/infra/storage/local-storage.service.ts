import { randomUUID } from 'crypto';
import { createReadStream, promises as fsp } from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ErrorCodes, SeparationError, ValidationError } from '../../core/errors';
import { AppConfig } from '../config/app-config';
import { assertStorageKey } from './storage-keys';
import type { ByteRange, ScratchEntry, StorageService, StoredObjectInfo } from './storage.service';

/**
 * Storage in a local directory (`storage.dir`): objects at `<dir>/<key>`, scratch in `<dir>/tmp`.
 * Scratch and objects share one filesystem, so committing a finished file is a rename (atomic).
 */
@Injectable()
export class LocalStorageService implements StorageService, OnModuleInit {
  private readonly logger = new Logger(LocalStorageService.name);
  readonly root: string;
  readonly scratchDir: string;

  constructor(config: AppConfig) {
    this.root = path.resolve(config.storage.dir);
    this.scratchDir = path.join(this.root, 'tmp');
  }

  async onModuleInit(): Promise<void> {
    await fsp.mkdir(this.scratchDir, { recursive: true, mode: 0o700 });
  }

  newScratchPath(suffix = ''): string {
    return path.join(this.scratchDir, `${randomUUID()}${suffix}`);
  }

  async createScratchDir(prefix = 'd-'): Promise<string> {
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(prefix) || prefix.startsWith('.')) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'Invalid scratch directory prefix');
    }
    await fsp.mkdir(this.scratchDir, { recursive: true, mode: 0o700 });
    return fsp.mkdtemp(path.join(this.scratchDir, prefix));
  }

  async removeScratch(scratchPath: string): Promise<void> {
    const resolved = path.resolve(scratchPath);
    if (!isInside(this.scratchDir, resolved) || resolved === this.scratchDir) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        'Refusing to remove a path outside the scratch directory',
      );
    }
    await fsp.rm(resolved, { recursive: true, force: true });
  }

  async sweepScratch(isOrphan: (entry: ScratchEntry) => boolean | Promise<boolean>): Promise<number> {
    let names: string[];
    try {
      names = await fsp.readdir(this.scratchDir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const full = path.join(this.scratchDir, name);
      try {
        const st = await fsp.lstat(full);
        if (await isOrphan({ name, isDirectory: st.isDirectory(), modifiedAt: st.mtime })) {
          await fsp.rm(full, { recursive: true, force: true });
          removed++;
        }
      } catch (err) {
        // Removed concurrently (its owner finished): nothing to do.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return removed;
  }

  async putFile(key: string, localPath: string, options: { move?: boolean } = {}): Promise<StoredObjectInfo> {
    const dest = this.pathOf(key);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    if (options.move) {
      try {
        await fsp.rename(localPath, dest);
        return this.infoOf(key, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      }
    }
    // Copy beside the destination, then rename: a reader never sees a half-copied object.
    const tmp = `${dest}.part-${randomUUID()}`;
    try {
      await fsp.copyFile(localPath, tmp);
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    if (options.move) await fsp.rm(localPath, { force: true });
    return this.infoOf(key, dest);
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    try {
      return await this.infoOf(key, this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async createReadStream(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    // Open first so a missing object is an error here, not an 'error' event after headers went out.
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new SeparationError(ErrorCodes.FILE_NOT_FOUND, 'Stored file not found', { key });
      }
      throw err;
    }
    return createReadStream(file, { fd: handle, autoClose: true, start: range?.start, end: range?.end });
  }

  async localPath(key: string): Promise<string> {
    return this.pathOf(key);
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    await fsp.rm(this.pathOf(prefix), { recursive: true, force: true });
  }

  private pathOf(key: string): string {
    assertStorageKey(key);
    const full = path.resolve(this.root, key);
    if (!isInside(this.root, full)) {
      // Unreachable with assertStorageKey; kept as a second line of defence.
      this.logger.error(`Storage key escaped the root: ${key}`);
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'Invalid storage key');
    }
    return full;
  }

  private async infoOf(key: string, file: string): Promise<StoredObjectInfo> {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw Object.assign(new Error(`${key} is not a file`), { code: 'ENOENT' });
    return {
      key,
      size: st.size,
      etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}-${st.ino.toString(16)}"`,
      modifiedAt: st.mtime,
    };
  }
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
