/**
 * Following one separation job live: its server-sent events (through fetch), a light poll while it
 * waits in the queue (the events carry no queue position), reconnection when the stream drops, and
 * an ETA from the progress rate.
 */
import type { Api } from './api/client';
import { ApiError } from './api/problem';
import type { Job, JobProgress } from './api/types';

export const isTerminal = (status: Job['status']): boolean =>
  status === 'succeeded' || status === 'failed' || status === 'canceled';

export const jobPath = (id: string): string => `/v1/separations/${encodeURIComponent(id)}`;

/** Seconds left, from the progress made since running was first seen (null until measurable). */
export class EtaEstimator {
  private origin: { t: number; p: number } | null = null;

  update(status: Job['status'], progress: number, now = performance.now()): number | null {
    if (status !== 'running') return null;
    if (!this.origin) {
      this.origin = { t: now, p: progress };
      return null;
    }
    const dt = (now - this.origin.t) / 1000;
    const dp = progress - this.origin.p;
    if (dt < 0.5 || dp <= 0) return null;
    return ((100 - progress) * dt) / dp;
  }
}

const MAX_RECONNECTS = 30;
const QUEUE_POLL_MS = 2500;

/**
 * Calls `onUpdate` with the job and ETA on every change until the job is finished (resolves with
 * the final job) or `signal` aborts (rejects with AbortError).
 */
export async function followJob(
  api: Api,
  initial: Job,
  onUpdate: (job: Job, etaSec: number | null) => void,
  signal: AbortSignal,
): Promise<Job> {
  let job = initial;
  const eta = new EtaEstimator();
  const publish = () => onUpdate(job, eta.update(job.status, job.progress));
  publish();
  if (isTerminal(job.status)) return job;

  let polling: ReturnType<typeof setInterval> | null = setInterval(() => {
    if (job.status !== 'queued') return;
    api
      .get<Job>(jobPath(job.id), signal)
      .then((fresh) => {
        if (!isTerminal(job.status) && fresh.status === 'queued') {
          job = { ...job, queuePosition: fresh.queuePosition };
          publish();
        }
      })
      .catch(() => undefined);
  }, QUEUE_POLL_MS);
  const stopPolling = () => {
    if (polling) clearInterval(polling);
    polling = null;
  };

  try {
    for (let attempt = 0; attempt <= MAX_RECONNECTS; attempt++) {
      let done = false;
      try {
        await api.events(
          `${jobPath(job.id)}/events`,
          (e) => {
            if (e.type === 'ping') return;
            const data = JSON.parse(e.data) as Job | JobProgress;
            if (e.type === 'progress') {
              const p = data as JobProgress;
              job = { ...job, status: p.status, progress: p.progress, stage: p.stage };
              if (p.status !== 'queued') job.queuePosition = null;
            } else {
              job = data as Job;
            }
            publish();
            if (isTerminal(job.status)) {
              done = true;
              return true;
            }
          },
          signal,
        );
      } catch (err) {
        // A refusal (404 after deletion, 401 after revocation) will not get better by retrying.
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      }
      if (signal.aborted) throw new DOMException('Stopped following the job', 'AbortError');
      if (done) return job;
      // The stream ended early (server restart, proxy timeout): catch up, then reconnect.
      try {
        job = await api.get<Job>(jobPath(job.id), signal);
        publish();
        if (isTerminal(job.status)) return job;
      } catch (err) {
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      }
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * (attempt + 1))));
    }
    throw new ApiError({
      status: 0,
      code: 'NETWORK_ERROR',
      detail: 'Lost the connection to the job’s progress stream too many times.',
    });
  } finally {
    stopPolling();
  }
}
