/**
 * onnxruntime-node session factory: execution-provider selection without silent fallback, and a
 * reference-counted session cache keyed by (file identity, options).
 *
 * Why the EP handling is explicit: onnxruntime always appends the CPU EP behind the requested one,
 * so `executionProviders: ['cuda']` "succeeds" even when most nodes run on the CPU. We first create
 * the session with `session.disable_cpu_ep_fallback=1`, which makes onnxruntime refuse any node the
 * EP cannot take. Only if that fails do we allow [ep, cpu]; onnxruntime-node throws when an EP
 * cannot be registered (missing CUDA libraries, no WebGPU adapter), so a session created that way
 * has the EP registered and running the nodes it supports. Otherwise the next preference is tried
 * and a warning is logged. 'cpu' is reported only for a session created with the CPU EP alone.
 *
 * onnxruntime-node's `session.run` executes synchronously on the calling thread (the binding runs
 * inside a setImmediate), so inference blocks the event loop for its whole duration: host it in a
 * worker process or worker thread, not in the HTTP process's main thread.
 */
import { stat } from 'fs/promises';
import { resolve } from 'path';
import * as ort from 'onnxruntime-node';
import { ErrorCodes, ModelError, ValidationError } from '../../core/errors';

export type ExecutionProviderName = 'cuda' | 'webgpu' | 'cpu';
export const EXECUTION_PROVIDER_NAMES: readonly ExecutionProviderName[] = ['cuda', 'webgpu', 'cpu'];

/** Structural subset of Nest's Logger, so a Nest Logger can be passed as is. */
export interface InferenceLogger {
  warn(message: string): void;
  log?(message: string): void;
  debug?(message: string): void;
}

export interface OnnxSessionOptions {
  /** Preference order; default ['cpu']. Each entry is tried alone, see the module comment. */
  executionProviders?: readonly ExecutionProviderName[];
  /** onnxruntime intra-op threads; 0 or undefined = onnxruntime's default (one per physical core). */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** GPU ordinal for cuda. */
  deviceId?: number;
  logger?: InferenceLogger;
}

export interface OnnxSessionHandle {
  readonly session: ort.InferenceSession;
  /** The EP that actually runs this session's nodes (see module comment). */
  readonly executionProvider: ExecutionProviderName;
  /** True when some nodes were left to the CPU EP behind a GPU EP. */
  readonly partialCpuFallback: boolean;
  readonly path: string;
  /** Drops this reference; the session is disposed when the last one is released. Idempotent. */
  release(): Promise<void>;
}

interface CacheEntry {
  key: string;
  refs: number;
  ready: Promise<{
    session: ort.InferenceSession;
    executionProvider: ExecutionProviderName;
    partialCpuFallback: boolean;
  }>;
}

const silentLogger: InferenceLogger = { warn: () => undefined };

export class OnnxRuntime {
  private readonly cache = new Map<string, CacheEntry>();
  /** EPs that failed to register while the CPU EP could load the same model: not retried. */
  private readonly unavailable = new Map<ExecutionProviderName, string>();

  constructor(private readonly defaultLogger: InferenceLogger = silentLogger) {}

  /** EPs this onnxruntime-node build knows (bundled or loadable); not a promise that they work. */
  static supportedProviders(): string[] {
    return ort.listSupportedBackends().map((b) => b.name);
  }

  get cachedSessionCount(): number {
    return this.cache.size;
  }

  async createSession(modelPath: string, opts: OnnxSessionOptions = {}): Promise<OnnxSessionHandle> {
    const path = resolve(modelPath);
    let identity: string;
    try {
      const st = await stat(path);
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
      // Size + mtime in the key: a re-installed model file gets a fresh session.
      identity = `${path}|${st.size}|${st.mtimeMs}`;
    } catch (err) {
      throw new ModelError(
        ErrorCodes.MODEL_NOT_INSTALLED,
        `model file not found: ${path}`,
        { path },
        { cause: err },
      );
    }
    const prefs = dedupe(opts.executionProviders?.length ? opts.executionProviders : ['cpu']);
    const key = JSON.stringify([
      identity,
      prefs,
      opts.intraOpThreads ?? 0,
      opts.interOpThreads ?? 0,
      opts.deviceId ?? 0,
    ]);

    let entry = this.cache.get(key);
    if (!entry) {
      const created: CacheEntry = { key, refs: 0, ready: this.open(path, prefs, opts) };
      entry = created;
      this.cache.set(key, created);
      created.ready.catch(() => {
        if (this.cache.get(key) === created) this.cache.delete(key);
      });
    }
    entry.refs++;
    let opened;
    try {
      opened = await entry.ready;
    } catch (err) {
      entry.refs--;
      throw err;
    }
    let released = false;
    const owner = entry;
    return {
      ...opened,
      path,
      release: async () => {
        if (released) return;
        released = true;
        if (--owner.refs > 0) return;
        // Not in the cache any more means disposeAll() already released it.
        if (this.cache.get(owner.key) !== owner) return;
        this.cache.delete(owner.key);
        await opened.session.release();
      },
    };
  }

  /** Disposes every cached session (shutdown). Handles still held become unusable. */
  async disposeAll(): Promise<void> {
    const entries = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(
      entries.map(async (e) => {
        const s = await e.ready.catch(() => null);
        await s?.session.release();
      }),
    );
  }

  private async open(
    path: string,
    prefs: readonly ExecutionProviderName[],
    opts: OnnxSessionOptions,
  ): Promise<{
    session: ort.InferenceSession;
    executionProvider: ExecutionProviderName;
    partialCpuFallback: boolean;
  }> {
    const logger = opts.logger ?? this.defaultLogger;
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      // Errors only: EP probing failures are reported through our logger instead.
      logSeverityLevel: 3,
      ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
      ...(opts.interOpThreads ? { interOpNumThreads: opts.interOpThreads } : {}),
    };
    const known = new Set(OnnxRuntime.supportedProviders());
    const failures: string[] = [];
    const failedGpu: ExecutionProviderName[] = [];

    for (const ep of prefs) {
      if (ep === 'cpu') {
        try {
          const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
          for (const gpu of failedGpu)
            this.unavailable.set(gpu, failures.find((f) => f.startsWith(gpu)) ?? gpu);
          if (failures.length)
            logger.warn(`onnxruntime: falling back to cpu for ${path} (${failures.join('; ')})`);
          return { session, executionProvider: 'cpu', partialCpuFallback: false };
        } catch (err) {
          failures.push(`cpu: ${errorText(err)}`);
          continue;
        }
      }
      const knownReason = this.unavailable.get(ep);
      if (knownReason) {
        failures.push(`${ep}: unavailable (${knownReason})`);
        continue;
      }
      if (!known.has(ep)) {
        failures.push(`${ep}: not supported by this onnxruntime-node build`);
        continue;
      }
      const epConfig = ep === 'cuda' ? { name: 'cuda', deviceId: opts.deviceId ?? 0 } : { name: ep };
      try {
        const session = await ort.InferenceSession.create(path, {
          ...base,
          executionProviders: [epConfig],
          extra: { session: { disable_cpu_ep_fallback: '1' } },
        });
        if (failures.length)
          logger.warn(`onnxruntime: using ${ep} for ${path} after: ${failures.join('; ')}`);
        return { session, executionProvider: ep, partialCpuFallback: false };
      } catch (strictErr) {
        try {
          const session = await ort.InferenceSession.create(path, {
            ...base,
            executionProviders: [epConfig, 'cpu'],
          });
          logger.warn(
            `onnxruntime: ${ep} cannot run every node of ${path}; unsupported nodes run on cpu (${errorText(strictErr)})`,
          );
          return { session, executionProvider: ep, partialCpuFallback: true };
        } catch (err) {
          failures.push(`${ep}: ${errorText(err)}`);
          failedGpu.push(ep);
        }
      }
    }
    throw new ModelError(
      ErrorCodes.MODEL_LOAD_FAILED,
      `could not create an onnxruntime session for ${path} with [${prefs.join(', ')}]: ${failures.join('; ')}`,
      { path, executionProviders: prefs, failures },
    );
  }
}

function dedupe(list: readonly ExecutionProviderName[]): ExecutionProviderName[] {
  const out: ExecutionProviderName[] = [];
  for (const ep of list) {
    if (!EXECUTION_PROVIDER_NAMES.includes(ep)) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `unknown execution provider '${String(ep)}'`, {
        executionProvider: ep,
      });
    }
    if (!out.includes(ep)) out.push(ep);
  }
  return out;
}

function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // onnxruntime messages can embed multi-line native logs; keep the first line.
  return msg.split('\n')[0].slice(0, 300);
}
