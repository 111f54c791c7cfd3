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
import * as path from 'path';
import { ErrorCodes, ModelError } from '../core/errors';
import type { StemSeparator } from '../core/separation/types';
import type { ProgressCallback, SegmentModel } from '../core/spleeter/types';
import type { ExecutionProviderName, InferenceLogger, OnnxRuntime } from '../infra/inference/onnx-runtime';
import { loadSpleeterModel, type LoadedSpleeterModel } from '../infra/inference/spleeter-onnx-model';
import { BUILTIN_MODELS, createBuiltinSeparator } from '../core/builtin/builtin-models';
import { createSpleeterSeparator } from './spleeter-separator-adapter';
import { withStemSubset } from './stem-subset';
import type { ModelSummary } from './types';

export interface ModelRegistryOptions {
  modelsDir: string;
  executionProviders: ExecutionProviderName[];
  intraOpThreads?: number;
  interOpThreads?: number;
  precision: 'fp32' | 'fp16' | 'int8';
  batchSegments: number;
  autoDownload: boolean;
  catalogFile: string | null;
  logger: InferenceLogger;
  runtime: OnnxRuntime;
  /** Optional catalog/install back-end (ModelManager); without it only builtins and paths resolve. */
  manager?: ModelManagerPort;
}

/** What the registry needs from the model manager (src/infra/models). */
export interface ModelManagerPort {
  init?(): Promise<void>;
  /** Resolves name[@version] to an installed directory; may install it when auto-download is on. */
  resolveForUse(
    ref: string,
    opts?: { onProgress?: ProgressCallback; signal?: AbortSignal },
  ): Promise<{ name: string; version: string; dir: string; kind: 'spleeter' | 'mdx' | 'builtin'; release(): Promise<void> }>;
  describe(ref: string): Promise<{ name: string; version?: string; stems: string[] }>;
  list(): Promise<ModelSummary[]>;
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
      const model = await this.loadSpleeter(path.resolve(ref));
      return { name: path.resolve(ref), stems: [...model.instruments] };
    }
    if (!this.options.manager) throw notInstalled(ref);
    return this.options.manager.describe(ref);
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
      const model = await this.loadSpleeter(dir);
      return { name: dir, separator: this.spleeterSeparator(model, opts), release: async () => undefined };
    }
    if (!this.options.manager) throw notInstalled(ref);
    const resolved = await this.options.manager.resolveForUse(ref, { onProgress: opts.onProgress, signal: opts.signal });
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
        throw new ModelError(ErrorCodes.MODEL_LOAD_FAILED, `MDX-Net models are not wired into the engine yet: ${ref}`, {
          model: ref,
        });
      }
      const model = await this.loadSpleeter(resolved.dir);
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

  private loadSpleeter(dir: string): Promise<LoadedSpleeterModel> {
    const key = `${dir}|${this.options.precision}`;
    let p = this.loaded.get(key);
    if (!p) {
      p = loadSpleeterModel(dir, {
        precision: this.options.precision,
        executionProviders: this.options.executionProviders,
        intraOpThreads: this.options.intraOpThreads,
        interOpThreads: this.options.interOpThreads,
        logger: this.options.logger,
        runtime: this.options.runtime,
      });
      this.loaded.set(key, p);
      p.catch(() => this.loaded.delete(key));
    }
    return p;
  }
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
