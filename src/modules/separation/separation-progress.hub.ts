import { Injectable } from '@nestjs/common';
import { filter, Observable, Subject } from 'rxjs';
import { isTerminal, SeparationStatus } from './separation-status';

export interface JobUpdate {
  jobId: string;
  status: SeparationStatus;
  progress: number;
  stage: string | null;
  /** The row's `attempts` when this was true: orders updates from different runs of the job. */
  attempt: number;
}

export type JobState = Omit<JobUpdate, 'jobId'>;

/**
 * Where a state stands in a job's life. Later attempts come after earlier ones; within an attempt
 * the job runs, then is re-queued (shutdown, crash) or finishes. A queued row with attempts 0 is
 * the job before its first run.
 */
function lifeOrder(s: Pick<JobState, 'status' | 'attempt'>): [number, number] {
  if (isTerminal(s.status)) return [Number.MAX_SAFE_INTEGER, 0];
  return [s.attempt, s.status === SeparationStatus.Running ? 0 : 1];
}

/**
 * Merges one more observation of a job into what a client has already been shown. Observations come
 * from two sources that race (live updates from this process, a lagging database poll), so a stale
 * one must not move the job back: an older life stage is ignored, and progress is a high-water mark.
 * Returns null when `next` adds nothing.
 */
export function mergeJobState(last: JobState, next: JobState): JobState | null {
  const [la, lp] = lifeOrder(last);
  const [na, np] = lifeOrder(next);
  if (na < la || (na === la && np < lp)) return null;
  const later = na > la || np > lp;
  const merged: JobState = {
    status: next.status,
    progress: Math.max(last.progress, next.progress),
    // A stale stage would contradict the progress shown next to it.
    stage: later || next.progress >= last.progress ? next.stage : last.stage,
    attempt: Math.max(last.attempt, next.attempt),
  };
  const same =
    merged.status === last.status && merged.progress === last.progress && merged.stage === last.stage;
  return same ? null : merged;
}

/**
 * Live job updates inside this process, for SSE streams and `?wait`. Domain events (EventEmitter2)
 * are for audit and metrics; this hub is the low-latency path to waiting HTTP clients. Jobs run by
 * another process are picked up by the readers' database polling instead.
 *
 * The hub keeps each unfinished job's high-water mark: what it emits never moves a job back, and
 * `current()` lets a `GET` in this process answer at least what its SSE clients were shown (the
 * database copy is written less often).
 */
@Injectable()
export class SeparationProgressHub {
  private readonly updates$ = new Subject<JobUpdate>();
  private readonly closing$ = new Subject<void>();
  private readonly latest = new Map<string, JobState>();
  private closed = false;

  publish(update: JobUpdate): void {
    const { jobId, ...state } = update;
    if (isTerminal(state.status)) {
      this.latest.delete(jobId);
      this.updates$.next(update);
      return;
    }
    const prev = this.latest.get(jobId);
    const next = prev ? mergeJobState(prev, state) : state;
    if (!next) return;
    this.latest.set(jobId, next);
    this.updates$.next({ jobId, ...next });
  }

  /** Drops the live copy once the job's run in this process is over (its row has the outcome). */
  forget(jobId: string): void {
    this.latest.delete(jobId);
  }

  /** The job's high-water mark while it is unfinished and has run in this process. */
  current(jobId: string): JobState | undefined {
    return this.latest.get(jobId);
  }

  updatesFor(jobId: string): Observable<JobUpdate> {
    return this.updates$.pipe(filter((u) => u.jobId === jobId));
  }

  /** Emits once when the process shuts down: open streams and waits end with the current state. */
  get closing(): Observable<void> {
    return this.closing$.asObservable();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing$.next();
    this.closing$.complete();
  }
}
