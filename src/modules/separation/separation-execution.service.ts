import { randomUUID } from 'crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ErrorCodes, SpleeterError } from '../../core/errors';
import { scrubPaths } from '../../core/scrub-paths';
import { abortReasonOf, type JobContext } from '../../infra/queue/job-queue';
import { STORAGE_SERVICE, type StorageService } from '../../infra/storage/storage.service';
import type { SeparationResult } from '../../engine/types';
import { EngineService } from '../engine/engine.service';
import type { SeparationJobEntity, StoredStem } from './entities/separation-job.entity';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { RESULT_CACHE, type ResultCachePort } from '../../common/cache/result-cache.port';
import { SeparationLifecycle } from './separation-lifecycle.service';
import { toEngineOptions } from './separation-options';
import { SeparationProgressHub } from './separation-progress.hub';
import { SeparationScratchService } from './separation-scratch.service';
import { isTerminal } from './separation-status';

const DB_PROGRESS_INTERVAL_MS = 1000;
const LIVE_PROGRESS_INTERVAL_MS = 200;

/**
 * Runs one queued job: claims it, calls the engine into a scratch directory, commits the outputs,
 * hands the result to the cache and records the outcome (SeparationLifecycle: the status change and
 * its fan-out). On shutdown the job goes back to 'queued'; on cancel the row (already 'canceled') is
 * left alone.
 */
@Injectable()
export class SeparationExecutionService {
  private readonly logger = new Logger(SeparationExecutionService.name);

  constructor(
    private readonly jobs: SeparationJobRepository,
    @Inject(STORAGE_SERVICE) private readonly storage: StorageService,
    @Inject(RESULT_CACHE) private readonly cache: ResultCachePort,
    private readonly engine: EngineService,
    private readonly lifecycle: SeparationLifecycle,
    // Only to drop a job's live copy once its run in this process is over.
    private readonly hub: SeparationProgressHub,
    private readonly scratch: SeparationScratchService,
  ) {}

  async run(jobId: string, ctx: JobContext): Promise<void> {
    const job = await this.jobs.findById(jobId);
    if (!job || isTerminal(job.status) || ctx.signal.aborted) return;
    if (!(await this.lifecycle.claim(job))) return;
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
    const stems = await this.lifecycle.storeStems(job, result.outputs, result.analysis?.stems, true);
    const finishedAt = new Date();
    // Cached before the job reports success: a client that sees 'succeeded' and sends the same
    // request again gets the cached result, and the cache metrics already count this one.
    await this.storeInCache(job, stems, result);
    if (!(await this.lifecycle.succeed(job, result, stems, finishedAt))) return;
    this.logger.log({
      msg: 'Separation job succeeded',
      event: 'separation.succeeded',
      ...this.logFields(job, result.executionProvider, result.input?.durationSec ?? selectedSeconds(job)),
      realtimeFactor: round2(result.realtimeFactor),
      totalMs: job.timings!.totalMs,
    });
  }

  private async handleFailure(job: SeparationJobEntity, err: unknown, ctx: JobContext): Promise<void> {
    const reason = abortReasonOf(ctx.signal);
    if (reason === 'shutdown') return this.lifecycle.requeue(job);
    if (reason === 'canceled' || (err instanceof SpleeterError && err.code === ErrorCodes.JOB_CANCELED)) {
      return this.lifecycle.canceledRun(job);
    }
    const { code, message } = this.describe(err, job.id);
    if (!(await this.lifecycle.fail(job, code, message))) return;
    this.logger.warn({
      msg: 'Separation job failed',
      event: 'separation.failed',
      ...this.logFields(job, this.engine.executionProvider, selectedSeconds(job)),
      realtimeFactor: null,
      errorCode: code,
      totalMs: job.timings!.totalMs,
    });
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
        this.lifecycle.progress(job, stage);
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
