/**
 * Turns a model reference into a ready StemSeparator:
 * - `builtin:hpss`, `builtin:center`: DSP models, always available;
 * - a directory path: a Spleeter model in the sherpa-onnx layout (one ONNX file per instrument), or
 *   an MDX-Net model (a directory with `mdx.json`, or an `.onnx` file path);
 * - a catalog name (`spleeter:2stems`, `sherpa:spleeter-2stems@v2`, …): resolved by the
 *   ModelManager in models.dir (installing it first when auto-download is on).
 *
 * Loaded networks are cached per directory and precision; each `open()` takes a lease so an active
 * version cannot be deleted while a separation uses it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { ErrorCodes, ModelError } from '../core/errors';
import {
  checkMdxSignature,
  createMdxOnnxModelFn,
  MdxSeparator,
  resolveMdxParams,
  type MdxModelFn,
  type MdxModelParams,
  type MdxParamOverrides,
} from '../core/mdx';
import { parseModelRef } from '../core/models/model-catalog';
import { normaliseVersionId } from '../core/models/model-version';
import { readOnnxMetadata } from '../core/onnx/onnx-metadata-reader';
import type { ModelManager } from '../infra/models/model-manager';
import { MDX_MANIFEST_FILE, type MdxManifest } from '../infra/models/model-files';
import type { StemSeparator } from '../core/separation/types';
import type { ProgressCallback, SegmentModel } from '../core/spleeter/types';
import type { ExecutionProviderName, InferenceLogger, OnnxRuntime } from '../infra/inference/onnx-runtime';
import {
  loadSpleeterModel,
  spleeterInstrumentsOf,
  type LoadedSpleeterModel,
} from '../infra/inference/spleeter-onnx-model';
import { BUILTIN_MODELS, createBuiltinSeparator } from '../core/builtin/builtin-models';
import { createSpleeterSeparator } from './spleeter-separator-adapter';
import { validateStems, withStemSubset } from './stem-subset';
import type { ModelSummary } from './types';

export interface ModelRegistryOptions {
  modelsDir: string;
  executionProviders: ExecutionProviderName[];
  /** Inference threads in total (0/undefined = one per core). */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** One worker thread per instrument network, threads split between them. */
  parallelInstruments?: boolean;
  precision: 'fp32' | 'fp16' | 'int8';
  batchSegments: number;
  autoDownload: boolean;
  catalogFile: string | null;
  logger: InferenceLogger;
  runtime: OnnxRuntime;
  /** Optional catalog/install back-end (ModelManager); without it only builtins and paths resolve. */
  manager?: ModelManagerPort;
  /** On-disk cache of optimized CPU models (OnnxSessionOptions.optimizedModelCacheDir); null/absent: off. */
  optimizedModelCacheDir?: string | null;
}

/** What the registry needs from the model manager (src/infra/models/model-manager.ts). */
export interface ModelManagerPort {
  init?(): Promise<void>;
  /** Resolves name[@version] to an installed directory and leases it; may install it first (auto-download). */
  resolveForUse(
    ref: string,
    opts?: { onProgress?: ProgressCallback; signal?: AbortSignal },
  ): Promise<{
    name: string;
    version: string;
    dir: string;
    kind: 'spleeter' | 'mdx' | 'builtin';
    precision: 'fp32' | 'fp16' | 'int8' | null;
    release(): Promise<void>;
  }>;
  describe(ref: string): Promise<{ name: string; version?: string; stems: string[] }>;
  list(): Promise<ModelSummary[]>;
}

/** Adapts the ModelManager to the registry's port. */
export function modelManagerPort(manager: ModelManager, autoDownload: boolean): ModelManagerPort {
  return {
    init: () => manager.init(),
    async resolveForUse(ref, opts = {}) {
      const lease = await manager.acquire(ref, {
        signal: opts.signal,
        onProgress: (p) =>
          opts.onProgress?.(0, `installing model: ${p.stage} ${Math.round(p.fraction * 100)}%`),
      });
      return {
        name: lease.name,
        version: lease.version,
        dir: lease.dir ?? '',
        kind: lease.kind,
        precision: lease.precision,
        release: () => lease.release(),
      };
    },
    async describe(ref) {
      const info = await manager.getModel(ref);
      const parsed = parseModelRef(ref).version;
      const version = parsed ? normaliseVersionId(parsed) : undefined;
      if (version && !info.versions.some((v) => v.id === version) && info.kind !== 'builtin') {
        throw new ModelError(
          ErrorCodes.MODEL_NOT_INSTALLED,
          `Model ${info.name}@${version} is not installed`,
          {
            model: ref,
          },
        );
      }
      if (!info.installed && !autoDownload) {
        throw new ModelError(
          ErrorCodes.MODEL_NOT_INSTALLED,
          `Model ${info.name} is not installed and automatic download (models.auto_download) is off`,
          { model: info.name },
        );
      }
      return { name: info.name, version: version ?? info.activeVersion ?? undefined, stems: info.stems };
    },
    async list() {
      return (await manager.listModels()).map((m) => ({
        name: m.name,
        stems: m.stems,
        installed: m.installed,
        source: m.kind === 'builtin' ? 'builtin' : m.source === 'catalog' ? 'catalog' : 'local',
        description: m.description,
        version: m.activeVersion ?? undefined,
      }));
    },
  };
}

export interface OpenOptions {
  mwf: boolean;
  bandwidth: 'model' | 'full';
  stems?: string[];
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
}

export interface OpenedModel {
  name: string;
  version?: string;
  separator: StemSeparator;
  release(): Promise<void>;
}

export class ModelRegistry {
  private readonly loaded = new Map<string, Promise<LoadedSpleeterModel>>();
  private readonly mdxLoaded = new Map<string, Promise<LoadedMdx>>();

  constructor(private readonly options: ModelRegistryOptions) {}

  async init(): Promise<void> {
    await fs.promises.mkdir(this.options.modelsDir, { recursive: true }).catch(() => undefined);
    await this.options.manager?.init?.();
  }

  get manager(): ModelManagerPort | undefined {
    return this.options.manager;
  }

  async list(): Promise<ModelSummary[]> {
    const builtins: ModelSummary[] = BUILTIN_MODELS.map((b) => ({
      name: b.id,
      stems: [...b.stems],
      installed: true,
      source: 'builtin',
      description: b.description,
    }));
    const managed = (await this.options.manager?.list()) ?? [];
    return [...builtins, ...managed.filter((m) => !m.name.startsWith('builtin:'))];
  }

  async describe(ref: string): Promise<{ name: string; version?: string; stems: string[] }> {
    const builtin = BUILTIN_MODELS.find((b) => b.id === ref);
    if (builtin) return { name: builtin.id, stems: [...builtin.stems] };
    if (isPathRef(ref)) {
      const dir = path.resolve(ref);
      if (await isMdxModel(dir)) {
        const { params } = await this.loadMdx(dir);
        return { name: dir, stems: [params.primaryStem, params.secondaryStem] };
      }
      const model = await this.loadSpleeter(dir);
      return { name: dir, stems: [...model.instruments] };
    }
    if (!this.options.manager) throw notInstalled(ref);
    return this.options.manager.describe(ref);
  }

  /**
   * The stems a model writes, found without creating a session (manifest, metadata, catalog), so a
   * request can be refused before seconds of model loading. Null when only loading would tell.
   */
  async stemsOf(ref: string): Promise<string[] | null> {
    const builtin = BUILTIN_MODELS.find((b) => b.id === ref);
    if (builtin) return [...builtin.stems];
    if (isPathRef(ref)) {
      const dir = path.resolve(ref);
      return (await isMdxModel(dir)) ? null : spleeterInstrumentsOf(dir);
    }
    return this.options.manager ? (await this.options.manager.describe(ref)).stems : null;
  }

  async open(ref: string, opts: OpenOptions): Promise<OpenedModel> {
    const builtin = BUILTIN_MODELS.find((b) => b.id === ref);
    if (builtin) {
      return {
        name: builtin.id,
        separator: withStemSubset(createBuiltinSeparator(builtin.id), opts.stems),
        release: async () => undefined,
      };
    }
    if (isPathRef(ref)) {
      const dir = path.resolve(ref);
      if (await isMdxModel(dir)) {
        return { name: dir, separator: await this.mdxSeparator(dir, opts), release: async () => undefined };
      }
      const model = await this.loadSpleeter(dir);
      return { name: dir, separator: this.spleeterSeparator(model, opts), release: async () => undefined };
    }
    if (!this.options.manager) throw notInstalled(ref);
    const resolved = await this.options.manager.resolveForUse(ref, {
      onProgress: opts.onProgress,
      signal: opts.signal,
    });
    try {
      if (resolved.kind === 'builtin') {
        return {
          name: resolved.name,
          version: resolved.version,
          separator: withStemSubset(createBuiltinSeparator(resolved.name), opts.stems),
          release: () => resolved.release(),
        };
      }
      if (resolved.kind === 'mdx') {
        return {
          name: resolved.name,
          version: resolved.version,
          separator: await this.mdxSeparator(resolved.dir, opts),
          release: () => resolved.release(),
        };
      }
      const model = await this.loadSpleeter(resolved.dir, resolved.precision ?? undefined);
      return {
        name: resolved.name,
        version: resolved.version,
        separator: this.spleeterSeparator(model, opts),
        release: () => resolved.release(),
      };
    } catch (err) {
      await resolved.release();
      throw err;
    }
  }

  async dispose(): Promise<void> {
    const mdx = await Promise.allSettled([...this.mdxLoaded.values()]);
    this.mdxLoaded.clear();
    await Promise.all(mdx.map((m) => (m.status === 'fulfilled' ? m.value.release() : undefined)));
    const models = await Promise.allSettled([...this.loaded.values()]);
    this.loaded.clear();
    await Promise.all(models.map((m) => (m.status === 'fulfilled' ? m.value.dispose() : undefined)));
  }

  private spleeterSeparator(model: SegmentModel, opts: OpenOptions): StemSeparator {
    return createSpleeterSeparator(model, {
      mwf: opts.mwf,
      bandwidth: opts.bandwidth,
      stems: opts.stems,
      batchSegments: this.options.batchSegments,
    });
  }

  private async mdxSeparator(location: string, opts: OpenOptions): Promise<StemSeparator> {
    const { params, model, executionProvider } = await this.loadMdx(location);
    const stems = opts.stems?.length
      ? validateStems([params.primaryStem, params.secondaryStem], opts.stems)
      : undefined;
    return new MdxSeparator({ params, model, stems, executionProvider, batchSize: 1 });
  }

  /** An MDX-Net model: an `.onnx` file, or a directory holding one `.onnx` and optionally `mdx.json` (parameters). */
  private loadMdx(location: string): Promise<LoadedMdx> {
    const key = `mdx|${location}`;
    let p = this.mdxLoaded.get(key);
    if (!p) {
      p = (async () => {
        const file = await mdxOnnxFile(location);
        const dir = path.dirname(file);
        const manifestPath = path.join(dir, MDX_MANIFEST_FILE);
        const overrides = fs.existsSync(manifestPath)
          ? mdxOverridesFromManifest(
              JSON.parse(await fs.promises.readFile(manifestPath, 'utf8')) as MdxManifest,
            )
          : {};
        const params = await resolveMdxParams(file, overrides);
        checkMdxSignature(await readOnnxMetadata(file), params);
        const handle = await this.options.runtime.createSession(file, {
          executionProviders: this.options.executionProviders,
          intraOpThreads: this.options.intraOpThreads,
          interOpThreads: this.options.interOpThreads,
          logger: this.options.logger,
          optimizedModelCacheDir: this.options.optimizedModelCacheDir,
        });
        const model = createMdxOnnxModelFn({
          session: handle.session,
          createTensor: (data, dims) => new ort.Tensor('float32', data, dims),
          params,
        });
        return {
          params,
          model,
          executionProvider: handle.executionProvider,
          release: () => handle.release(),
        };
      })();
      this.mdxLoaded.set(key, p);
      p.catch(() => this.mdxLoaded.delete(key));
    }
    return p;
  }

  private loadSpleeter(
    dir: string,
    precisionOverride?: 'fp32' | 'fp16' | 'int8',
  ): Promise<LoadedSpleeterModel> {
    const precision = precisionOverride ?? this.options.precision;
    const key = `${dir}|${precision}`;
    let p = this.loaded.get(key);
    if (!p) {
      p = (async () => {
        const budget = this.options.intraOpThreads || os.availableParallelism();
        const parallel =
          (this.options.parallelInstruments ?? false) && this.options.executionProviders[0] === 'cpu';
        const instruments = parallel ? await countInstruments(dir) : 1;
        return loadSpleeterModel(dir, {
          precision,
          executionProviders: this.options.executionProviders,
          intraOpThreads: parallel ? Math.max(1, Math.floor(budget / instruments)) : budget,
          interOpThreads: this.options.interOpThreads,
          logger: this.options.logger,
          runtime: this.options.runtime,
          parallelism: parallel && instruments > 1 ? 'worker-threads' : 'sequential',
          optimizedModelCacheDir: this.options.optimizedModelCacheDir,
        });
      })();
      this.loaded.set(key, p);
      p.catch(() => this.loaded.delete(key));
    }
    return p;
  }
}

interface LoadedMdx {
  params: MdxModelParams;
  model: MdxModelFn;
  executionProvider: string;
  release(): Promise<void>;
}

function mdxOverridesFromManifest(m: MdxManifest): MdxParamOverrides {
  const p = m.params;
  return {
    dimF: p.dim_f,
    dimT: p.dim_t,
    nFft: p.n_fft,
    hop: p.hop,
    compensate: p.compensate,
    primaryStem: p.primary_stem,
    secondaryStem: p.secondary_stem,
  };
}

async function isMdxModel(location: string): Promise<boolean> {
  const st = await fs.promises.stat(location).catch(() => null);
  if (!st) return false;
  if (st.isFile()) return location.endsWith('.onnx');
  return fs.existsSync(path.join(location, MDX_MANIFEST_FILE));
}

async function mdxOnnxFile(location: string): Promise<string> {
  const st = await fs.promises.stat(location);
  if (st.isFile()) return location;
  const onnx = (await fs.promises.readdir(location)).filter((f) => f.endsWith('.onnx'));
  if (onnx.length !== 1) {
    throw new ModelError(
      ErrorCodes.MODEL_INVALID,
      `Expected exactly one .onnx file in MDX-Net model directory ${location}`,
      {
        path: location,
      },
    );
  }
  return path.join(location, onnx[0]);
}

/** Instruments of a Spleeter model directory, from its manifest, else its ONNX files (sherpa layout). */
async function countInstruments(dir: string): Promise<number> {
  try {
    const manifest = JSON.parse(await fs.promises.readFile(path.join(dir, 'spleeter.json'), 'utf8')) as {
      instruments?: unknown[];
    };
    if (Array.isArray(manifest.instruments) && manifest.instruments.length > 0)
      return manifest.instruments.length;
  } catch {
    // no manifest: count the fp32 files
  }
  const files = await fs.promises.readdir(dir).catch(() => [] as string[]);
  return Math.max(1, files.filter((f) => /^[^.]+\.onnx$/.test(f)).length);
}

function isPathRef(ref: string): boolean {
  if (ref.startsWith('.') || ref.startsWith('/') || ref.includes(path.sep)) return true;
  try {
    return fs.statSync(ref).isDirectory();
  } catch {
    return false;
  }
}

function notInstalled(ref: string): ModelError {
  return new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `Model ${ref} is not installed`, { model: ref });
}
