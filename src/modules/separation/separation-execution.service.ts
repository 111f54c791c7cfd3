import { randomUUID } from 'crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DomainEvents, type SeparationEventPayload } from '../../common/events/domain-events';
import { ErrorCodes, SpleeterError } from '../../core/errors';
import { scrubPaths } from '../../core/scrub-paths';
import { AppConfig } from '../../infra/config/app-config';
import { abortReasonOf, type JobContext } from '../../infra/queue/job-queue';
import { STORAGE_SERVICE, type StorageService } from '../../infra/storage/storage.service';
import { StorageKeys } from '../../infra/storage/storage-keys';
import type { SeparationResult } from '../../engine/types';
import { EngineService } from '../engine/engine.service';
import type { SeparationJobEntity, StoredStem } from './entities/separation-job.entity';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { RESULT_CACHE, type ResultCachePort } from '../../common/cache/result-cache.port';
import { SeparationCallbackService } from './separation-callback.service';
import { CONTENT_TYPES, toEngineOptions } from './separation-options';
import { SeparationProgressHub } from './separation-progress.hub';
import { SeparationScratchService } from './separation-scratch.service';
import { SeparationStatus } from './separation-status';

/** A job interrupted this many times (process crashes mid-job) is failed instead of re-queued. */
export const MAX_JOB_ATTEMPTS = 3;

const DB_PROGRESS_INTERVAL_MS = 1000;
const LIVE_PROGRESS_INTERVAL_MS = 200;

/**
 * Runs one queued job: claims the row, calls the engine into a scratch directory, commits the
 * outputs to storage, records the outcome, and hands the result to the cache and the callback.
 * On shutdown the job goes back to 'queued'; on cancel the row (already 'canceled') is left alone.
 */
@Injectable()
export class SeparationExecutionService {
  private readonly logger = new Logger(SeparationExecutionService.name);

  constructor(
    private readonly jobs: SeparationJobRepository,
    @Inject(STORAGE_SERVICE) private readonly storage: StorageService,
    @Inject(RESULT_CACHE) private readonly cache: ResultCachePort,
    private readonly engine: EngineService,
    private readonly hub: SeparationProgressHub,
    private readonly callbacks: SeparationCallbackService,
    private readonly events: EventEmitter2,
    private readonly config: AppConfig,
    private readonly scratch: SeparationScratchService,
  ) {}

  async run(jobId: string, ctx: JobContext): Promise<void> {
    const job = await this.jobs.findById(jobId);
    if (!job || (job.status !== SeparationStatus.Queued && job.status !== SeparationStatus.Running)) return;
    if (ctx.signal.aborted) return;
    const startedAt = new Date();
    // Progress is not reset: a re-run job keeps its high-water mark until this run passes it.
    const claimed = await this.jobs.transition(jobId, [SeparationStatus.Queued, SeparationStatus.Running], {
      status: SeparationStatus.Running,
      startedAt,
      stage: 'starting',
      attempts: job.attempts + 1,
    });
    if (!claimed) return;
    Object.assign(job, { status: SeparationStatus.Running, startedAt, attempts: job.attempts + 1 });
    this.publish(job, SeparationStatus.Running, 'starting');
    this.emit(DomainEvents.SeparationStarted, job);
    this.logger.log({
      msg: 'Separation job started',
      event: 'separation.started',
      ...this.logFields(job, this.engine.executionProvider, selectedSeconds(job)),
      attempt: job.attempts,
    });

    // Named after this attempt, created after the claim: see SeparationScratchService for the rule.
    const staging = await this.scratch.createStaging(jobId, job.attempts);
    const progress = this.progressReporter(job);
    try {
      const result = await this.engine.separate({
        ...toEngineOptions(job.options),
        modelName: job.modelVersion ? `${job.modelName}@${job.modelVersion}` : job.modelName,
        audioPath: await this.storage.localPath(job.inputKey),
        outputDir: staging,
        filenameFormat: '{instrument}.{codec}',
        overwrite: true,
        signal: ctx.signal,
        onProgress: progress.report,
      });
      progress.stop();
      if (ctx.signal.aborted) throw ctx.signal.reason;
      await this.succeed(job, result);
    } catch (err) {
      progress.stop();
      await this.handleFailure(job, err, ctx);
    } finally {
      // The row now holds the outcome and the progress reached; the live copy is no longer needed.
      this.hub.forget(jobId);
      await this.storage.removeScratch(staging).catch((e: Error) => this.logger.warn(e.message));
    }
  }

  private async succeed(job: SeparationJobEntity, result: SeparationResult): Promise<void> {
    const codec = job.options.codec;
    const stems: StoredStem[] = [];
    for (const [name, file] of Object.entries(result.outputs)) {
      const key = StorageKeys.result(job.id, `${name}.${codec}`);
      const info = await this.storage.putFile(key, file, { move: true });
      const analysis = result.analysis?.stems[name];
      stems.push({
        name,
        key,
        codec,
        contentType: CONTENT_TYPES[codec],
        size: info.size,
        etag: info.etag,
        ...(analysis ? { analysis } : {}),
      });
    }
    const finishedAt = new Date();
    const t = result.timings;
    const patch = {
      status: SeparationStatus.Succeeded,
      progress: 100,
      stage: null,
      stems,
      executionProvider: result.executionProvider,
      executionDevice: result.executionDevice ?? null,
      inputInfo: result.input ?? job.inputInfo,
      analysis: result.analysis?.input ?? null,
      modelVersion: result.model.version ?? job.modelVersion,
      timings: {
        queuedMs: job.startedAt!.getTime() - new Date(job.createdAt).getTime(),
        decodeMs: t.decodeMs,
        inferenceMs: t.inferenceMs,
        dspMs: t.dspMs,
        encodeMs: t.encodeMs,
        totalMs: finishedAt.getTime() - job.startedAt!.getTime(),
      },
      finishedAt,
      expiresAt: this.expiry(finishedAt),
    };
    // Cached before the job reports success: a client that sees 'succeeded' and sends the same
    // request again gets the cached result, and the cache metrics already count this one.
    await this.storeInCache(job, stems, result);
    if (!(await this.jobs.transition(job.id, [SeparationStatus.Running], patch))) {
      // Canceled while the last files were being written: they must not outlive the job.
      await this.storage.deletePrefix(StorageKeys.resultDir(job.id));
      return;
    }
    Object.assign(job, patch);
    await this.storage.delete(job.inputKey).catch((e: Error) => this.logger.warn(e.message));
    this.publish(job, SeparationStatus.Succeeded, null);
    this.emit(DomainEvents.SeparationSucceeded, job, { durationMs: patch.timings.totalMs });
    this.logger.log({
      msg: 'Separation job succeeded',
      event: 'separation.succeeded',
      ...this.logFields(job, result.executionProvider, result.input?.durationSec ?? selectedSeconds(job)),
      realtimeFactor: round2(result.realtimeFactor),
      totalMs: patch.timings.totalMs,
    });
    this.callbacks.schedule(job.id);
  }

  private async handleFailure(job: SeparationJobEntity, err: unknown, ctx: JobContext): Promise<void> {
    const reason = abortReasonOf(ctx.signal);
    if (reason === 'shutdown') {
      // Not the job's fault: it runs again after the restart.
      const requeued = await this.jobs.transition(job.id, [SeparationStatus.Running], {
        status: SeparationStatus.Queued,
        progress: job.progress,
        stage: null,
        startedAt: null,
      });
      if (requeued) this.publish(job, SeparationStatus.Queued, null);
      return;
    }
    if (reason === 'canceled' || (err instanceof SpleeterError && err.code === ErrorCodes.JOB_CANCELED)) {
      // cancel() already wrote 'canceled'; this only covers a cancel that bypassed it.
      await this.jobs.transition(job.id, [SeparationStatus.Running], {
        status: SeparationStatus.Canceled,
        stage: null,
        finishedAt: new Date(),
        errorCode: ErrorCodes.JOB_CANCELED,
        errorMessage: 'Canceled',
      });
      await this.storage.deletePrefix(StorageKeys.resultDir(job.id)).catch(() => undefined);
      return;
    }
    const { code, message } = this.describe(err, job.id);
    const finishedAt = new Date();
    const failed = await this.jobs.transition(job.id, [SeparationStatus.Running], {
      status: SeparationStatus.Failed,
      // What live clients were shown last, which the throttled database copy may not have reached.
      progress: job.progress,
      stage: null,
      errorCode: code,
      errorMessage: message,
      finishedAt,
      expiresAt: this.expiry(finishedAt),
      timings: {
        queuedMs: job.startedAt!.getTime() - new Date(job.createdAt).getTime(),
        decodeMs: null,
        inferenceMs: null,
        dspMs: null,
        encodeMs: null,
        totalMs: finishedAt.getTime() - job.startedAt!.getTime(),
      },
    });
    await this.storage.deletePrefix(StorageKeys.resultDir(job.id)).catch(() => undefined);
    if (!failed) return;
    await this.storage.delete(job.inputKey).catch(() => undefined);
    this.publish(job, SeparationStatus.Failed, null);
    this.emit(DomainEvents.SeparationFailed, job, {
      errorCode: code,
      durationMs: finishedAt.getTime() - job.startedAt!.getTime(),
    });
    this.logger.warn({
      msg: 'Separation job failed',
      event: 'separation.failed',
      ...this.logFields(job, this.engine.executionProvider, selectedSeconds(job)),
      realtimeFactor: null,
      errorCode: code,
      totalMs: finishedAt.getTime() - job.startedAt!.getTime(),
    });
    this.callbacks.schedule(job.id);
  }

  /** Client-safe code and message; unknown errors are logged with an id and reported as INTERNAL. */
  private describe(err: unknown, jobId: string): { code: string; message: string } {
    if (err instanceof SpleeterError) return { code: err.code, message: scrubPaths(err.message) };
    const errorId = randomUUID();
    this.logger.error(
      `Job ${jobId} failed (error id ${errorId}): ${(err as Error)?.message}`,
      (err as Error)?.stack,
    );
    return { code: ErrorCodes.INTERNAL, message: `Internal error during separation (error id ${errorId})` };
  }

  private async storeInCache(
    job: SeparationJobEntity,
    stored: StoredStem[],
    result: SeparationResult,
  ): Promise<void> {
    try {
      const stems = await Promise.all(
        stored.map(async (s) => ({ name: s.name, path: await this.storage.localPath(s.key) })),
      );
      await this.cache.store(job.cacheKey, {
        stems,
        model: { name: job.modelName, version: result.model.version ?? job.modelVersion ?? undefined },
        executionProvider: result.executionProvider,
        executionDevice: result.executionDevice ?? null,
        input: result.input,
        ...(result.analysis ? { analysis: result.analysis } : {}),
      });
    } catch (err) {
      this.logger.warn(`Result cache store failed (ignored): ${(err as Error).message}`);
    }
  }

  /**
   * Throttles engine progress: live updates (SSE) at most every 200 ms, database writes every
   * second or on a stage change, never two writes in flight.
   */
  private progressReporter(job: SeparationJobEntity) {
    let lastLive = 0;
    let lastDb = 0;
    let lastPct = -1;
    let lastStage: string | null = null;
    let writing: Promise<void> | null = null;
    let stopped = false;
    const report = (fraction: number, stage: string) => {
      if (stopped) return;
      // Never below what an earlier run of this job reached (progress is a high-water mark).
      const pct = Math.max(job.progress, Math.min(99, Math.floor(fraction * 100)));
      const now = Date.now();
      const stageChanged = stage !== lastStage;
      if (pct === lastPct && !stageChanged) return;
      job.progress = pct;
      if (stageChanged || now - lastLive >= LIVE_PROGRESS_INTERVAL_MS) {
        lastLive = now;
        this.publish(job, SeparationStatus.Running, stage);
        this.emit(DomainEvents.SeparationProgress, job, { progress: pct });
      }
      if ((stageChanged || now - lastDb >= DB_PROGRESS_INTERVAL_MS) && !writing) {
        lastDb = now;
        writing = this.jobs
          .updateProgress(job.id, pct, stage)
          .catch((e: Error) => this.logger.warn(`Progress write failed: ${e.message}`))
          .finally(() => {
            writing = null;
          });
      }
      lastPct = pct;
      lastStage = stage;
    };
    return {
      report,
      stop: () => {
        stopped = true;
      },
    };
  }

  /** The fields every job log line carries, so one query finds a job's whole story. */
  private logFields(job: SeparationJobEntity, provider: string, audioSeconds: number | null) {
    return {
      jobId: job.id,
      model: job.modelVersion ? `${job.modelName}@${job.modelVersion}` : job.modelName,
      provider,
      audioSeconds: audioSeconds === null ? null : round2(audioSeconds),
      ...(job.requestId ? { requestId: job.requestId } : {}),
    };
  }

  private publish(job: SeparationJobEntity, status: SeparationStatus, stage: string | null): void {
    this.hub.publish({
      jobId: job.id,
      status,
      progress: status === SeparationStatus.Succeeded ? 100 : job.progress,
      stage,
      attempt: job.attempts,
    });
  }

  private expiry(from: Date): Date {
    return new Date(from.getTime() + this.config.storage.retention_hours * 3600_000);
  }

  private emit(event: string, job: SeparationJobEntity, extra: Partial<SeparationEventPayload> = {}): void {
    const payload: SeparationEventPayload = {
      jobId: job.id,
      ownerId: job.ownerId,
      model: job.modelName,
      modelVersion: job.modelVersion ?? undefined,
      executionProvider: job.executionProvider ?? undefined,
      audioSeconds: job.inputInfo?.durationSec,
      cached: job.cached,
      requestId: job.requestId ?? undefined,
      ...extra,
    };
    this.events.emit(event, payload);
  }
}

/** Seconds of audio the job asked for: the offset/duration selection of the probed input. */
function selectedSeconds(job: SeparationJobEntity): number | null {
  const total = job.inputInfo?.durationSec;
  if (typeof total !== 'number' || !(total > 0)) return null;
  const remaining = Math.max(0, total - (job.options.offsetSec ?? 0));
  return job.options.durationSec ? Math.min(job.options.durationSec, remaining) : remaining;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
