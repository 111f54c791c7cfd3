/**
 * Turns a model reference into a ready StemSeparator:
 * - `builtin:hpss`, `builtin:center`: DSP models, always available;
 * - a directory path: a Spleeter model in the sherpa-onnx layout (one ONNX file per instrument), or
 *   an MDX-Net model (a directory with `mdx.json`, or an `.onnx` file path);
 * - a catalog name (`spleeter:2stems`, `sherpa:spleeter-2stems@v2`, …): resolved by the
 *   ModelManager in models.dir (installing it first when auto-download is on).
 *
 * Each model kind has one factory (src/engine/families), which caches loaded networks per location
 * (and precision); each `open()` of a catalog model takes a lease so an active
 * version cannot be deleted while a separation uses it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BUILTIN_MODELS } from '../../core/builtin/builtin-models';
import { ErrorCodes, ModelError } from '../../core/errors';
import { parseModelRef, type ModelKind, type ModelPrecision } from '../../core/models/model-catalog';
import { normaliseVersionId } from '../../core/models/model-version';
import { refuseMdxOptions, type MdxOverlap } from '../../core/mdx/mdx-options';
import type { StemSeparator } from '../../core/separation/types';
import type { ProgressCallback } from '../../core/spleeter/types';
import type { ModelManager } from '../models/model-manager';
import { isMdxModel } from '../families/mdx/mdx-family';
import { spleeterInstrumentsOf } from '../families/spleeter/spleeter-onnx-model';
import { createModelFamilies, type FamilyOptions, type ModelFamily } from '../families/model-family';
import type { ModelSummary } from '../types';

export interface ModelRegistryOptions extends FamilyOptions {
  modelsDir: string;
  autoDownload: boolean;
  catalogFile: string | null;
  /** Optional catalog/install back-end (ModelManager); without it only builtins and paths resolve. */
  manager?: ModelManagerPort;
}

/** What the registry needs from the model manager (src/engine/models/model-manager.ts). */
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
    kind: ModelKind;
    precision: ModelPrecision | null;
    release(): Promise<void>;
  }>;
  describe(ref: string): Promise<ModelDescription>;
  list(): Promise<ModelSummary[]>;
}

export interface ModelDescription {
  name: string;
  version?: string;
  stems: string[];
  kind: ModelKind;
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
      return {
        name: info.name,
        version: version ?? info.activeVersion ?? undefined,
        stems: info.stems,
        kind: info.kind,
      };
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
  /** MDX-Net only; any other model refuses them (OPTION_NOT_SUPPORTED). */
  overlap?: MdxOverlap;
  denoise?: boolean;
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
  private readonly families: Record<ModelKind, ModelFamily>;

  constructor(private readonly options: ModelRegistryOptions) {
    this.families = createModelFamilies(options);
  }

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

  async describe(ref: string): Promise<ModelDescription> {
    const builtin = BUILTIN_MODELS.find((b) => b.id === ref);
    if (builtin) return { name: builtin.id, stems: [...builtin.stems], kind: 'builtin' };
    if (isPathRef(ref)) {
      const dir = path.resolve(ref);
      const kind = await pathKind(dir);
      return { name: dir, stems: await this.families[kind].stems(dir), kind };
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
      refuseMdxOptions({ name: builtin.id, kind: 'builtin' }, opts);
      return {
        name: builtin.id,
        separator: await this.families.builtin.separator(builtin.id, opts),
        release: async () => undefined,
      };
    }
    if (isPathRef(ref)) {
      const dir = path.resolve(ref);
      const kind = await pathKind(dir);
      refuseMdxOptions({ name: ref, kind }, opts);
      const separator = await this.families[kind].separator(dir, opts);
      return { name: dir, separator, release: async () => undefined };
    }
    if (!this.options.manager) throw notInstalled(ref);
    const resolved = await this.options.manager.resolveForUse(ref, {
      onProgress: opts.onProgress,
      signal: opts.signal,
    });
    try {
      refuseMdxOptions(resolved, opts);
      const location = resolved.kind === 'builtin' ? resolved.name : resolved.dir;
      return {
        name: resolved.name,
        version: resolved.version,
        separator: await this.families[resolved.kind].separator(location, {
          ...opts,
          precision: resolved.precision ?? undefined,
        }),
        release: () => resolved.release(),
      };
    } catch (err) {
      await resolved.release();
      throw err;
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(Object.values(this.families).map((f) => f.dispose()));
  }
}

/** The family of a model given by path: MDX-Net when it looks like one, else Spleeter. */
async function pathKind(location: string): Promise<ModelKind> {
  return (await isMdxModel(location)) ? 'mdx' : 'spleeter';
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
