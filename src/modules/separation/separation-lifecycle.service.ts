import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Principal } from '../../common/auth/principal';
import type { CachedResult } from '../../common/cache/result-cache.port';
import { DomainEvents, type SeparationEventPayload } from '../../common/events/domain-events';
import type { SignalAnalysis } from '../../core/analysis/signal-analysis';
import { ErrorCodes } from '../../core/errors';
import type { SeparationResult, SeparationTimings } from '../../engine/types';
import { AppConfig } from '../../infra/config/app-config';
import { JOB_QUEUE, type JobQueue } from '../../infra/queue/job-queue';
import { STORAGE_SERVICE, type StorageService } from '../../infra/storage/storage.service';
import { StorageKeys } from '../../infra/storage/storage-keys';
import type { JobTimings, SeparationJobEntity, StoredStem } from './entities/separation-job.entity';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { SeparationCallbackService } from './separation-callback.service';
import { CONTENT_TYPES } from './separation-options';
import { SeparationProgressHub } from './separation-progress.hub';
import { isTerminal, SeparationStatus, UNFINISHED_STATUSES } from './separation-status';

/** A job interrupted this many times (process crashes mid-job) is failed instead of re-queued. */
export const MAX_JOB_ATTEMPTS = 3;

/** Who asked, for changes a request makes: its events name the caller and that request. */
export interface RequestContext {
  principal: Principal;
  requestId?: string;
}

const { Queued, Running, Succeeded, Failed, Canceled } = SeparationStatus;
const caller = (ctx: RequestContext) => ({ principal: ctx.principal, requestId: ctx.requestId });

/**
 * A job's life, for the API (admission, cancel) and the worker (claim, progress, outcome) alike:
 * every status change as a compare-and-set on the row (a side that lost a race changes nothing),
 * the stem records, timings and expiry written with it, and one fan-out of each change to the
 * progress hub (SSE, `?wait`), the domain events (audit, metrics, quotas) and the callback.
 */
@Injectable()
export class SeparationLifecycle {
  private readonly logger = new Logger(SeparationLifecycle.name);

  constructor(
    private readonly jobs: SeparationJobRepository,
    @Inject(STORAGE_SERVICE) private readonly storage: StorageService,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    private readonly hub: SeparationProgressHub,
    private readonly callbacks: SeparationCallbackService,
    private readonly events: EventEmitter2,
    private readonly config: AppConfig,
  ) {}

  /** Stem files (name → path) committed under results/<id>/: moved from scratch, copied from the cache. */
  async storeStems(
    job: SeparationJobEntity,
    files: Record<string, string>,
    analyses: Record<string, SignalAnalysis> | undefined,
    move: boolean,
  ): Promise<StoredStem[]> {
    const codec = job.options.codec;
    const stems: StoredStem[] = [];
    for (const [name, path] of Object.entries(files)) {
      const key = StorageKeys.result(job.id, `${name}.${codec}`);
      const info = await (move ? this.storage.putFile(key, path, { move }) : this.storage.putFile(key, path));
      const analysis = analyses?.[name];
      const stem = { name, key, codec, contentType: CONTENT_TYPES[codec], size: info.size, etag: info.etag };
      stems.push(analysis ? { ...stem, analysis } : stem);
    }
    return stems;
  }

  /** Serves a new job from the result cache: its stems copied, succeeded at once (not yet stored). */
  async completeFromCache(job: SeparationJobEntity, hit: CachedResult): Promise<void> {
    const analysis = job.options.analysis ? hit.analysis : undefined;
    const wanted = job.options.stems ?? job.modelStems;
    const files = Object.fromEntries(
      wanted.map((name) => [name, hit.stems.find((s) => s.name === name)!.path]),
    );
    const stems = await this.storeStems(job, files, analysis?.stems, false);
    const now = new Date();
    Object.assign(job, {
      status: Succeeded,
      progress: 100,
      cached: true,
      stems,
      executionProvider: hit.executionProvider ?? null,
      executionDevice: hit.executionDevice ?? null,
      inputInfo: hit.input ?? job.inputInfo,
      analysis: analysis?.input ?? null,
      startedAt: now,
      finishedAt: now,
      expiresAt: this.expiry(now),
      timings: { queuedMs: 0, decodeMs: 0, inferenceMs: 0, dspMs: 0, encodeMs: 0, totalMs: 0 },
    });
  }

  /** Once an admitted job is stored: 'queued', and for one served from the cache its outcome. */
  admitted(job: SeparationJobEntity, ctx: RequestContext): void {
    this.fanOut(job, null, null, DomainEvents.SeparationQueued, caller(ctx));
    if (job.status === Succeeded)
      this.fanOut(job, Succeeded, null, DomainEvents.SeparationSucceeded, caller(ctx));
  }

  /** Undoes accepted jobs the queue refused: out of the queue, rows and files deleted. */
  async discard(jobs: SeparationJobEntity[]): Promise<void> {
    for (const job of jobs) {
      await this.queue.cancel(job.id).catch(() => undefined);
      await this.jobs.delete(job.id).catch(() => undefined);
      await this.removeFiles(job.id);
    }
  }

  /** queued|running → running for one more attempt; false when another worker or a cancel won. */
  async claim(job: SeparationJobEntity): Promise<boolean> {
    // Progress is not reset: a re-run job keeps its high-water mark until this run passes it.
    const patch = { status: Running, startedAt: new Date(), stage: 'starting', attempts: job.attempts + 1 };
    if (!(await this.jobs.transition(job.id, UNFINISHED_STATUSES, patch))) return false;
    Object.assign(job, patch);
    this.fanOut(job, Running, 'starting', DomainEvents.SeparationStarted);
    return true;
  }

  /** Live progress of a running job (its throttled database copy is the worker's to write). */
  progress(job: SeparationJobEntity, stage: string): void {
    this.fanOut(job, Running, stage, DomainEvents.SeparationProgress, { progress: job.progress });
  }

  /** running → succeeded; false when a cancel won meanwhile (the stems must not outlive the job). */
  async succeed(
    job: SeparationJobEntity,
    result: SeparationResult,
    stems: StoredStem[],
    finishedAt: Date,
  ): Promise<boolean> {
    const t = { ...timings(job, finishedAt, result.timings), ...result.stats };
    const patch = {
      status: Succeeded,
      progress: 100,
      stage: null,
      stems,
      executionProvider: result.executionProvider,
      executionDevice: result.executionDevice ?? null,
      inputInfo: result.input ?? job.inputInfo,
      analysis: result.analysis?.input ?? null,
      modelVersion: result.model.version ?? job.modelVersion,
      timings: t,
      finishedAt,
      expiresAt: this.expiry(finishedAt),
    };
    if (!(await this.jobs.transition(job.id, [Running], patch))) {
      await this.storage.deletePrefix(StorageKeys.resultDir(job.id));
      return false;
    }
    Object.assign(job, patch);
    await this.storage.delete(job.inputKey).catch((e: Error) => this.logger.warn(e.message));
    this.fanOut(job, Succeeded, null, DomainEvents.SeparationSucceeded, {
      executionProvider: result.executionProvider,
      durationMs: t.totalMs,
      modelCalls: result.stats?.modelCalls,
      sharedModelCalls: result.stats?.sharedModelCalls,
    });
    return true;
  }

  /** running → failed with a client-safe code and message; false when the job was no longer running. */
  async fail(job: SeparationJobEntity, code: string, message: string): Promise<boolean> {
    const finishedAt = new Date();
    const patch = {
      status: Failed,
      // What live clients were shown last, which the throttled database copy may not have reached.
      progress: job.progress,
      stage: null,
      errorCode: code,
      errorMessage: message,
      finishedAt,
      expiresAt: this.expiry(finishedAt),
      timings: timings(job, finishedAt, null),
    };
    const failed = await this.jobs.transition(job.id, [Running], patch);
    await this.storage.deletePrefix(StorageKeys.resultDir(job.id)).catch(() => undefined);
    if (!failed) return false;
    Object.assign(job, patch);
    await this.storage.delete(job.inputKey).catch(() => undefined);
    this.fanOut(job, Failed, null, DomainEvents.SeparationFailed, {
      errorCode: code,
      durationMs: patch.timings.totalMs,
    });
    return true;
  }

  /** running → queued (shutdown, or a crash found at start-up): not the job's fault, it runs again. */
  async requeue(job: SeparationJobEntity): Promise<void> {
    const patch = { status: Queued, progress: job.progress, stage: null, startedAt: null };
    if (await this.jobs.transition(job.id, [Running], patch)) this.fanOut(job, Queued, null);
  }

  /** running → failed at start-up for a job that crashed the process MAX_JOB_ATTEMPTS times. */
  async giveUp(job: SeparationJobEntity): Promise<void> {
    const now = new Date();
    await this.jobs.transition(job.id, [Running], {
      status: Failed,
      stage: null,
      errorCode: ErrorCodes.INTERNAL,
      errorMessage: `The job was interrupted ${job.attempts} times and is not retried again`,
      finishedAt: now,
      expiresAt: now,
    });
  }

  /** queued|running → canceled by the client, out of the queue, files deleted; false if it finished first. */
  async cancel(job: SeparationJobEntity, ctx: RequestContext): Promise<boolean> {
    const now = new Date();
    const canceled = await this.jobs.transition(job.id, UNFINISHED_STATUSES, {
      status: Canceled,
      stage: null,
      finishedAt: now,
      expiresAt: now,
      filesDeletedAt: now,
      errorCode: ErrorCodes.JOB_CANCELED,
      errorMessage: 'Canceled by the client',
      callbackStatus: job.callbackUrl ? 'pending' : null,
    });
    if (!canceled) return false;
    await this.queue.cancel(job.id);
    await this.removeFiles(job.id);
    this.fanOut(job, Canceled, null, DomainEvents.SeparationCanceled, caller(ctx));
    return true;
  }

  /** The worker's side of a cancel that bypassed cancel() (which wrote 'canceled' already). */
  async canceledRun(job: SeparationJobEntity): Promise<void> {
    await this.jobs.transition(job.id, [Running], {
      status: Canceled,
      stage: null,
      finishedAt: new Date(),
      errorCode: ErrorCodes.JOB_CANCELED,
      errorMessage: 'Canceled',
    });
    await this.storage.deletePrefix(StorageKeys.resultDir(job.id)).catch(() => undefined);
  }

  /** A finished job's files deleted at the client's request; the row stays. */
  async deleteFiles(job: SeparationJobEntity, ctx: RequestContext): Promise<void> {
    await this.removeFiles(job.id);
    await this.jobs.update(job.id, { filesDeletedAt: new Date() });
    this.fanOut(job, null, null, DomainEvents.SeparationDeleted, caller(ctx));
  }

  /** Retention: an expired job's files deleted (a failure leaves it for the next round); the row stays. */
  async expire(job: SeparationJobEntity): Promise<void> {
    await this.storage.deletePrefix(StorageKeys.resultDir(job.id));
    await this.storage.delete(job.inputKey);
    await this.jobs.update(job.id, { filesDeletedAt: new Date() });
  }

  private expiry(from: Date): Date {
    return new Date(from.getTime() + this.config.storage.retention_hours * 3600_000);
  }

  private async removeFiles(jobId: string): Promise<void> {
    const warn = (e: Error) => this.logger.warn(e.message);
    await this.storage.delete(StorageKeys.upload(jobId)).catch(warn);
    await this.storage.deletePrefix(StorageKeys.resultDir(jobId)).catch(warn);
  }

  /**
   * The one fan-out of a change: the live update for SSE and `?wait` (`status` null: none, nothing a
   * live client waits on changed), the domain event, and the callback once the job is finished.
   */
  private fanOut(
    job: SeparationJobEntity,
    status: SeparationStatus | null,
    stage: string | null,
    event?: string,
    extra: Partial<SeparationEventPayload> = {},
  ): void {
    if (status) {
      const progress = status === Succeeded ? 100 : job.progress;
      this.hub.publish({ jobId: job.id, status, progress, stage, attempt: job.attempts });
    }
    if (event) {
      this.events.emit(event, {
        jobId: job.id,
        ownerId: job.ownerId,
        model: job.modelName,
        modelVersion: job.modelVersion ?? undefined,
        audioSeconds: job.inputInfo?.durationSec,
        cached: job.cached,
        requestId: job.requestId ?? undefined,
        ...extra,
      } satisfies SeparationEventPayload);
    }
    if (status && isTerminal(status)) this.callbacks.schedule(job.id);
  }
}

/** Engine timings null: the run failed before reporting them. */
function timings(job: SeparationJobEntity, finishedAt: Date, t: SeparationTimings | null) {
  const startedAt = job.startedAt!.getTime();
  return {
    queuedMs: startedAt - new Date(job.createdAt).getTime(),
    decodeMs: t?.decodeMs ?? null,
    inferenceMs: t?.inferenceMs ?? null,
    dspMs: t?.dspMs ?? null,
    encodeMs: t?.encodeMs ?? null,
    totalMs: finishedAt.getTime() - startedAt,
  } satisfies JobTimings;
}
