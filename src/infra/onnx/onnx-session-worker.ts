/**
 * Worker-thread host for one onnxruntime session. onnxruntime-node's run() is synchronous on the
 * calling JS thread, so the only way to run several instrument networks at the same time (and to
 * keep the caller's event loop free while they run) is one session per worker thread.
 *
 * Protocol (parent <-> worker), all plain structured-clone messages:
 *   workerData: { path, options }                      options = OnnxSessionOptions minus logger
 *   worker -> parent  { type: 'ready', executionProvider, partialCpuFallback }
 *                     { type: 'failed', code, message }
 *                     { type: 'warn', message }
 *                     { type: 'result', id, data, dims, elementType } | { type: 'error', id, message }
 *   parent -> worker  { type: 'run', id, inputName, outputName, data, dims } | { type: 'close' }
 */
import { parentPort, workerData } from 'worker_threads';
import * as ort from 'onnxruntime-node';
import { OnnxRuntime, type OnnxSessionHandle, type OnnxSessionOptions } from './onnx-runtime';

export interface SessionWorkerData {
  path: string;
  options: Omit<OnnxSessionOptions, 'logger'>;
}

export type SessionWorkerRequest =
  | { type: 'run'; id: number; inputName: string; outputName: string; data: Float32Array; dims: number[] }
  | { type: 'close' };

export type SessionWorkerReply =
  | { type: 'ready'; executionProvider: string; partialCpuFallback: boolean }
  | { type: 'failed'; code: string; message: string }
  | { type: 'warn'; message: string }
  | { type: 'result'; id: number; data: Float32Array; dims: number[]; elementType: string }
  | { type: 'error'; id: number; message: string };

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
        if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
        post({ type: 'result', id: msg.id, data, dims: [...y.dims], elementType: y.type }, [
          data.buffer as ArrayBuffer,
        ]);
      })
      .catch((err: unknown) =>
        post({ type: 'error', id: msg.id, message: (err as Error).message ?? String(err) }),
      );
  });
  post({
    type: 'ready',
    executionProvider: handle.executionProvider,
    partialCpuFallback: handle.partialCpuFallback,
  });
}

void main();
