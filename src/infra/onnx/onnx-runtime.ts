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
 *
 * Optimized-model cache (`optimizedModelCacheDir`): creating a CPU session with graph optimization
 * 'all' costs far more than loading a graph onnxruntime already optimized (146 ms vs 34 ms for the
 * full Spleeter U-Net), so a CPU-only session saves its optimized graph once
 * (`optimizedModelFilePath`) and later sessions load that file instead. The 'all' level output
 * (NCHWc layouts) is specific to the CPU and the onnxruntime build, so the file name is a hash of
 * the model's identity, the onnxruntime version, the CPU model, the architecture and the options
 * that shape the optimized graph. The weights go to a data file whose name no other write uses, the
 * graph to a temp name renamed into place once both are complete (optimized-model-cache.ts), so
 * racing processes are safe without locks. The cache never makes a session fail: any problem with it
 * falls back to the original model. GPU sessions never use it.
 */
import { randomBytes } from 'crypto';
import { mkdir, open as openFile, readFile, readdir, rename, rm, stat } from 'fs/promises';
import { cpus } from 'os';
import { basename, join, resolve } from 'path';
import * as ort from 'onnxruntime-node';
import { ErrorCodes, ModelError, SeparationError, ValidationError } from '../../core/errors';
import { withInferenceThreads } from './inference-thread-budget';
import { recordEntrySource } from './optimized-model-orphans';
import {
  externalDataConfig,
  modelPathTag,
  optimizedCacheKey,
  optimizedDataFileName,
  rewrittenModel,
  staleCacheFiles,
  type ModelFileStat,
} from './optimized-model-cache';

export type ExecutionProviderName = 'cuda' | 'webgpu' | 'cpu';
export const EXECUTION_PROVIDER_NAMES: readonly ExecutionProviderName[] = ['cuda', 'webgpu', 'cpu'];

/** What probeExecutionProvider found: the first EP of the preference that could create a session. */
export interface ExecutionProviderProbe {
  executionProvider: ExecutionProviderName;
  /** See executionDeviceName(). */
  executionDevice: string | null;
  /** `<ep>: <first line of the reason>` for each preferred EP that could not be created. */
  failures: string[];
}

/**
 * The device behind an execution provider, as far as this process can name it: the CPU model for
 * 'cpu' (and for the built-in DSP models, which run on the CPU), `CUDA device <n>` for 'cuda'
 * (onnxruntime-node exposes no device name), null for 'webgpu' (onnxruntime-node exposes no adapter
 * description). A comma-joined list ('cuda,cpu': one network per EP) names each device.
 */
export function executionDeviceName(executionProvider: string, deviceId = 0): string | null {
  const names = executionProvider
    .split(',')
    .map((ep) => ep.trim())
    .filter(Boolean)
    .map((ep) => {
      if (ep === 'cpu' || ep === 'dsp') return cpus()[0]?.model?.trim() || null;
      if (ep === 'cuda') return `CUDA device ${deviceId}`;
      return null;
    });
  const known = [...new Set(names.filter((n): n is string => n !== null))];
  return known.length ? known.join(', ') : null;
}

/** The GPU EPs of a preference, in order. */
export function gpuProviders(prefs: readonly ExecutionProviderName[]): ExecutionProviderName[] {
  return prefs.filter((p) => p !== 'cpu');
}

/** GPU_UNAVAILABLE: the preference allows no CPU and none of its GPU EPs could be created. */
export function gpuUnavailableError(
  prefs: readonly ExecutionProviderName[],
  failures: readonly string[],
): SeparationError {
  return new SeparationError(
    ErrorCodes.GPU_UNAVAILABLE,
    `performance.require_gpu is set and no GPU execution provider could be created (${failures.join('; ') || `none of [${prefs.join(', ')}] tried`})`,
    { executionProviders: [...prefs], failures: [...failures] },
  );
}

let probeModel: Uint8Array | undefined;

/**
 * y = x + x over float32[1]: an op every EP runs, so a session on it tests only the EP itself.
 * The graph builder is loaded here, on demand, and protobufjs only when the probe model is encoded
 * (./onnx-protos): every onnx session worker thread loads this module without ever probing.
 */
async function probeModelBytes(): Promise<Uint8Array> {
  if (!probeModel) {
    const { OnnxGraphBuilder } = await import('../../core/onnx/onnx-graph-builder');
    const g = new OnnxGraphBuilder({ graphName: 'ep_probe' });
    const x = g.addInput('x', 'float32', [1]);
    g.addNode('Add', [x, x], ['y']);
    g.addOutput('y', 'float32', [1]);
    probeModel = g.serialize();
  }
  return probeModel;
}

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
  /**
   * Directory for optimized CPU models (see the module comment); created on demand. Absent or null:
   * no cache. Only used for sessions that end up on the CPU EP alone.
   */
  optimizedModelCacheDir?: string | null;
  /**
   * With the optimized-model cache: rewrite strided ConvTransposes as Conv + DepthToSpace
   * (core/onnx/conv-transpose-rewrite.ts) before onnxruntime optimizes the graph, once per model and
   * machine, when the cache entry is written. Set for the model families where it was measured
   * faster (Spleeter U-Nets); never applied to GPU sessions or without the cache.
   */
  rewriteConvTranspose?: boolean;
}

export interface OnnxSessionHandle {
  readonly session: ort.InferenceSession;
  /** The EP that actually runs this session's nodes (see module comment). */
  readonly executionProvider: ExecutionProviderName;
  /** True when some nodes were left to the CPU EP behind a GPU EP. */
  readonly partialCpuFallback: boolean;
  /** The device behind executionProvider (executionDeviceName). */
  readonly executionDevice: string | null;
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

/** Cache-dir errors that mean "not writable here" (expected), not a bug worth a warning. */
const UNWRITABLE_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'ENOENT']);

export class OnnxRuntime {
  private readonly cache = new Map<string, CacheEntry>();
  /** EPs that failed to register while the CPU EP could load the same model: not retried. */
  private readonly unavailable = new Map<ExecutionProviderName, string>();
  /** Cache dirs already reported as unusable: reported once per runtime, not per session. */
  private readonly unusableCacheDirs = new Set<string>();

  constructor(private readonly defaultLogger: InferenceLogger = silentLogger) {
    // onnxruntime's process-wide logger (set once, at the first session) prints a failed provider
    // registration (no CUDA libraries) as a red native error line on stderr, next to the one-line
    // warning we log for it. Every native failure also surfaces as an exception that we report, so
    // keep it to fatal; only when left at its default, so an embedding application's choice wins.
    if (ort.env.logLevel === 'warning') ort.env.logLevel = 'fatal';
  }

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
    let fileStat: ModelFileStat;
    try {
      const st = await stat(path);
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
      // Size + mtime in the key: a re-installed model file gets a fresh session.
      identity = `${path}|${st.size}|${st.mtimeMs}`;
      fileStat = { size: st.size, mtimeMs: st.mtimeMs };
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
      opts.rewriteConvTranspose ?? false,
    ]);

    let entry = this.cache.get(key);
    if (!entry) {
      // Native work, so it holds a permit of this thread's inference budget like a model call
      // (InferenceThreadBudget.exclusive says why); ungated where no budget is installed.
      const created: CacheEntry = {
        key,
        refs: 0,
        ready: withInferenceThreads(1, () => this.open(path, fileStat, prefs, opts)),
      };
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
      executionDevice: executionDeviceName(opened.executionProvider, opts.deviceId ?? 0),
      path,
      release: async () => {
        if (released) return;
        released = true;
        if (--owner.refs > 0) return;
        // Not in the cache any more means disposeAll() already released it.
        if (this.cache.get(owner.key) !== owner) return;
        this.cache.delete(owner.key);
        await withInferenceThreads(1, () => opened.session.release());
      },
    };
  }

  /**
   * Which EP of `prefs` this machine can create a session on, tried in order on a one-node model
   * (tens of ms; no model file needed), so a missing GPU is found at start-up rather than at the
   * first separation. Failed GPU EPs are remembered like createSession's. Without 'cpu' in `prefs`
   * and no GPU EP working: GPU_UNAVAILABLE.
   */
  async probeExecutionProvider(
    prefs: readonly ExecutionProviderName[],
    opts: { deviceId?: number } = {},
  ): Promise<ExecutionProviderProbe> {
    const order = dedupe(prefs.length ? prefs : ['cpu']);
    const known = new Set(OnnxRuntime.supportedProviders());
    const failures: string[] = [];
    for (const ep of order) {
      const knownReason = this.unavailable.get(ep);
      if (knownReason) {
        failures.push(knownReason.startsWith(`${ep}:`) ? knownReason : `${ep}: ${knownReason}`);
        continue;
      }
      if (ep !== 'cpu' && !known.has(ep)) {
        failures.push(`${ep}: not supported by this onnxruntime-node build`);
        this.unavailable.set(ep, failures[failures.length - 1]);
        continue;
      }
      const epConfig = ep === 'cuda' ? { name: 'cuda', deviceId: opts.deviceId ?? 0 } : { name: ep };
      try {
        // [ep, cpu] rather than ep alone: onnxruntime throws when the EP cannot be registered,
        // which is all this asks (whether it takes every node of a real model is createSession's).
        const session = await ort.InferenceSession.create(await probeModelBytes(), {
          executionProviders: ep === 'cpu' ? ['cpu'] : [epConfig, 'cpu'],
          logSeverityLevel: 3,
        });
        await session.release().catch(() => undefined);
        return {
          executionProvider: ep,
          executionDevice: executionDeviceName(ep, opts.deviceId ?? 0),
          failures,
        };
      } catch (err) {
        failures.push(`${ep}: ${errorText(err)}`);
        if (ep !== 'cpu') this.unavailable.set(ep, failures[failures.length - 1]);
      }
    }
    if (!order.includes('cpu')) throw gpuUnavailableError(order, failures);
    throw new ModelError(
      ErrorCodes.MODEL_LOAD_FAILED,
      `no execution provider of [${order.join(', ')}] could be created: ${failures.join('; ')}`,
      { executionProviders: order, failures },
    );
  }

  /** Disposes every cached session (shutdown). Handles still held become unusable. */
  async disposeAll(): Promise<void> {
    const entries = [...this.cache.values()];
    this.cache.clear();
    await Promise.all(
      entries.map(async (e) => {
        const s = await e.ready.catch(() => null);
        if (s) await withInferenceThreads(1, () => s.session.release());
      }),
    );
  }

  private async open(
    path: string,
    fileStat: ModelFileStat,
    prefs: readonly ExecutionProviderName[],
    opts: OnnxSessionOptions,
  ): Promise<{
    session: ort.InferenceSession;
    executionProvider: ExecutionProviderName;
    partialCpuFallback: boolean;
  }> {
    const logger = opts.logger ?? this.defaultLogger;
    // Memory options stay at onnxruntime's defaults, measured with `BENCH_SESSION_OPTIONS=1 npm run
    // bench` (pure onnxruntime processes, full-size 2-stem model, one intra-op thread per session,
    // interleaved medians on a shared 2-core machine) and in the CLI: without the memory pattern
    // peak RSS is 4.5–5 % lower but the CLI's CPU time 7 % higher (three interleaved pairs);
    // without the CPU arena CPU time is 48 % higher and RSS higher too; intra-op spinning
    // (`session.intra_op.allow_spinning`) and denormals-as-zero change nothing measurable with one
    // intra-op thread (spinning matters only with an intra-op pool: left at the default).
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
          const cpuOptions: ort.InferenceSession.SessionOptions = {
            ...base,
            executionProviders: ['cpu'],
          };
          const session = opts.optimizedModelCacheDir
            ? await this.createCpuCached(
                path,
                fileStat,
                cpuOptions,
                resolve(opts.optimizedModelCacheDir),
                opts.rewriteConvTranspose ?? false,
                logger,
              )
            : await ort.InferenceSession.create(path, cpuOptions);
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
    // No CPU allowed (performance.require_gpu): a GPU EP that cannot even run the one-node probe
    // model is a machine problem (GPU_UNAVAILABLE, thrown by the probe), not a model problem.
    if (!prefs.includes('cpu')) await this.probeExecutionProvider(prefs, { deviceId: opts.deviceId });
    throw new ModelError(
      ErrorCodes.MODEL_LOAD_FAILED,
      `could not create an onnxruntime session for ${path} with [${prefs.join(', ')}]: ${failures.join('; ')}`,
      { path, executionProviders: prefs, failures },
    );
  }

  /**
   * Creates a CPU session through the optimized-model cache. Throws only what creating the session
   * from the original model throws; every cache problem is logged and bypassed.
   */
  private async createCpuCached(
    path: string,
    fileStat: ModelFileStat,
    options: ort.InferenceSession.SessionOptions,
    dir: string,
    rewrite: boolean,
    logger: InferenceLogger,
  ): Promise<ort.InferenceSession> {
    const key = optimizedCacheKey(path, fileStat, options, rewrite);
    // <model path tag>-<key>.onnx: the tag finds the entries a changed model file leaves behind.
    const tag = modelPathTag(path);
    const cached = join(dir, `${tag}-${key}.onnx`);

    // Hit: a complete file was renamed into place earlier.
    const cachedSize = await stat(cached).then(
      (st) => (st.isFile() ? st.size : 0),
      () => 0,
    );
    if (cachedSize > 0) {
      try {
        const session = await ort.InferenceSession.create(cached, options);
        // Entries of older builds have no record of their model path yet (optimized-model-orphans).
        await recordEntrySource(dir, tag, path).catch(() => undefined);
        return session;
      } catch (err) {
        logger.debug?.(
          `onnxruntime: discarding unusable optimized model ${cached} for ${path}: ${errorText(err)}`,
        );
        await rm(cached, { force: true }).catch(() => undefined);
      }
    }

    // Miss: claim a temp name (also proves the dir is writable), let onnxruntime write into it,
    // with the weights in a data file of a name no other write uses (see optimized-model-cache.ts).
    const nonce = randomBytes(6).toString('hex');
    const tmp = join(dir, `.${key}.${nonce}.tmp.onnx`);
    const dataName = optimizedDataFileName(tag, key, nonce);
    try {
      await mkdir(dir, { recursive: true });
      await (await openFile(tmp, 'wx')).close();
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      this.reportUnusableCacheDir(dir, err, logger);
      return ort.InferenceSession.create(path, options);
    }
    let session: ort.InferenceSession;
    try {
      const source = rewrite ? await rewrittenModel(path, logger) : null;
      const saveAs: ort.InferenceSession.SessionOptions = {
        ...options,
        optimizedModelFilePath: tmp,
        extra: {
          ...options.extra,
          session: { ...(options.extra?.session ?? {}), ...externalDataConfig(dataName) },
        },
      };
      session = source
        ? await ort.InferenceSession.create(source, saveAs)
        : await ort.InferenceSession.create(path, saveAs);
    } catch (err) {
      await removeFiles([tmp, join(dir, dataName)]);
      // Most likely the model itself is bad, which the plain attempt reports; if the plain attempt
      // works, saving the optimized graph was the problem (disk full, graph too large to save).
      const session = await ort.InferenceSession.create(path, options);
      logger.warn(`onnxruntime: cannot save the optimized model of ${path} in ${dir}: ${errorText(err)}`);
      return session;
    }
    try {
      const written = await stat(tmp);
      if (!written.isFile() || written.size === 0) throw new Error('onnxruntime wrote an empty file');
      await rename(tmp, cached);
      logger.debug?.(`onnxruntime: cached the optimized model of ${path} as ${cached}`);
      // The model path behind the tag, so that the entry goes when the model does.
      await recordEntrySource(dir, tag, path).catch(() => undefined);
      await this.pruneStale(dir, tag, basename(cached), logger);
    } catch (err) {
      await removeFiles([tmp, join(dir, dataName)]);
      const code = (err as NodeJS.ErrnoException).code;
      if (code && UNWRITABLE_CODES.has(code)) this.reportUnusableCacheDir(dir, err, logger);
      else
        logger.warn(`onnxruntime: cannot cache the optimized model of ${path} in ${dir}: ${errorText(err)}`);
    }
    return session;
  }

  /**
   * Removes this model path's other entries (an older file version, another onnxruntime or
   * options): each is a full copy of the model. Best effort.
   */
  private async pruneStale(dir: string, tag: string, keep: string, logger: InferenceLogger): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const entry = await readFile(join(dir, keep)).catch(() => null);
    for (const name of staleCacheFiles(names, tag, keep, entry)) {
      await rm(join(dir, name), { force: true }).catch((err: unknown) =>
        logger.debug?.(`onnxruntime: cannot remove stale optimized model ${name}: ${errorText(err)}`),
      );
    }
  }

  private reportUnusableCacheDir(dir: string, err: unknown, logger: InferenceLogger): void {
    if (this.unusableCacheDirs.has(dir)) return;
    this.unusableCacheDirs.add(dir);
    const code = (err as NodeJS.ErrnoException).code;
    const message = `onnxruntime: optimized-model cache ${dir} is not usable, sessions load the original models: ${errorText(err)}`;
    if (code && UNWRITABLE_CODES.has(code)) logger.debug?.(message);
    else logger.warn(message);
  }
}

async function removeFiles(files: readonly string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true }).catch(() => undefined);
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
  // onnxruntime messages can embed multi-line native logs; keep the first line, without the
  // native assertion prefix ("/onnxruntime_src/...cc:136 <function> <condition> was false. ").
  const first = msg.split('\n')[0];
  return first.replace(/^\/onnxruntime_src\/\S+:\d+ .*? was false\. /, '').slice(0, 300);
}
