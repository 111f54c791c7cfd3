/**
 * Worker-thread host for one onnxruntime session. onnxruntime-node's run() is synchronous on the
 * calling JS thread, so the only way to run several instrument networks at the same time (and to
 * keep the caller's event loop free while they run) is one session per worker thread.
 *
 * Protocol (parent <-> worker):
 *   workerData: { path, options }                      options = OnnxSessionOptions minus logger
 *   worker -> parent  { type: 'ready', executionProvider, partialCpuFallback }
 *                     { type: 'failed', code, message }
 *                     { type: 'warn', message }
 *                     { type: 'result', id, data, dims, elementType, input }
 *                     { type: 'error', id, message, input }
 *   parent -> worker  { type: 'run', id, inputName, outputName, data, dims } | { type: 'close' }
 * Tensor data is transferred, not structured-cloned (a clone copies twice: into the message, then
 * out of it): the parent transfers `data`, the worker transfers it back as `input` with the reply
 * so that the parent reuses the buffer for its next call, and transfers the output it got from
 * onnxruntime (a fresh buffer each call; onnxruntime-node copies outputs into new ArrayBuffers
 * even when given pre-allocated ones, so those would save nothing).
 */
import { parentPort, workerData } from 'worker_threads';
import * as ort from 'onnxruntime-node';
import { OnnxRuntime, type OnnxSessionHandle, type OnnxSessionOptions } from './onnx-runtime';

export interface SessionWorkerData {
  path: string;
  options: Omit<OnnxSessionOptions, 'logger'>;
}

export type SessionWorkerRequest =
  | {
      type: 'run';
      id: number;
      inputName: string;
      outputName: string;
      data: Float32Array;
      dims: number[];
    }
  | { type: 'close' };

export type SessionWorkerReply =
  | { type: 'ready'; executionProvider: string; partialCpuFallback: boolean }
  | { type: 'failed'; code: string; message: string }
  | { type: 'warn'; message: string }
  | {
      type: 'result';
      id: number;
      data: Float32Array;
      dims: number[];
      elementType: string;
      /** The request's `data`, handed back for reuse. */
      input: Float32Array;
    }
  | { type: 'error'; id: number; message: string; input: Float32Array };

/** The buffer behind `a` when it can be transferred (a view of the whole buffer). */
function transferable(a: Float32Array | undefined): ArrayBuffer[] {
  return a && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? [a.buffer as ArrayBuffer] : [];
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const post = (m: SessionWorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  const { path, options } = workerData as SessionWorkerData;
  const runtime = new OnnxRuntime({ warn: (message) => post({ type: 'warn', message }) });
  let handle: OnnxSessionHandle;
  try {
    handle = await runtime.createSession(path, options);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    post({ type: 'failed', code: e.code ?? 'MODEL_LOAD_FAILED', message: e.message ?? String(err) });
    return;
  }
  port.on('message', (msg: SessionWorkerRequest) => {
    if (msg.type === 'close') {
      void handle.release().finally(() => port.close());
      return;
    }
    handle.session
      .run({ [msg.inputName]: new ort.Tensor('float32', msg.data, msg.dims) })
      .then((out) => {
        const y = out[msg.outputName] as ort.Tensor | undefined;
        if (!y) throw new Error(`no output '${msg.outputName}'`);
        let data = y.data as Float32Array;
        // Transfer, not copy: only possible when the view covers its whole buffer.
        if (transferable(data).length === 0) data = data.slice();
        post({ type: 'result', id: msg.id, data, dims: [...y.dims], elementType: y.type, input: msg.data }, [
          ...new Set([...transferable(data), ...transferable(msg.data)]),
        ]);
      })
      .catch((err: unknown) =>
        post(
          {
            type: 'error',
            id: msg.id,
            message: (err as Error).message ?? String(err),
            input: msg.data,
          },
          transferable(msg.data),
        ),
      );
  });
  post({
    type: 'ready',
    executionProvider: handle.executionProvider,
    partialCpuFallback: handle.partialCpuFallback,
  });
}

void main();
