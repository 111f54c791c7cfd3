/**
 * Files dropped on the Separate page, from upload to finished job. Kept outside the page so a
 * visit to History does not lose running uploads. Uploads go one at a time (each with its own
 * progress); separations then run on the server side by side. A 429/503 answer (quota, rate limit,
 * full queue) is retried after the server's Retry-After, a bounded number of times.
 */
import type { Api } from './api/client';
import { ApiError } from './api/problem';
import type { Job } from './api/types';
import { followJob, isTerminal, jobPath } from './jobs';
import { createStore } from './store';

export type TaskPhase = 'waiting' | 'uploading' | 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';

export interface Task {
  key: string;
  fileName: string;
  fileSize: number;
  phase: TaskPhase;
  uploaded: number;
  job: Job | null;
  etaSec: number | null;
  error: unknown;
  note: string | null;
}

export type SeparationFields = Record<string, string>;

interface Pending {
  file: File;
  fields: SeparationFields;
  api: Api;
  abort: AbortController;
}

export const tasks = createStore<Task[]>([]);
const pending = new Map<string, Pending>();
let pumping = false;
let counter = 0;

const RETRYABLE = new Set(['QUOTA_EXCEEDED', 'RATE_LIMITED', 'QUEUE_FULL', 'SERVICE_UNAVAILABLE']);
const MAX_RETRIES = 20;

function update(key: string, patch: Partial<Task>): void {
  tasks.set((all) => all.map((t) => (t.key === key ? { ...t, ...patch } : t)));
}

export function enqueue(api: Api, files: File[], fields: SeparationFields): void {
  const added: Task[] = files.map((file) => {
    const key = `t${++counter}`;
    pending.set(key, { file, fields, api, abort: new AbortController() });
    return {
      key,
      fileName: file.name,
      fileSize: file.size,
      phase: 'waiting',
      uploaded: 0,
      job: null,
      etaSec: null,
      error: null,
      note: null,
    };
  });
  tasks.set((all) => [...added, ...all]);
  void pump();
}

async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  try {
    while (true) {
      const next = [...tasks.get()].reverse().find((t) => t.phase === 'waiting');
      if (!next) return;
      await upload(next.key);
    }
  } finally {
    pumping = false;
  }
}

async function upload(key: string): Promise<void> {
  const p = pending.get(key);
  if (!p) return;
  for (let attempt = 0; ; attempt++) {
    const form = new FormData();
    for (const [k, v] of Object.entries(p.fields)) form.append(k, v);
    form.append('file', p.file, p.file.name);
    update(key, { phase: 'uploading', uploaded: 0, note: null, error: null });
    try {
      const job = await p.api.upload<Job>(
        '/v1/separations',
        form,
        ({ loaded }) => update(key, { uploaded: loaded }),
        p.abort.signal,
      );
      update(key, { phase: phaseOf(job), job, uploaded: p.file.size });
      void follow(key, job);
      return;
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') {
        update(key, { phase: 'canceled', note: 'Upload canceled' });
        pending.delete(key);
        return;
      }
      if (err instanceof ApiError && RETRYABLE.has(err.code) && attempt < MAX_RETRIES) {
        const wait = Math.min(60, Math.max(2, err.problem.retryAfterSeconds ?? 5));
        update(key, { phase: 'waiting', note: `${err.code}: trying again in ${wait} s`, error: null });
        const again = await sleep(wait * 1000, p.abort.signal);
        if (!again) {
          update(key, { phase: 'canceled', note: 'Canceled while waiting' });
          pending.delete(key);
          return;
        }
        continue;
      }
      update(key, { phase: 'failed', error: err, note: null });
      pending.delete(key);
      return;
    }
  }
}

async function follow(key: string, job: Job): Promise<void> {
  const p = pending.get(key);
  if (!p) return;
  try {
    const final = await followJob(
      p.api,
      job,
      (j, etaSec) => update(key, { job: j, phase: phaseOf(j), etaSec }),
      p.abort.signal,
    );
    update(key, { job: final, phase: phaseOf(final), etaSec: null });
  } catch (err) {
    if ((err as Error)?.name !== 'AbortError') update(key, { error: err });
  } finally {
    pending.delete(key);
  }
}

/** Stops an upload, a wait, or (through DELETE) a queued or running separation. */
export async function cancel(key: string): Promise<void> {
  const task = tasks.get().find((t) => t.key === key);
  const p = pending.get(key);
  if (!task) return;
  if (task.job && !isTerminal(task.job.status) && p) {
    try {
      const job = await p.api.send<Job>('DELETE', jobPath(task.job.id));
      p.abort.abort();
      update(key, { job, phase: phaseOf(job), etaSec: null });
    } catch (err) {
      update(key, { error: err });
    }
    return;
  }
  p?.abort.abort();
  if (task.phase === 'waiting') update(key, { phase: 'canceled', note: 'Canceled' });
}

export function clearFinished(): void {
  tasks.set((all) => all.filter((t) => pending.has(t.key)));
}

/** On sign-out: stop everything this tab was doing for the previous credential. */
export function reset(): void {
  for (const p of pending.values()) p.abort.abort();
  pending.clear();
  tasks.set([]);
}

function phaseOf(job: Job): TaskPhase {
  return job.status;
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => resolve(true), ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve(false);
      },
      { once: true },
    );
  });
}
