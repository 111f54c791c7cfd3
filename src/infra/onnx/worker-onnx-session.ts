/**
 * Parent side of onnx-session-worker: an onnxruntime session living in its own worker thread, so
 * several sessions can run at the same time and the caller's event loop stays free meanwhile.
 * Workers are not shared or cached: each one owns its session (and its copy of the weights).
 *
 * Inputs travel by transfer (onnx-session-worker.ts says why): run() copies the caller's data into
 * a buffer of this session's own, transfers it, and gets it back with the result, so a stream of
 * same-sized calls allocates no input buffers (one copy per call instead of a clone's two, and no
 * garbage in the worker). onnxruntime-node accepts no SharedArrayBuffer-backed tensors ("Invalid
 * argument"), so sharing one input between sessions is not possible.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { Worker } from 'worker_threads';
import { ErrorCodes, ModelError } from '../../core/errors';
import { sessionThreads, withInferenceThreads } from './inference-thread-budget';
import type { InferenceLogger, OnnxSessionOptions } from './onnx-runtime';
import type { SessionWorkerData, SessionWorkerReply, SessionWorkerRequest } from './onnx-session-worker';

export interface WorkerRunResult {
  data: Float32Array;
  dims: readonly number[];
  elementType: string;
}

/** Compiled (dist) builds run the .js worker; from sources (jest, swc-node) the .ts one via swc. */
function workerEntry(): { file: string; execArgv: string[] } {
  const js = join(__dirname, 'onnx-session-worker.js');
  if (existsSync(js)) return { file: js, execArgv: [] };
  return {
    file: join(__dirname, 'onnx-session-worker.ts'),
    execArgv: ['-r', require.resolve('@swc-node/register')],
  };
}

/** Input buffers kept per session: a pipelined caller has at most two calls in flight. */
const MAX_SPARE_INPUTS = 2;

export class WorkerOnnxSession {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: WorkerRunResult) => void; reject: (e: Error) => void }
  >();
  private closed = false;
  /** Input buffers the worker handed back, for the next calls (see the module comment). */
  private readonly spare: ArrayBuffer[] = [];

  private constructor(
    private readonly worker: Worker,
    readonly path: string,
    readonly executionProvider: string,
    readonly partialCpuFallback: boolean,
    /** Intra-op threads of this session: the permits a run takes from the thread budget. */
    readonly threads: number,
  ) {
    worker.on('message', (m: SessionWorkerReply) => {
      if (m.type === 'result' || m.type === 'error') {
        this.keepSpare(m.input);
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.type === 'result') p.resolve({ data: m.data, dims: m.dims, elementType: m.elementType });
        else p.reject(new Error(m.message));
      }
    });
    const failAll = (why: string) => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new Error(why));
      this.pending.clear();
    };
    worker.on('error', (err) => failAll(`session worker crashed: ${err.message}`));
    worker.on('exit', (code) => failAll(`session worker exited (code ${code})`));
  }

  /** Starts a worker and creates the session there (same EP selection as OnnxRuntime). */
  static start(path: string, options: OnnxSessionOptions = {}): Promise<WorkerOnnxSession> {
    // Creating the session is native work in the new thread: it holds a permit of the calling
    // thread's budget meanwhile, like a model call, so that no thread is terminated inside it
    // (InferenceThreadBudget.exclusive says why).
    return withInferenceThreads(1, () => WorkerOnnxSession.startNow(path, options));
  }

  private static startNow(path: string, options: OnnxSessionOptions): Promise<WorkerOnnxSession> {
    const { logger, ...rest } = options;
    const entry = workerEntry();
    const data: SessionWorkerData = { path, options: rest };
    const worker = new Worker(entry.file, { workerData: data, execArgv: entry.execArgv });
    return new Promise((resolve, reject) => {
      const onWarn = (m: SessionWorkerReply) => {
        if (m.type === 'warn') (logger as InferenceLogger | undefined)?.warn(m.message);
      };
      worker.on('message', onWarn);
      const cleanup = () => {
        worker.off('message', onStartup);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onStartup = (m: SessionWorkerReply) => {
        if (m.type === 'ready') {
          cleanup();
          resolve(
            new WorkerOnnxSession(
              worker,
              path,
              m.executionProvider,
              m.partialCpuFallback,
              sessionThreads(rest.intraOpThreads),
            ),
          );
        } else if (m.type === 'failed') {
          cleanup();
          void worker.terminate();
          const code = Object.values(ErrorCodes).find((c) => c === m.code) ?? ErrorCodes.MODEL_LOAD_FAILED;
          reject(new ModelError(code, m.message, { path }));
        }
      };
      const onError = (err: Error) => {
        cleanup();
        reject(
          new ModelError(
            ErrorCodes.MODEL_LOAD_FAILED,
            `session worker for ${path} failed: ${err.message}`,
            { path },
            { cause: err },
          ),
        );
      };
      const onExit = (code: number) => {
        cleanup();
        reject(
          new ModelError(ErrorCodes.MODEL_LOAD_FAILED, `session worker for ${path} exited (code ${code})`, {
            path,
          }),
        );
      };
      worker.on('message', onStartup);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  /**
   * Runs the session on a copy of `data` (the caller's array is left untouched), holding this
   * session's threads from the calling thread's inference thread budget while it runs.
   */
  run(
    inputName: string,
    outputName: string,
    data: Float32Array,
    dims: readonly number[],
  ): Promise<WorkerRunResult> {
    if (this.closed) return Promise.reject(new Error('session worker is closed'));
    return withInferenceThreads(this.threads, () => this.runNow(inputName, outputName, data, dims));
  }

  private runNow(
    inputName: string,
    outputName: string,
    data: Float32Array,
    dims: readonly number[],
  ): Promise<WorkerRunResult> {
    if (this.closed) return Promise.reject(new Error('session worker is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const payload = this.inputBuffer(data.length);
      payload.set(data);
      const msg: SessionWorkerRequest = {
        type: 'run',
        id,
        inputName,
        outputName,
        data: payload,
        dims: [...dims],
      };
      this.worker.postMessage(msg, [payload.buffer as ArrayBuffer]);
    });
  }

  /** A spare input buffer of exactly `length` floats, else a new one. */
  private inputBuffer(length: number): Float32Array {
    const bytes = length * Float32Array.BYTES_PER_ELEMENT;
    const i = this.spare.findIndex((b) => b.byteLength === bytes);
    if (i < 0) return new Float32Array(length);
    return new Float32Array(this.spare.splice(i, 1)[0]);
  }

  /** Keeps a returned input buffer: as many as calls can be in flight (two with pipelining). */
  private keepSpare(input: Float32Array | undefined): void {
    if (!input || this.closed || input.byteOffset !== 0) return;
    this.spare.push(input.buffer as ArrayBuffer);
    if (this.spare.length > MAX_SPARE_INPUTS) this.spare.shift();
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies SessionWorkerRequest);
    // The worker ends once its runs and the release are done. One that has not after a grace is
    // terminated, but never while a run is in flight: terminate() cannot interrupt onnxruntime, and
    // a thread ended inside a call aborts the whole process when the call returns.
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer = setTimeout(() => (this.pending.size > 0 ? arm() : void this.worker.terminate()), 5000);
      timer.unref();
    };
    arm();
    await exited;
    clearTimeout(timer);
  }
}
