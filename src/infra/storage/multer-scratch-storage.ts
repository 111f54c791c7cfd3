import { createHash } from 'crypto';
import { createWriteStream, promises as fsp } from 'fs';
import { pipeline } from 'stream/promises';
import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import type { StorageService } from './storage.service';

/** What the engine adds to each multer file. */
export interface ScratchUploadInfo {
  path: string;
  size: number;
  /** sha256 of the bytes, computed while they stream to disk (no second read). */
  sha256: string;
}

export type ScratchUploadedFile = Express.Multer.File & ScratchUploadInfo;

/**
 * Multer storage engine: streams each uploaded part into a new file in the storage scratch area,
 * under a generated name (the client's file name never reaches the filesystem), hashing on the way.
 */
export class MulterScratchStorage implements StorageEngine {
  constructor(private readonly storage: Pick<StorageService, 'newScratchPath'>) {}

  _handleFile(
    _req: Request,
    file: Express.Multer.File,
    callback: (error?: unknown, info?: Partial<Express.Multer.File> & ScratchUploadInfo) => void,
  ): void {
    const path = this.storage.newScratchPath('.upload');
    const hash = createHash('sha256');
    let size = 0;
    file.stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    pipeline(file.stream, createWriteStream(path, { flags: 'wx', mode: 0o600 })).then(
      () => callback(null, { path, size, sha256: hash.digest('hex') }),
      async (err: unknown) => {
        await fsp.rm(path, { force: true });
        callback(err);
      },
    );
  }

  _removeFile(_req: Request, file: Express.Multer.File, callback: (error: Error | null) => void): void {
    fsp.rm(file.path, { force: true }).then(
      () => callback(null),
      (err: Error) => callback(err),
    );
  }
}
