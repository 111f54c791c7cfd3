/**
 * Who owns what in the storage scratch directory, and sweeping what nobody owns any more.
 *
 * The scratch directory sits on the storage volume, which in a cluster every API and worker process
 * shares. A process that dies (kill -9, OOM, node drained) leaves its scratch behind: a job's
 * staging directory with `.partial` outputs, a half-received upload. The rule for each kind:
 *
 * - `job-<jobId>.a<attempt>-<random>/`: the staging directory of one attempt of one job (engine
 *   outputs, `.partial` while they are written). The database is the owner record: the directory
 *   is live while the job row says `running` with that attempt number, and an orphan the moment it
 *   does not (finished, failed, canceled, re-queued, claimed again by another worker, or gone). A
 *   worker creates the directory only after its claim (compare-and-set on the row, attempts + 1) is
 *   committed, so no sweeper, in any process, can see a live directory that the row does not
 *   cover. No file age is involved: a long inference that writes nothing for minutes is safe.
 * - `<uuid>.upload`: a multipart upload being received. No job row exists yet, so ownership is the
 *   HTTP request, which Node's server ends after `requestTimeout` (300 s); a file not written to for
 *   UPLOAD_STALE_MS is an upload whose request is over.
 * - anything else (staging directories of older versions, `d-<random>`): 24 hours, as before.
 *
 * Sweeps run when any process starts (after the in-process queue's restart recovery has re-queued
 * what the previous run left `running`), on every retention pass, and when a worker claims a job
 * (the earlier attempts' directories of that job are dead by definition).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { STORAGE_SERVICE, type ScratchEntry, type StorageService } from '../../infra/storage/storage.service';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { SeparationStatus } from './separation-status';

/** An upload not written to for this long has outlived its request (Node ends requests after 300 s). */
export const UPLOAD_STALE_MS = 15 * 60_000;
/** Scratch this sweep cannot attribute to an owner (older versions' staging directories). */
export const UNKNOWN_STALE_MS = 24 * 3600_000;

const JOB_SCRATCH = /^job-([A-Za-z0-9_-]{1,64})\.a(\d{1,6})-/;
const UPLOAD_SCRATCH = /\.upload$/;

/** Name prefix of the staging directory of `attempt` of job `jobId`. */
export function jobScratchPrefix(jobId: string, attempt: number): string {
  return `job-${jobId}.a${attempt}-`;
}

export function parseJobScratchName(name: string): { jobId: string; attempt: number } | null {
  const m = JOB_SCRATCH.exec(name);
  return m ? { jobId: m[1], attempt: Number(m[2]) } : null;
}

export interface ScratchSweepResult {
  jobs: number;
  uploads: number;
  other: number;
}

@Injectable()
export class SeparationScratchService {
  private readonly logger = new Logger(SeparationScratchService.name);

  constructor(
    private readonly jobs: SeparationJobRepository,
    @Inject(STORAGE_SERVICE) private readonly storage: StorageService,
  ) {}

  /** Removes every scratch entry no live job or request owns (see the header for the rule). */
  async sweepOrphans(now = new Date()): Promise<ScratchSweepResult> {
    const result: ScratchSweepResult = { jobs: 0, uploads: 0, other: 0 };
    const live = new Map<string, number | null>();
    const runningAttempt = async (jobId: string): Promise<number | null> => {
      if (!live.has(jobId)) {
        const job = await this.jobs.findById(jobId);
        live.set(jobId, job?.status === SeparationStatus.Running ? job.attempts : null);
      }
      return live.get(jobId)!;
    };
    await this.storage.sweepScratch(async (entry: ScratchEntry) => {
      const owner = parseJobScratchName(entry.name);
      let orphan: boolean;
      let kind: keyof ScratchSweepResult;
      if (owner && entry.isDirectory) {
        orphan = (await runningAttempt(owner.jobId)) !== owner.attempt;
        kind = 'jobs';
      } else if (UPLOAD_SCRATCH.test(entry.name) && !entry.isDirectory) {
        orphan = now.getTime() - entry.modifiedAt.getTime() > UPLOAD_STALE_MS;
        kind = 'uploads';
      } else {
        orphan = now.getTime() - entry.modifiedAt.getTime() > UNKNOWN_STALE_MS;
        kind = 'other';
      }
      if (orphan) result[kind]++;
      return orphan;
    });
    const total = result.jobs + result.uploads + result.other;
    if (total > 0) {
      this.logger.log(
        `Swept ${total} orphaned scratch entr${total === 1 ? 'y' : 'ies'} ` +
          `(${result.jobs} job staging, ${result.uploads} upload, ${result.other} other)`,
      );
    }
    return result;
  }

  /**
   * A fresh staging directory for `attempt` of `jobId`, after removing the directories of its
   * earlier attempts (left by a worker that died running it; this worker's claim superseded them).
   */
  async createStaging(jobId: string, attempt: number): Promise<string> {
    const removed = await this.storage.sweepScratch((entry) => {
      const owner = parseJobScratchName(entry.name);
      return owner !== null && owner.jobId === jobId && owner.attempt < attempt;
    });
    if (removed > 0)
      this.logger.log(`Job ${jobId}: removed ${removed} staging director(ies) of interrupted attempts`);
    return this.storage.createScratchDir(jobScratchPrefix(jobId, attempt));
  }
}
