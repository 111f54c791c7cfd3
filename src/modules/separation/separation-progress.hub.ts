import { Injectable } from '@nestjs/common';
import { filter, Observable, Subject } from 'rxjs';
import type { SeparationStatus } from './separation-status';

export interface JobUpdate {
  jobId: string;
  status: SeparationStatus;
  progress: number;
  stage: string | null;
}

/**
 * Live job updates inside this process, for SSE streams and `?wait`. Domain events (EventEmitter2)
 * are for audit and metrics; this hub is the low-latency path to waiting HTTP clients. Jobs run by
 * another process are picked up by the readers' database polling instead.
 */
@Injectable()
export class SeparationProgressHub {
  private readonly updates$ = new Subject<JobUpdate>();
  private readonly closing$ = new Subject<void>();
  private closed = false;

  publish(update: JobUpdate): void {
    this.updates$.next(update);
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
