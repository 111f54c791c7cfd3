import { Injectable, type MessageEvent } from '@nestjs/common';
import { firstValueFrom, from, interval, merge, Observable, race, Subscription, timer } from 'rxjs';
import { concatMap, filter, map, take } from 'rxjs/operators';
import type { Principal } from '../../common/auth/principal';
import type { SeparationResponseDto } from './dto/separation-response.dto';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { mergeJobState, SeparationProgressHub, type JobState } from './separation-progress.hub';
import { SeparationReader } from './separation-reader.service';
import { isTerminal } from './separation-status';

export interface StreamTimings {
  /** Database poll interval: catches jobs run by another process. */
  pollMs: number;
  /** Keep-alive event interval, so proxies do not cut an idle stream. */
  heartbeatMs: number;
}

const DEFAULT_TIMINGS: StreamTimings = { pollMs: 1000, heartbeatMs: 15_000 };

/**
 * Live views of a job: server-sent events and `?wait`. Updates from this process arrive through the
 * progress hub at once; a slower database poll covers jobs run by other processes.
 */
@Injectable()
export class SeparationStreamService {
  timings: StreamTimings = DEFAULT_TIMINGS;

  constructor(
    private readonly jobs: SeparationJobRepository,
    private readonly reader: SeparationReader,
    private readonly hub: SeparationProgressHub,
  ) {}

  /**
   * Event stream for one job: `status` (the job now), then `progress` events ({id, status, progress,
   * stage}), then one final event named after the terminal status with the full job, then the end.
   * `ping` events keep the connection alive. Ownership is checked before the stream starts.
   */
  async events(principal: Principal, id: string): Promise<Observable<MessageEvent>> {
    const job = await this.reader.findOwned(principal, id);
    const first = await this.reader.toResponse(job);
    return new Observable<MessageEvent>((subscriber) => {
      const subs = new Subscription();
      let finished = false;
      // What the client has been shown: updates only ever move it forward (mergeJobState).
      let last: JobState = {
        status: first.status,
        progress: first.progress,
        stage: first.stage,
        attempt: job.attempts,
      };
      subscriber.next({ type: 'status', data: first });

      const finish = async (type?: string) => {
        if (finished) return;
        finished = true;
        const final = await this.reader.responseFor(job.id).catch(() => null);
        if (final)
          subscriber.next({
            type: type ?? (isTerminal(final.status) ? final.status : 'status'),
            data: { ...final, progress: Math.max(final.progress, last.progress) },
          });
        subscriber.complete();
      };
      const onUpdate = (u: JobState | null) => {
        if (finished) return;
        if (!u) return void finish();
        if (isTerminal(u.status)) return void finish();
        const merged = mergeJobState(last, u);
        if (!merged) return;
        last = merged;
        subscriber.next({
          type: 'progress',
          data: { id: job.id, status: last.status, progress: last.progress, stage: last.stage },
        });
      };

      if (isTerminal(first.status)) {
        void finish();
        return () => subs.unsubscribe();
      }
      subs.add(this.hub.updatesFor(job.id).subscribe(onUpdate));
      subs.add(
        interval(this.timings.pollMs)
          .pipe(concatMap(() => from(this.jobs.findById(job.id).catch(() => undefined))))
          .subscribe((row) => {
            if (row === undefined) return; // transient database error: try again next tick
            onUpdate(
              row
                ? { status: row.status, progress: row.progress, stage: row.stage, attempt: row.attempts }
                : null,
            );
          }),
      );
      subs.add(
        interval(this.timings.heartbeatMs).subscribe(() => subscriber.next({ type: 'ping', data: {} })),
      );
      subs.add(this.hub.closing.subscribe(() => void finish()));
      return () => subs.unsubscribe();
    });
  }

  /** The job once it is finished, or as it stands after `seconds` (or at shutdown). */
  async waitFor(principal: Principal, id: string, seconds: number): Promise<SeparationResponseDto> {
    const job = await this.reader.findOwned(principal, id);
    if (!isTerminal(job.status) && seconds > 0 && !this.hub.isClosed) {
      const done$ = merge(
        this.hub.updatesFor(job.id).pipe(filter((u) => isTerminal(u.status))),
        interval(this.timings.pollMs).pipe(
          concatMap(() => from(this.jobs.findById(job.id).catch(() => undefined))),
          filter((row) => row === null || (row !== undefined && isTerminal(row.status))),
        ),
      );
      await firstValueFrom(
        race(done$, timer(seconds * 1000), this.hub.closing).pipe(
          take(1),
          map(() => true),
        ),
        {
          defaultValue: false,
        },
      );
    }
    return this.reader.toResponse(await this.reader.findOwned(principal, id));
  }
}
