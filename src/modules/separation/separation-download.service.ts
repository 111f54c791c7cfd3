import type { Readable } from 'stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '../../common/auth/principal';
import { ErrorCodes, SeparationError } from '../../core/errors';
import { AppConfig } from '../../infra/config/app-config';
import { STORAGE_SERVICE, type ByteRange, type StorageService } from '../../infra/storage/storage.service';
import { createZipStream } from './archive/zip-stream';
import type { StemDownloadQueryDto } from './dto/separation-query.dto';
import type { SeparationJobEntity, StoredStem } from './entities/separation-job.entity';
import { CONTENT_TYPES } from './separation-options';
import { SeparationReader } from './separation-reader.service';
import { SeparationStatus } from './separation-status';
import { StemTranscoder } from './stem-transcoder.service';

/** A stored file that can be served whole or by byte range. */
export interface RangedFileSource {
  kind: 'file';
  size: number;
  etag: string;
  lastModified: Date;
  contentType: string;
  fileName: string;
  open(range?: ByteRange): Promise<Readable>;
}

/** A body produced on the fly (unknown length, no ranges). */
export interface StreamSource {
  kind: 'stream';
  contentType: string;
  fileName: string;
  /** Known exact length, when there is one. */
  size?: number;
  open(): Promise<Readable>;
}

export type DownloadSource = RangedFileSource | StreamSource;

/** Stem files and the zip of all stems of a succeeded job. */
@Injectable()
export class SeparationDownloadService {
  constructor(
    private readonly reader: SeparationReader,
    @Inject(STORAGE_SERVICE) private readonly storage: StorageService,
    private readonly transcoder: StemTranscoder,
    private readonly config: AppConfig,
  ) {}

  async stem(
    principal: Principal,
    id: string,
    stemName: string,
    query: StemDownloadQueryDto,
  ): Promise<DownloadSource> {
    const job = await this.readyJob(principal, id);
    const stem = (job.stems ?? []).find((s) => s.name === stemName);
    if (!stem) {
      throw new SeparationError(
        ErrorCodes.FILE_NOT_FOUND,
        `Job ${job.id} has no stem '${stemName.slice(0, 64)}'`,
        {
          stem: stemName.slice(0, 64),
          available: (job.stems ?? []).map((s) => s.name),
        },
      );
    }
    const base = downloadBaseName(job);
    if (query.codec && query.codec !== stem.codec) {
      const codec = query.codec;
      const bitrate = query.bitrate ?? this.config.audio.default_bitrate_kbps;
      const path = await this.storage.localPath(stem.key);
      return {
        kind: 'stream',
        contentType: CONTENT_TYPES[codec],
        fileName: `${base}-${stem.name}.${codec}`,
        open: async () => this.transcoder.transcode(path, codec, bitrate),
      };
    }
    const info = await this.storage.stat(stem.key);
    if (!info) throw gone(job.id);
    return {
      kind: 'file',
      size: info.size,
      etag: info.etag,
      lastModified: info.modifiedAt,
      contentType: stem.contentType,
      fileName: `${base}-${stem.name}.${stem.codec}`,
      open: (range) => this.storage.createReadStream(stem.key, range),
    };
  }

  async archive(principal: Principal, id: string): Promise<StreamSource> {
    const job = await this.readyJob(principal, id);
    const entries = [];
    for (const stem of job.stems ?? []) {
      const info = await this.storage.stat(stem.key);
      if (!info) throw gone(job.id);
      entries.push({
        name: fileNameOf(stem),
        size: info.size,
        modifiedAt: info.modifiedAt,
        open: () => this.storage.createReadStream(stem.key),
      });
    }
    const zip = createZipStream(entries);
    return {
      kind: 'stream',
      contentType: 'application/zip',
      fileName: `${downloadBaseName(job)}-stems.zip`,
      size: zip.size,
      open: async () => zip.start(),
    };
  }

  private async readyJob(principal: Principal, id: string): Promise<SeparationJobEntity> {
    const job = await this.reader.findOwned(principal, id);
    if (job.filesDeletedAt) throw gone(job.id);
    if (job.status !== SeparationStatus.Succeeded) {
      throw new SeparationError(
        ErrorCodes.JOB_NOT_READY,
        `Job ${job.id} is ${job.status}; stems exist once it succeeded`,
      );
    }
    return job;
  }
}

function gone(id: string): SeparationError {
  return new SeparationError(
    ErrorCodes.RESULT_EXPIRED,
    `The files of job ${id} were deleted (retention or DELETE)`,
  );
}

function fileNameOf(stem: StoredStem): string {
  return `${stem.name}.${stem.codec}`;
}

function downloadBaseName(job: SeparationJobEntity): string {
  const name = job.inputFilename?.replace(/\.[A-Za-z0-9]{1,5}$/, '');
  return name || job.id;
}
