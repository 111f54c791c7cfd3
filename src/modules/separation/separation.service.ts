import { randomUUID } from 'crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Principal } from '../../common/auth/principal';
import { ErrorCodes, SeparationError, SpleeterError, ValidationError } from '../../core/errors';
import { AppConfig } from '../../infra/config/app-config';
import { CallbackUrlPolicy } from '../../infra/http/callback-url-policy';
import { JobName } from '../../infra/queue/job-names';
import { JOB_QUEUE, type JobQueue } from '../../infra/queue/job-queue';
import { STORAGE_SERVICE, type StorageService } from '../../infra/storage/storage.service';
import { StorageKeys } from '../../infra/storage/storage-keys';
import { EngineService } from '../engine/engine.service';
import { resolveDspThreads } from '../../engine/dsp-threads';
import {
  estimateSeparationMemoryMb,
  memoryLimitError,
  mergedSegmentsInHostMemory,
} from '../../engine/memory-estimate';
import { QuotaService } from '../security/quota.service';
import type { SeparationOptionsDto } from './dto/separation-create.dto';
import type { SeparationListQueryDto } from './dto/separation-query.dto';
import type {
  BatchResponseDto,
  SeparationListResponseDto,
  SeparationResponseDto,
} from './dto/separation-response.dto';
import { SeparationBatchEntity } from './entities/separation-batch.entity';
import { SeparationJobEntity } from './entities/separation-job.entity';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { RESULT_CACHE, type CachedResult, type ResultCachePort } from '../../common/cache/result-cache.port';
import { separationCacheKey } from './separation-cache-key';
import {
  normalizeSeparationOptions,
  type SeparationAnalysisSettings,
  type SeparationJobOptions,
} from './separation-options';
import type { SignalAnalysis } from '../../core/analysis/signal-analysis';
import { SeparationLifecycle, type RequestContext } from './separation-lifecycle.service';
import { canSee, isUuid, SeparationReader } from './separation-reader.service';
import { isTerminal, SeparationStatus } from './separation-status';
import { decodeCursor, encodeCursor, toBatchResponse } from './separation.mapper';
import { UploadInspector, type InspectedUpload } from './upload-inspector.service';

/** An upload already streamed to a scratch file by the upload interceptor. */
export interface UploadedAudio {
  path: string;
  size: number;
  sha256: string;
  originalName?: string;
}

export const MAX_BATCH_FILES = 20;

interface PreparedRequest {
  requestedModel: string;
  model: { name: string; version?: string; stems: string[] };
  options: SeparationJobOptions;
  callbackUrl: string | null;
}

/**
 * Accepting, listing and cancelling separation jobs; their status changes are SeparationLifecycle's.
 * Running them is SeparationExecutionService's job (through the queue); streaming results out is
 * SeparationDownloadService's.
 */
@Injectable()
export class SeparationService {
  private readonly logger = new Logger(SeparationService.name);

  constructor(
    private readonly jobs: SeparationJobRepository,
    private readonly reader: SeparationReader,
    private readonly lifecycle: SeparationLifecycle,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(STORAGE_SERVICE) private readonly storage: StorageService,
    @Inject(RESULT_CACHE) private readonly cache: ResultCachePort,
    private readonly engine: EngineService,
    private readonly inspector: UploadInspector,
    private readonly callbackPolicy: CallbackUrlPolicy,
    private readonly quotas: QuotaService,
    private readonly config: AppConfig,
  ) {}

  async create(
    ctx: RequestContext,
    upload: UploadedAudio,
    dto: SeparationOptionsDto,
  ): Promise<SeparationResponseDto> {
    const [job] = await this.admit(ctx, [upload], dto, null);
    return this.reader.toResponse(job);
  }

  async createBatch(
    ctx: RequestContext,
    uploads: UploadedAudio[],
    dto: SeparationOptionsDto,
  ): Promise<BatchResponseDto> {
    if (uploads.length > MAX_BATCH_FILES) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `At most ${MAX_BATCH_FILES} files per batch`, {
        field: 'files',
        limit: MAX_BATCH_FILES,
      });
    }
    const batch = Object.assign(new SeparationBatchEntity(), {
      id: randomUUID(),
      ownerId: ctx.principal.id,
      jobCount: uploads.length,
      createdAt: new Date(),
    });
    const jobs = await this.admit(ctx, uploads, dto, batch);
    return toBatchResponse(batch, await this.reader.toResponses(jobs), this.reader.baseUrl);
  }

  /**
   * Admission, one upload or a batch: the request checked (model, stems, memory limit, callback URL),
   * every upload inspected (in a batch the problem names the bad file in `field`), the quota
   * reserved (released by the job's terminal event, or here on failure), each job served from the
   * result cache or its upload stored, the rows inserted (a batch in one transaction) and the rest
   * enqueued, all or nothing.
   */
  private async admit(
    ctx: RequestContext,
    uploads: UploadedAudio[],
    dto: SeparationOptionsDto,
    batch: SeparationBatchEntity | null,
  ): Promise<SeparationJobEntity[]> {
    const prepared = await this.prepare(dto);
    const inspected: InspectedUpload[] = [];
    for (const [i, upload] of uploads.entries()) {
      try {
        const result = await this.inspector.inspect(upload.path, upload.size);
        checkExcerpt(prepared.options, result);
        inspected.push(result);
      } catch (err) {
        throw batch && err instanceof SpleeterError ? withField(err, `files[${i}]`) : err;
      }
    }
    const jobs = uploads.map((u, i) => this.buildJob(ctx, prepared, u, inspected[i], batch?.id ?? null));
    const reserved: string[] = [];
    try {
      for (const job of jobs) {
        await this.quotas.reserve(ctx.principal, job.id, job.inputInfo?.durationSec ?? 0);
        reserved.push(job.id);
      }
      const toRun: SeparationJobEntity[] = [];
      for (const [i, job] of jobs.entries()) {
        const hit = await this.lookupCache(job);
        if (hit) {
          await this.lifecycle.completeFromCache(job, hit);
        } else {
          toRun.push(job);
          await this.storage.putFile(job.inputKey, uploads[i].path, { move: true });
        }
      }
      // A batch is refused whole when the queue cannot take all of it; one job, by enqueue below.
      if (batch && !(await this.queue.hasCapacity(toRun.length))) {
        await this.lifecycle.discard(jobs);
        throw new SeparationError(
          ErrorCodes.QUEUE_FULL,
          `The job queue cannot take ${toRun.length} more jobs`,
          { retryAfterSeconds: await this.queue.retryAfterSeconds() },
        );
      }
      await (batch ? this.jobs.insertBatch(batch, jobs) : this.jobs.insert(jobs[0]));
      try {
        for (const job of toRun) await this.queue.enqueue(JobName.Separate, job.id, { jobId: job.id });
      } catch (err) {
        await this.lifecycle.discard(jobs);
        throw err;
      }
    } catch (err) {
      for (const id of reserved) await this.quotas.release(id).catch(() => undefined);
      throw err;
    }
    for (const job of jobs) this.lifecycle.admitted(job, ctx);
    return jobs;
  }

  async get(principal: Principal, id: string): Promise<SeparationResponseDto> {
    return this.reader.toResponse(await this.reader.findOwned(principal, id));
  }

  async getBatch(principal: Principal, id: string): Promise<BatchResponseDto> {
    const batch = isUuid(id) ? await this.jobs.findBatch(id.toLowerCase()) : null;
    if (!batch || !canSee(principal, batch.ownerId)) {
      throw new SeparationError(ErrorCodes.JOB_NOT_FOUND, `No batch ${id.slice(0, 64)}`);
    }
    const jobs = await this.jobs.findByBatch(batch.id);
    return toBatchResponse(batch, await this.reader.toResponses(jobs), this.reader.baseUrl);
  }

  async list(principal: Principal, query: SeparationListQueryDto): Promise<SeparationListResponseDto> {
    const limit = query.limit ?? 20;
    let before: { createdAt: Date; id: string } | undefined;
    if (query.cursor) {
      const decoded = decodeCursor(query.cursor);
      if (!decoded)
        throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'cursor is malformed', { field: 'cursor' });
      before = decoded;
    }
    const rows = await this.jobs.list({
      ownerId: principal.role === 'admin' ? null : principal.id,
      statuses: query.status,
      limit: limit + 1,
      before,
    });
    const page = rows.slice(0, limit);
    return {
      data: await this.reader.toResponses(page),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null,
    };
  }

  /**
   * Cancels a queued or running job (a running one stops at the engine's next segment) and deletes
   * its files; on a finished job it only deletes the files. Returns the job as it now stands.
   */
  async cancel(ctx: RequestContext, id: string): Promise<SeparationResponseDto> {
    const job = await this.reader.findOwned(ctx.principal, id);
    // One that finished meanwhile is treated as a finished job.
    if (isTerminal(job.status) || !(await this.lifecycle.cancel(job, ctx))) {
      const fresh = (await this.jobs.findById(job.id)) ?? job;
      if (!fresh.filesDeletedAt) await this.lifecycle.deleteFiles(fresh, ctx);
    }
    return this.get(ctx.principal, job.id);
  }

  /** Model, stems subset, options and callback URL: everything that does not need the audio. */
  private async prepare(dto: SeparationOptionsDto): Promise<PreparedRequest> {
    const requestedModel = dto.model ?? this.config.models.default_model;
    const model = await this.engine.resolveModel(requestedModel);
    const options = normalizeSeparationOptions(
      { ...dto },
      {
        codec: this.config.audio.default_codec,
        bitDepth: this.config.audio.default_bit_depth,
        bitrateKbps: this.config.audio.default_bitrate_kbps,
        sampleRate: this.config.audio.default_sample_rate,
        preprocess: this.config.audio.enable_preprocessing,
        highpassHz: this.config.audio.highpass_hz,
        noiseReduction: this.config.audio.noise_reduction,
        normalizeLoudness: this.config.audio.normalize_loudness,
        targetLufs: this.config.audio.target_lufs,
        silenceThresholdDbfs: this.config.audio.silence_threshold_db,
        silenceMinDurationSec: this.config.audio.silence_min_duration_s,
        analysisTruePeak: this.config.audio.analysis_true_peak,
      },
      model,
    );
    const memoryLimit = this.config.performance.memory_limit_mb;
    if (memoryLimit !== null) {
      const perf = this.config.performance;
      // The API process does not run the model: a GPU is assumed wherever one is asked for.
      const provider = perf.enable_gpu || perf.require_gpu ? 'cuda' : 'cpu';
      const estimate = estimateSeparationMemoryMb({
        ...model,
        batchSegments: perf.batch_segments,
        dspThreads: resolveDspThreads(perf.dsp_threads, provider) > 0,
        mergedSegments: mergedSegmentsInHostMemory(
          perf.cross_job_batching,
          provider,
          perf.max_batch_segments,
        ),
      });
      if (estimate > memoryLimit) throw memoryLimitError(model.name, estimate, memoryLimit);
    }
    const unknown = (options.stems ?? []).filter((s) => !model.stems.includes(s));
    if (unknown.length > 0) {
      throw new ValidationError(
        ErrorCodes.UNKNOWN_STEM,
        `Model ${model.name} has no stem ${unknown.map((s) => `'${s}'`).join(', ')}`,
        { stem: unknown[0], available: model.stems, field: 'stems' },
      );
    }
    let callbackUrl: string | null = null;
    if (dto.callbackUrl) {
      await this.callbackPolicy.check(dto.callbackUrl);
      callbackUrl = dto.callbackUrl;
    }
    return { requestedModel, model, options, callbackUrl };
  }

  private buildJob(
    ctx: RequestContext,
    prepared: PreparedRequest,
    upload: UploadedAudio,
    inspected: InspectedUpload,
    batchId: string | null,
  ): SeparationJobEntity {
    const id = randomUUID();
    const now = new Date();
    return Object.assign(new SeparationJobEntity(), {
      id,
      ownerId: ctx.principal.id,
      batchId,
      status: SeparationStatus.Queued,
      progress: 0,
      stage: null,
      requestedModel: prepared.requestedModel,
      modelName: prepared.model.name,
      modelVersion: prepared.model.version ?? null,
      modelStems: prepared.model.stems,
      options: prepared.options,
      inputKey: StorageKeys.upload(id),
      inputFilename: displayFileName(upload.originalName),
      inputSize: upload.size,
      inputSha256: upload.sha256,
      inputFormat: inspected.format,
      inputInfo: inspected.info,
      analysis: null,
      cacheKey: separationCacheKey(upload.sha256, prepared.model, prepared.options),
      cached: false,
      executionProvider: null,
      executionDevice: null,
      stems: null,
      timings: null,
      errorCode: null,
      errorMessage: null,
      callbackUrl: prepared.callbackUrl,
      callbackStatus: prepared.callbackUrl ? 'pending' : null,
      callbackAttempts: 0,
      attempts: 0,
      requestId: ctx.requestId ?? null,
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      finishedAt: null,
      expiresAt: null,
      filesDeletedAt: null,
    } satisfies SeparationJobEntity);
  }

  private async lookupCache(job: SeparationJobEntity): Promise<CachedResult | null> {
    try {
      const hit = await this.cache.lookup(job.cacheKey);
      const wanted = job.options.stems ?? job.modelStems;
      if (
        hit &&
        wanted.every((s) => hit.stems.some((h) => h.name === s)) &&
        hasAnalysisFor(hit, wanted, job.options.analysis ?? null)
      ) {
        return hit;
      }
    } catch (err) {
      this.logger.warn(`Result cache lookup failed (ignored): ${(err as Error).message}`);
    }
    return null;
  }
}

/**
 * A cache hit serves a job that wants an analysis only when the entry holds one with the same silence
 * settings for every wanted stem; otherwise the job runs (and stores an entry that has it).
 */
function hasAnalysisFor(
  hit: CachedResult,
  wanted: readonly string[],
  settings: SeparationAnalysisSettings | null,
): boolean {
  if (!settings) return true;
  const a = hit.analysis;
  if (!a) return false;
  // An entry measured without true peak (null) does not serve a job that wants it (an empty
  // input's true peak is null either way).
  const truePeakOk = !(settings.truePeak ?? true) || a.input.loudness.truePeakDbtp !== null || a.input.empty;
  const same = (s: SignalAnalysis | undefined) =>
    !!s &&
    s.silence.thresholdDbfs === settings.silenceThresholdDbfs &&
    s.silence.minDurationSec === settings.silenceMinDurationSec;
  if (!truePeakOk) return false;
  return same(a.input) && wanted.every((name) => same(a.stems[name]));
}

function checkExcerpt(options: SeparationJobOptions, inspected: InspectedUpload): void {
  if (options.offsetSec > 0 && options.offsetSec >= inspected.info.durationSec) {
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      `offset ${options.offsetSec} s is beyond the end of the audio (${inspected.info.durationSec.toFixed(2)} s)`,
      { field: 'offset' },
    );
  }
}

/**
 * Client file name reduced to a display name: no directories, no control characters, no bidi
 * override/isolate controls (which can make `song\u202Ewav.exe` read as `songexe.wav`), no `<>|`, at
 * most 200 characters (whole code points). Any script, and quotes, are kept: the name goes out
 * JSON-encoded or through Content-Disposition's escaping.
 */
export function displayFileName(original: string | undefined): string | null {
  if (!original) return null;
  const base = original.split(/[/\\]/).pop() ?? '';
  const clean = Array.from(
    base
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069<>|]/g, '')
      .trim(),
  )
    .slice(0, 200)
    .join('');
  return clean && clean !== '.' && clean !== '..' ? clean : null;
}

function withField(err: SpleeterError, field: string): SpleeterError {
  const Ctor = err.constructor as new (
    code: string,
    message: string,
    context: Record<string, unknown>,
  ) => SpleeterError;
  return new Ctor(err.code, `${field}: ${err.message}`, { ...err.context, field });
}
