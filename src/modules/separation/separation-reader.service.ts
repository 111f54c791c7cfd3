import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '../../common/auth/principal';
import { ErrorCodes, SeparationError } from '../../core/errors';
import { AppConfig } from '../../infra/config/app-config';
import { JOB_QUEUE, type JobQueue } from '../../infra/queue/job-queue';
import type { SeparationResponseDto } from './dto/separation-response.dto';
import type { SeparationJobEntity } from './entities/separation-job.entity';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { toSeparationResponse } from './separation.mapper';
import { mergeJobState, SeparationProgressHub } from './separation-progress.hub';
import { isTerminal, SeparationStatus } from './separation-status';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Owner-checked reads and entity → response mapping, shared by the separation services. */
@Injectable()
export class SeparationReader {
  constructor(
    private readonly jobs: SeparationJobRepository,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    private readonly config: AppConfig,
    private readonly hub: SeparationProgressHub,
  ) {}

  get baseUrl(): string {
    return (this.config.server.public_url ?? '').replace(/\/+$/, '');
  }

  /** The job, if it exists and the caller may see it; otherwise JOB_NOT_FOUND (never 403: no probing ids). */
  async findOwned(principal: Principal, id: string): Promise<SeparationJobEntity> {
    const job = UUID.test(id) ? await this.jobs.findById(id.toLowerCase()) : null;
    if (!job || !canSee(principal, job.ownerId)) {
      throw new SeparationError(ErrorCodes.JOB_NOT_FOUND, `No separation job ${id.slice(0, 64)}`);
    }
    return job;
  }

  async toResponse(row: SeparationJobEntity): Promise<SeparationResponseDto> {
    const job = this.withLiveProgress(row);
    const queuePosition = job.status === SeparationStatus.Queued ? await this.queue.position(job.id) : null;
    return toSeparationResponse(job, { baseUrl: this.baseUrl, queuePosition });
  }

  /**
   * A job running in this process is ahead of its throttled database copy; answering the copy would
   * show a client less progress than the event stream just did.
   */
  private withLiveProgress(job: SeparationJobEntity): SeparationJobEntity {
    const live = isTerminal(job.status) ? undefined : this.hub.current(job.id);
    if (!live) return job;
    const merged = mergeJobState(
      { status: job.status, progress: job.progress, stage: job.stage, attempt: job.attempts },
      live,
    );
    if (!merged) return job;
    return Object.assign(Object.create(Object.getPrototypeOf(job) as object) as SeparationJobEntity, job, {
      status: merged.status,
      progress: merged.progress,
      stage: merged.stage,
    });
  }

  toResponses(jobs: SeparationJobEntity[]): Promise<SeparationResponseDto[]> {
    return Promise.all(jobs.map((j) => this.toResponse(j)));
  }

  /** Fresh response for a job id (null if the row vanished). */
  async responseFor(id: string): Promise<SeparationResponseDto | null> {
    const job = await this.jobs.findById(id);
    return job ? this.toResponse(job) : null;
  }
}

export function canSee(principal: Principal, ownerId: string): boolean {
  return principal.role === 'admin' || principal.id === ownerId;
}

export function isUuid(id: string): boolean {
  return UUID.test(id);
}
