/**
 * Worker-thread entry of DspWorkerPool: runs the pure DSP tasks (core/spleeter/dsp-pool.ts, dsp-tasks.ts) on
 * the shared planes each message carries, one at a time, and answers with the task's result.
 *
 * Protocol: parent -> worker { id, task };  worker -> parent { id, result } | { id, error, code }.
 */
import { parentPort } from 'worker_threads';
import type { DspTask } from '../../core/spleeter/dsp-pool';
import { runDspTask } from '../../core/spleeter/dsp-tasks';

export interface DspWorkerRequest {
  id: number;
  task: DspTask;
}

export type DspWorkerReply =
  { id: number; result: number } | { id: number; error: string; code: string | null };

const port = parentPort;
port?.on('message', ({ id, task }: DspWorkerRequest) => {
  let reply: DspWorkerReply;
  try {
    reply = { id, result: runDspTask(task) };
  } catch (err) {
    const e = err as { message?: string; code?: unknown };
    reply = { id, error: e?.message ?? String(err), code: typeof e?.code === 'string' ? e.code : null };
  }
  port.postMessage(reply);
});
