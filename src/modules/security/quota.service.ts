import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { OnEvent } from '@nestjs/event-emitter';
import type { Principal } from '../../common/auth/principal';
import { DomainEvents, type SeparationEventPayload } from '../../common/events/domain-events';
import { ErrorCodes, SecurityError } from '../../core/errors';
import { AppConfig } from '../../infra/config/app-config';
import { QuotaRepository, type QuotaLimits, type QuotaUsage } from './repositories/quota.repository';

/** An active-job row older than this belongs to a crashed worker and no longer holds a slot. */
const STALE_ACTIVE_JOB_MS = 12 * 3600_000;
/** Hint for retrying a concurrency refusal (jobs finish on their own; there is no exact time). */
const CONCURRENCY_RETRY_AFTER_S = 30;
const PURGE_INTERVAL_MS = 6 * 3600_000;

export interface QuotaStatus extends QuotaUsage {
  exempt: boolean;
  maxConcurrentJobs: number;
  audioMinutesPerDay: number;
}

/**
 * Per-principal quotas: concurrent jobs and minutes of input audio per UTC day
 * (`security.quotas.*`). Admins and the anonymous principal (auth disabled) are exempt.
 *
 * For the separation module:
 * - `reserve(principal, jobId, audioSeconds)` before enqueueing: an atomic check-and-take that throws
 *   QUOTA_EXCEEDED (429 + Retry-After). Prefer it to `assertCanStart`, which only checks and so
 *   lets two simultaneous requests both pass.
 * - Slots are released automatically on separation.succeeded / failed / canceled / deleted events
 *   (by jobId), or explicitly with `release(jobId)`; releasing twice is harmless.
 * - Audio minutes are not refunded when a job fails or is canceled.
 */
@Injectable()
export class QuotaService {
  private readonly logger = new Logger('Quota');

  constructor(
    private readonly config: AppConfig,
    private readonly repo: QuotaRepository,
  ) {}

  /** Housekeeping (@nestjs/schedule, every PURGE_INTERVAL_MS): see purge(). */
  @Interval('quota-purge', PURGE_INTERVAL_MS)
  housekeeping(): void {
    this.purge().catch((err: Error) => this.logger.warn(`Quota housekeeping failed: ${err.message}`));
  }

  /** Throws QUOTA_EXCEEDED if starting a job of `audioSeconds` would break a quota right now. */
  async assertCanStart(principal: Principal, audioSeconds: number): Promise<void> {
    const limits = this.limitsFor(principal);
    if (!limits) return;
    const now = new Date();
    const usage = await this.repo.usage(principal.id, utcDay(now), staleBefore(now));
    if (usage.activeJobs >= limits.maxConcurrentJobs) throw this.exceeded('concurrency', usage, limits, now);
    if (usage.audioSecondsToday + audioSeconds > limits.maxAudioSecondsPerDay) {
      throw this.exceeded('daily', usage, limits, now);
    }
  }

  /** Atomically checks the quotas and takes a concurrent-job slot plus `audioSeconds` of today's budget. */
  async reserve(principal: Principal, jobId: string, audioSeconds: number): Promise<void> {
    const limits = this.limitsFor(principal);
    if (!limits) return;
    const now = new Date();
    const result = await this.repo.reserve(
      {
        principalId: principal.id,
        jobId,
        audioSeconds: Math.max(0, audioSeconds),
        day: utcDay(now),
        now: now.toISOString(),
        staleBefore: staleBefore(now),
      },
      limits,
    );
    if (!result.ok) throw this.exceeded(result.reason, result.usage, limits, now);
  }

  release(jobId: string): Promise<boolean> {
    return this.repo.release(jobId);
  }

  async status(principal: Principal): Promise<QuotaStatus> {
    const now = new Date();
    const usage = await this.repo.usage(principal.id, utcDay(now), staleBefore(now));
    const q = this.config.security.quotas;
    return {
      ...usage,
      exempt: this.limitsFor(principal) === null,
      maxConcurrentJobs: q.max_concurrent_jobs,
      audioMinutesPerDay: q.audio_minutes_per_day,
    };
  }

  @OnEvent(DomainEvents.SeparationSucceeded)
  @OnEvent(DomainEvents.SeparationFailed)
  @OnEvent(DomainEvents.SeparationCanceled)
  @OnEvent(DomainEvents.SeparationDeleted)
  async onJobFinished(payload: SeparationEventPayload): Promise<void> {
    if (!payload?.jobId) return;
    try {
      await this.repo.release(payload.jobId);
    } catch (err) {
      // The row goes stale after STALE_ACTIVE_JOB_MS anyway; never break the emitter.
      this.logger.warn(`Cannot release quota slot of job ${payload.jobId}: ${(err as Error).message}`);
    }
  }

  /** Drops daily totals older than a week and slots of crashed jobs. */
  async purge(now = new Date()): Promise<void> {
    await this.repo.purge(utcDay(new Date(now.getTime() - 7 * 86400_000)), staleBefore(now));
  }

  private limitsFor(principal: Principal): QuotaLimits | null {
    if (principal.role === 'admin' || principal.method === 'anonymous') return null;
    const q = this.config.security.quotas;
    return { maxConcurrentJobs: q.max_concurrent_jobs, maxAudioSecondsPerDay: q.audio_minutes_per_day * 60 };
  }

  private exceeded(
    reason: 'concurrency' | 'daily',
    usage: QuotaUsage,
    limits: QuotaLimits,
    now: Date,
  ): SecurityError {
    if (reason === 'concurrency') {
      return new SecurityError(
        ErrorCodes.QUOTA_EXCEEDED,
        `At most ${limits.maxConcurrentJobs} concurrent jobs per caller; ${usage.activeJobs} are running`,
        { limit: limits.maxConcurrentJobs, retryAfterSeconds: CONCURRENCY_RETRY_AFTER_S },
      );
    }
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    return new SecurityError(
      ErrorCodes.QUOTA_EXCEEDED,
      `Daily audio quota of ${limits.maxAudioSecondsPerDay / 60} minutes reached (${Math.round(usage.audioSecondsToday / 60)} used today, UTC)`,
      {
        limit: limits.maxAudioSecondsPerDay / 60,
        retryAfterSeconds: Math.ceil((midnight - now.getTime()) / 1000),
      },
    );
  }
}

function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function staleBefore(now: Date): string {
  return new Date(now.getTime() - STALE_ACTIVE_JOB_MS).toISOString();
}
