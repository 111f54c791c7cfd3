/**
 * Worker-thread side of the separation pool. onnxruntime-node runs inference synchronously on the
 * calling thread, and the STFT work is CPU-bound too, so separations run here and the HTTP event
 * loop stays responsive (health probes, SSE, uploads) while a job computes.
 */
import { setPriority } from 'os';
import { parentPort, workerData } from 'worker_threads';
import { ErrorCodes, SeparationError } from '../../core/errors';
import {
  InferenceThreadBudget,
  installInferenceThreadBudget,
} from '../../infra/onnx/inference-thread-budget';
import { SpleeterEngine } from '../spleeter-engine';
import type { SeparateParams } from '../types';
import { serializeError } from './error-serialization';
import type { SeparationWorkerData } from './separation-worker-pool';
import type { WorkerRequest, WorkerResponse } from './worker-protocol';

const port = parentPort;
if (!port) throw new Error('separation.worker must run in a worker thread');

const { inferenceThreadBudget, inferenceThreadLedger, workerNice, ...options } =
  workerData as SeparationWorkerData;
// First, so that everything this thread starts (instrument threads, onnxruntime pools, ffmpeg)
// inherits it. On Linux setpriority(PRIO_PROCESS, 0) applies to the calling thread only.
if (workerNice > 0) {
  try {
    setPriority(0, workerNice);
  } catch {
    // Not permitted here (some sandboxes): run at the process's priority.
  }
}
// Before any session exists: every model call of this thread (and its instrument sessions) counts
// against the pool's one budget.
installInferenceThreadBudget(InferenceThreadBudget.attach(inferenceThreadBudget, inferenceThreadLedger));
const engine = new SpleeterEngine({
  ...options,
  logger: { warn: (message) => post({ type: 'log', level: 'warn', message }) },
});
const controllers = new Map<number, AbortController>();
/** The jobs running here, settled (resolved) once each has posted its outcome. */
const running = new Map<number, Promise<void>>();
let disposing = false;

function post(msg: WorkerResponse): void {
  port!.postMessage(msg);
}

port.on('message', (msg: WorkerRequest) => {
  switch (msg.type) {
    case 'separate': {
      if (disposing) {
        post({
          type: 'error',
          id: msg.id,
          error: serializeError(new SeparationError(ErrorCodes.INTERNAL, 'Shutting down')),
        });
        break;
      }
      const controller = new AbortController();
      controllers.set(msg.id, controller);
      const params: SeparateParams = {
        ...msg.params,
        signal: controller.signal,
        onProgress: (fraction, stage) => post({ type: 'progress', id: msg.id, fraction, stage }),
      };
      const done = engine
        .separate(params)
        .then(
          (result) => post({ type: 'result', id: msg.id, result }),
          (err: unknown) => post({ type: 'error', id: msg.id, error: serializeError(err) }),
        )
        .finally(() => {
          controllers.delete(msg.id);
          running.delete(msg.id);
        });
      running.set(msg.id, done);
      break;
    }
    case 'cancel':
      controllers.get(msg.id)?.abort();
      break;
    case 'dispose':
      // Retiring sends this to an idle worker, close() to any. Jobs still running are canceled and
      // end at their next check; releasing the sessions then ends the instrument threads cleanly,
      // and exiting this thread from here (never inside a model call) frees its heap and arenas.
      if (disposing) break;
      disposing = true;
      for (const c of controllers.values()) c.abort();
      void Promise.allSettled([...running.values()])
        .then(() => engine.dispose())
        .catch(() => undefined)
        .finally(() => process.exit(0));
      break;
  }
});
