import { randomUUID } from 'crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Principal } from '../../common/auth/principal';
import { DomainEvents, type SeparationEventPayload } from '../../common/events/domain-events';
import { ErrorCodes, SeparationError, SpleeterError, ValidationError } from '../../core/errors';
import { AppConfig } from '../../infra/config/app-config';
import { CallbackUrlPolicy } from '../../infra/http/callback-url-policy';
import { JobName } from '../../infra/queue/job-names';
import { JOB_QUEUE, type JobQueue } from '../../infra/queue/job-queue';
import { STORAGE_SERVICE, type StorageService } from '../../infra/storage/storage.service';
import { StorageKeys } from '../../infra/storage/storage-keys';
import { EngineService } from '../engine/engine.service';
import { estimateSeparationMemoryMb, memoryLimitError } from '../../engine/memory-estimate';
import { QuotaService } from '../security/quota.service';
import type { SeparationOptionsDto } from './dto/separation-create.dto';
import type { SeparationListQueryDto } from './dto/separation-query.dto';
import type {
  BatchResponseDto,
  SeparationListResponseDto,
  SeparationResponseDto,
} from './dto/separation-response.dto';
import { SeparationBatchEntity } from './entities/separation-batch.entity';
import { SeparationJobEntity, type StoredStem } from './entities/separation-job.entity';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { RESULT_CACHE, type CachedResult, type ResultCachePort } from '../../common/cache/result-cache.port';
import { SeparationCallbackService } from './separation-callback.service';
import { separationCacheKey } from './separation-cache-key';
import {
  CONTENT_TYPES,
  normalizeSeparationOptions,
  type SeparationAnalysisSettings,
  type SeparationJobOptions,
} from './separation-options';
import type { SignalAnalysis } from '../../core/analysis/signal-analysis';
import { SeparationProgressHub } from './separation-progress.hub';
import { SeparationReader } from './separation-reader.service';
import { isTerminal, SeparationStatus, UNFINISHED_STATUSES } from './separation-status';
import { decodeCursor, encodeCursor, toBatchResponse } from './separation.mapper';
import { UploadInspector, type InspectedUpload } from './upload-inspector.service';

/** An upload already streamed to a scratch file by the upload interceptor. */
export interface UploadedAudio {
  path: string;
  size: number;
  sha256: string;
  originalName?: string;
}

export interface RequestContext {
  principal: Principal;
  requestId?: string;
}

export const MAX_BATCH_FILES = 20;

interface PreparedRequest {
  requestedModel: string;
  model: { name: string; version?: string; stems: string[] };
  options: SeparationJobOptions;
  callbackUrl: string | null;
}

/**
 * Accepting, listing and cancelling separation jobs. Running them is SeparationExecutionService's
 * job (through the queue); streaming results out is SeparationDownloadService's.
 */
@Injectable()
export class SeparationService {
  private readonly logger = new Logger(SeparationService.name);

  constructor(
    private readonly jobs: SeparationJobRepository,
    private readonly reader: SeparationReader,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(STORAGE_SERVICE) private readonly storage: StorageService,
    @Inject(RESULT_CACHE) private readonly cache: ResultCachePort,
    private readonly engine: EngineService,
    private readonly inspector: UploadInspector,
    private readonly callbackPolicy: CallbackUrlPolicy,
    private readonly callbacks: SeparationCallbackService,
    private readonly hub: SeparationProgressHub,
    private readonly events: EventEmitter2,
    private readonly quotas: QuotaService,
    private readonly config: AppConfig,
  ) {}

  async create(
    ctx: RequestContext,
    upload: UploadedAudio,
    dto: SeparationOptionsDto,
  ): Promise<SeparationResponseDto> {
    const prepared = await this.prepare(dto);
    const inspected = await this.inspector.inspect(upload.path, upload.size);
    checkExcerpt(prepared.options, inspected);
    const job = this.buildJob(ctx, prepared, upload, inspected, null);
    // Quota slots are released by the job's terminal event (QuotaService listens) or below.
    await this.quotas.reserve(ctx.principal, job.id, inspected.info.durationSec);
    try {
      const hit = await this.lookupCache(job);
      if (hit) {
        await this.completeFromCache(job, hit);
        await this.jobs.insert(job);
      } else {
        await this.storage.putFile(job.inputKey, upload.path, { move: true });
        await this.jobs.insert(job);
        try {
          await this.queue.enqueue(JobName.Separate, job.id, { jobId: job.id });
        } catch (err) {
          await this.discard([job]);
          throw err;
        }
      }
    } catch (err) {
      await this.quotas.release(job.id).catch(() => undefined);
      throw err;
    }
    this.announce(ctx, job);
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
    const prepared = await this.prepare(dto);
    const inspected: InspectedUpload[] = [];
    for (const [i, upload] of uploads.entries()) {
      try {
        const result = await this.inspector.inspect(upload.path, upload.size);
        checkExcerpt(prepared.options, result);
        inspected.push(result);
      } catch (err) {
        throw err instanceof SpleeterError ? withField(err, `files[${i}]`) : err;
      }
    }
    const batch = Object.assign(new SeparationBatchEntity(), {
      id: randomUUID(),
      ownerId: ctx.principal.id,
      jobCount: uploads.length,
      createdAt: new Date(),
    });
    const jobs = uploads.map((u, i) => this.buildJob(ctx, prepared, u, inspected[i], batch.id));
    const reserved: string[] = [];
    try {
      for (const job of jobs) {
        await this.quotas.reserve(ctx.principal, job.id, job.inputInfo?.durationSec ?? 0);
        reserved.push(job.id);
      }
      await this.admitBatch(batch, jobs, uploads);
    } catch (err) {
      for (const id of reserved) await this.quotas.release(id).catch(() => undefined);
      throw err;
    }
    for (const job of jobs) this.announce(ctx, job);
    return toBatchResponse(batch, await this.reader.toResponses(jobs), this.reader.baseUrl);
  }

  /** Cache hits complete at once; the rest are stored, inserted with the batch and enqueued (all or nothing). */
  private async admitBatch(
    batch: SeparationBatchEntity,
    jobs: SeparationJobEntity[],
    uploads: UploadedAudio[],
  ): Promise<void> {
    const toRun: SeparationJobEntity[] = [];
    for (const [i, job] of jobs.entries()) {
      const hit = await this.lookupCache(job);
      if (hit) {
        await this.completeFromCache(job, hit);
      } else {
        toRun.push(job);
        await this.storage.putFile(job.inputKey, uploads[i].path, { move: true });
      }
    }
    if (!(await this.queue.hasCapacity(toRun.length))) {
      await this.discard(jobs);
      throw new SeparationError(
        ErrorCodes.QUEUE_FULL,
        `The job queue cannot take ${toRun.length} more jobs`,
        {
          retryAfterSeconds: await this.queue.retryAfterSeconds(),
        },
      );
    }
    await this.jobs.insertBatch(batch, jobs);
    try {
      for (const job of toRun) await this.queue.enqueue(JobName.Separate, job.id, { jobId: job.id });
    } catch (err) {
      await this.discard(jobs);
      throw err;
    }
  }

  async get(principal: Principal, id: string): Promise<SeparationResponseDto> {
    return this.reader.toResponse(await this.reader.findOwned(principal, id));
  }

  async getBatch(principal: Principal, id: string): Promise<BatchResponseDto> {
    const batch = /^[0-9a-f-]{36}$/i.test(id) ? await this.jobs.findBatch(id.toLowerCase()) : null;
    if (!batch || (principal.role !== 'admin' && batch.ownerId !== principal.id)) {
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
    const now = new Date();
    if (!isTerminal(job.status)) {
      const canceled = await this.jobs.transition(job.id, UNFINISHED_STATUSES, {
        status: SeparationStatus.Canceled,
        stage: null,
        finishedAt: now,
        expiresAt: now,
        filesDeletedAt: now,
        errorCode: ErrorCodes.JOB_CANCELED,
        errorMessage: 'Canceled by the client',
        callbackStatus: job.callbackUrl ? 'pending' : null,
      });
      if (canceled) {
        await this.queue.cancel(job.id);
        await this.deleteFiles(job.id);
        this.hub.publish({
          jobId: job.id,
          status: SeparationStatus.Canceled,
          progress: job.progress,
          stage: null,
          attempt: job.attempts,
        });
        this.emit(DomainEvents.SeparationCanceled, job, ctx);
        this.callbacks.schedule(job.id);
        return this.get(ctx.principal, job.id);
      }
      // It finished meanwhile: fall through and treat it as a finished job.
    }
    const fresh = (await this.jobs.findById(job.id)) ?? job;
    if (!fresh.filesDeletedAt) {
      await this.deleteFiles(job.id);
      await this.jobs.update(job.id, { filesDeletedAt: now });
      this.emit(DomainEvents.SeparationDeleted, fresh, ctx);
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
      const estimate = estimateSeparationMemoryMb({
        ...model,
        batchSegments: this.config.performance.batch_segments,
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

  /** Copies cached outputs into this job's result files and marks it succeeded (not yet persisted). */
  private async completeFromCache(job: SeparationJobEntity, hit: CachedResult): Promise<void> {
    const wanted = job.options.stems ?? job.modelStems;
    const stems: StoredStem[] = [];
    for (const name of wanted) {
      const file = hit.stems.find((s) => s.name === name)!;
      const key = StorageKeys.result(job.id, `${name}.${job.options.codec}`);
      const info = await this.storage.putFile(key, file.path);
      const analysis = job.options.analysis ? hit.analysis?.stems[name] : undefined;
      stems.push({
        name,
        key,
        codec: job.options.codec,
        contentType: CONTENT_TYPES[job.options.codec],
        size: info.size,
        etag: info.etag,
        ...(analysis ? { analysis } : {}),
      });
    }
    const now = new Date();
    Object.assign(job, {
      status: SeparationStatus.Succeeded,
      progress: 100,
      cached: true,
      stems,
      executionProvider: hit.executionProvider ?? null,
      executionDevice: hit.executionDevice ?? null,
      inputInfo: hit.input ?? job.inputInfo,
      analysis: job.options.analysis ? (hit.analysis?.input ?? null) : null,
      startedAt: now,
      finishedAt: now,
      expiresAt: new Date(now.getTime() + this.config.storage.retention_hours * 3600_000),
      timings: { queuedMs: 0, decodeMs: 0, inferenceMs: 0, dspMs: 0, encodeMs: 0, totalMs: 0 },
    });
  }

  /** Events (and, for a job that completed from the cache, its callback) once the job is stored. */
  private announce(ctx: RequestContext, job: SeparationJobEntity): void {
    this.emit(DomainEvents.SeparationQueued, job, ctx);
    if (job.status === SeparationStatus.Succeeded) {
      this.emit(DomainEvents.SeparationSucceeded, job, ctx);
      this.callbacks.schedule(job.id);
    }
  }

  /** Undo accepted-but-not-queued jobs (queue refused them): rows, uploads, results. */
  private async discard(jobs: SeparationJobEntity[]): Promise<void> {
    for (const job of jobs) {
      await this.queue.cancel(job.id).catch(() => undefined);
      await this.jobs.delete(job.id).catch(() => undefined);
      await this.deleteFiles(job.id);
    }
  }

  private async deleteFiles(jobId: string): Promise<void> {
    await this.storage.delete(StorageKeys.upload(jobId)).catch((e: Error) => this.logger.warn(e.message));
    await this.storage
      .deletePrefix(StorageKeys.resultDir(jobId))
      .catch((e: Error) => this.logger.warn(e.message));
  }

  private emit(event: string, job: SeparationJobEntity, ctx: RequestContext): void {
    const payload: SeparationEventPayload = {
      jobId: job.id,
      principal: ctx.principal,
      ownerId: job.ownerId,
      model: job.modelName,
      modelVersion: job.modelVersion ?? undefined,
      audioSeconds: job.inputInfo?.durationSec,
      cached: job.cached,
      requestId: ctx.requestId,
    };
    this.events.emit(event, payload);
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
