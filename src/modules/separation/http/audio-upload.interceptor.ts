import {
  createParamDecorator,
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import multer from 'multer';
import { from, throwError, type Observable } from 'rxjs';
import { catchError, concatMap } from 'rxjs/operators';
import { AudioProcessingError, ErrorCodes, SeparationError, ValidationError } from '../../../core/errors';
import { AppConfig } from '../../../infra/config/app-config';
import { JOB_QUEUE, type JobQueue } from '../../../infra/queue/job-queue';
import {
  MulterScratchStorage,
  type ScratchUploadedFile,
} from '../../../infra/storage/multer-scratch-storage';
import { STORAGE_SERVICE, type StorageService } from '../../../infra/storage/storage.service';
import type { UploadedAudio } from '../separation.service';

const MIB = 1024 * 1024;
/** Room for the form fields and part headers on top of the files themselves. */
const MULTIPART_OVERHEAD = MIB;

type UploadRequest = Request & { uploadedAudio?: UploadedAudio[] };

/**
 * Receives audio uploads for a route: refuses early what can be refused without reading the body
 * (not multipart, declared size over the limit, queue full), streams the file parts to scratch files
 * under generated names (multer + MulterScratchStorage, `limits.fileSize` from
 * `audio.max_upload_mb`), maps multer/busboy errors to problem codes, and deletes the scratch files
 * once the handler is done, whatever happened. The handler takes them with `@UploadedAudioFiles()`.
 */
@Injectable()
abstract class AudioUploadInterceptor implements NestInterceptor {
  protected abstract readonly field: string;
  protected abstract readonly maxFiles: number;

  constructor(
    @Inject(STORAGE_SERVICE) private readonly storage: StorageService,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    private readonly config: AppConfig,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<UploadRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const maxBytes = Math.floor(this.config.audio.max_upload_mb * MIB);
    await this.precheck(req, res, maxBytes);
    const files = await this.receive(req, res, maxBytes);
    const cleanup = () =>
      Promise.all(files.map((f) => this.storage.removeScratch(f.path).catch(() => undefined)));
    if (files.length === 0) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `The audio file is missing: send it in the '${this.field}' part`,
        {
          field: this.field,
        },
      );
    }
    req.uploadedAudio = files.map((f) => ({
      path: f.path,
      size: f.size,
      sha256: f.sha256,
      originalName: f.originalname,
    }));
    return next.handle().pipe(
      concatMap(async (value: unknown) => {
        await cleanup();
        return value;
      }),
      catchError((err: unknown) => from(cleanup()).pipe(concatMap(() => throwError(() => err)))),
    );
  }

  private async precheck(req: Request, res: Response, maxBytes: number): Promise<void> {
    if (!req.is('multipart/form-data')) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `Send multipart/form-data with the audio in the '${this.field}' part`,
        { field: this.field },
      );
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes * this.maxFiles + MULTIPART_OVERHEAD) {
      // The body is never read: close the connection instead of draining gigabytes.
      res.setHeader('Connection', 'close');
      throw tooLarge(maxBytes);
    }
    try {
      await this.admissible();
    } catch (err) {
      // Refused before the body is read (full, shutting down, QUEUE_UNAVAILABLE when Redis is away):
      // close the connection instead of draining the upload.
      res.setHeader('Connection', 'close');
      throw err;
    }
  }

  private async admissible(): Promise<void> {
    const stats = await this.queue.stats();
    if (!stats.accepting) {
      throw new SeparationError(ErrorCodes.SHUTTING_DOWN, 'The server is shutting down', {
        retryAfterSeconds: 5,
      });
    }
    if (!(await this.queue.hasCapacity(1))) {
      throw new SeparationError(ErrorCodes.QUEUE_FULL, `The job queue is full (${stats.capacity} waiting)`, {
        retryAfterSeconds: await this.queue.retryAfterSeconds(),
        limit: stats.capacity,
      });
    }
  }

  private receive(req: Request, res: Response, maxBytes: number): Promise<ScratchUploadedFile[]> {
    const upload = multer({
      storage: new MulterScratchStorage(this.storage),
      // Browsers and curl send the file name as raw UTF-8 (RFC 7578); busboy's default, latin1,
      // turns '☃' into 'â\u0098\u0083'.
      defParamCharset: 'utf8',
      limits: {
        fileSize: maxBytes,
        files: this.maxFiles,
        fields: 32,
        parts: this.maxFiles + 32,
        fieldSize: 16 * 1024,
      },
    }).array(this.field, this.maxFiles);
    return new Promise((resolve, reject) => {
      upload(req, res, (err: unknown) => {
        if (err) return reject(this.toProblem(err, maxBytes));
        resolve(((req.files as ScratchUploadedFile[] | undefined) ?? []).slice());
      });
    });
  }

  private toProblem(err: unknown, maxBytes: number): unknown {
    if (err instanceof multer.MulterError) {
      switch (err.code) {
        case 'LIMIT_FILE_SIZE':
          return tooLarge(maxBytes);
        case 'LIMIT_UNEXPECTED_FILE':
          return new ValidationError(
            ErrorCodes.VALIDATION_FAILED,
            err.field === this.field
              ? `Too many files in '${this.field}' (at most ${this.maxFiles})`
              : `Unexpected file field '${String(err.field).slice(0, 64)}': send the audio in '${this.field}'`,
            { field: err.field, limit: this.maxFiles },
          );
        default:
          return new ValidationError(ErrorCodes.VALIDATION_FAILED, `Invalid multipart body: ${err.message}`, {
            field: err.field,
          });
      }
    }
    const message = (err as Error)?.message ?? '';
    if (/multipart|boundary|unexpected end of form|malformed|part header/i.test(message)) {
      return new ValidationError(ErrorCodes.VALIDATION_FAILED, `Malformed multipart body: ${message}`);
    }
    return err;
  }
}

function tooLarge(maxBytes: number): AudioProcessingError {
  return new AudioProcessingError(
    ErrorCodes.FILE_TOO_LARGE,
    `The upload exceeds the limit of ${Math.round((maxBytes / MIB) * 10) / 10} MiB`,
    { limit: maxBytes },
  );
}

@Injectable()
export class SingleAudioUploadInterceptor extends AudioUploadInterceptor {
  protected readonly field = 'file';
  protected readonly maxFiles = 1;
}

export const MAX_BATCH_UPLOAD_FILES = 20;

@Injectable()
export class BatchAudioUploadInterceptor extends AudioUploadInterceptor {
  protected readonly field = 'files';
  protected readonly maxFiles = MAX_BATCH_UPLOAD_FILES;
}

/** The uploads received by an AudioUploadInterceptor, in form order. */
export const UploadedAudioFiles = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): UploadedAudio[] => {
    return ctx.switchToHttp().getRequest<UploadRequest>().uploadedAudio ?? [];
  },
);
