/**
 * The state every part of the ModelManager shares (store, catalog, options, events, in-process
 * lease counts) and the small helpers more than one part needs: names, version descriptions,
 * the model state lock, activation and install progress.
 */
import { EventEmitter } from 'events';
import { ErrorCodes, ModelError, ValidationError } from '../../core/errors';
import { BUILTIN_MODELS, BUILTIN_VERSION } from '../../core/models/builtin-models';
import { CatalogEntry, ModelCatalog, ModelPrecision, parseModelRef } from '../../core/models/model-catalog';
import type {
  InstallProgress,
  InstallProgressCallback,
  InstallStage,
  ModelManagerLogger,
  ModelRuntime,
  ResolvedModel,
  VersionInfo,
} from '../../core/models/model-types';
import type { VersionRecord } from '../../core/models/model-version';
import { ArchiveExtractor } from '../../infra/models/archive-extractor';
import { FileLock } from '../../infra/models/file-lock';
import { HttpDownloader } from '../../infra/models/http-downloader';
import { ModelStore } from '../../infra/models/model-store';
import { pruneOrphanedOptimizedModels } from '../../infra/onnx/optimized-model-orphans';
import type { ModelManagerEvents, ModelManagerOptions } from './model-manager.types';

/** Stage → [start, end] of the overall fraction. */
const STAGE_SPAN: Record<InstallStage, [number, number]> = {
  queued: [0, 0],
  'waiting-for-lock': [0, 0],
  downloading: [0, 0.7],
  verifying: [0.7, 0.72],
  extracting: [0.72, 0.8],
  converting: [0.8, 0.9],
  validating: [0.9, 0.98],
  activating: [0.98, 1],
  done: [1, 1],
};

const silentLogger: ModelManagerLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Reports install progress of one model (stage + fraction of the stage), see progressReporter. */
export type ProgressReporter = ReturnType<ModelContext['progressReporter']>;

export class ModelContext {
  readonly store: ModelStore;
  readonly catalog: ModelCatalog;
  readonly autoDownload: boolean;
  readonly precision: ModelPrecision;
  readonly downloader: HttpDownloader;
  readonly extractor: ArchiveExtractor;
  private runtimeInstance: ModelRuntime | undefined;
  readonly clock: () => Date;
  readonly logger: ModelManagerLogger;
  readonly lockStaleMs: number;
  private readonly events = new EventEmitter();
  /** In-process lease counts by `name@version` (the on-disk leases serve other processes). */
  readonly leaseCounts = new Map<string, number>();
  private initialised: Promise<void> | null = null;
  private readonly optimizedModelCacheDir: string | null;

  constructor(opts: ModelManagerOptions) {
    this.store = new ModelStore(opts.modelsDir);
    this.catalog = opts.catalog.withDefaults(BUILTIN_MODELS);
    this.autoDownload = opts.autoDownload ?? false;
    this.precision = opts.precision ?? 'fp32';
    this.downloader = opts.downloader ?? new HttpDownloader();
    this.extractor = opts.extractor ?? new ArchiveExtractor();
    this.runtimeInstance = opts.runtime;
    this.clock = opts.clock ?? (() => new Date());
    this.logger = opts.logger ?? silentLogger;
    this.optimizedModelCacheDir = opts.optimizedModelCacheDir ?? null;
    this.lockStaleMs = opts.lockStaleMs ?? 60_000;
    this.events.setMaxListeners(0);
  }

  /** Creates the directory layout and removes staging left by dead processes. Idempotent. */
  init(): Promise<void> {
    this.initialised ??= (async () => {
      await this.store.init();
      await this.store.cleanupDownloads();
      const removed = await this.store.cleanupTmp();
      if (removed > 0)
        this.logger.log(`removed ${removed} stale temporary item(s) from ${this.store.tmpDir}`);
      await this.pruneOptimizedModels();
    })();
    return this.initialised;
  }

  /** Deletes the optimized-model cache's entries of models that are gone. Best effort. */
  async pruneOptimizedModels(): Promise<void> {
    if (!this.optimizedModelCacheDir) return;
    try {
      const { models, files, bytes } = await pruneOrphanedOptimizedModels(this.optimizedModelCacheDir);
      if (files > 0)
        this.logger.log(
          `removed the optimized forms of ${models.length} model file(s) that are gone (${files} files, ${(bytes / 2 ** 20).toFixed(1)} MiB)`,
        );
    } catch (err) {
      this.logger.warn(`could not prune the optimized-model cache: ${(err as Error).message}`);
    }
  }

  async runtime(): Promise<ModelRuntime> {
    if (!this.runtimeInstance) {
      // Loaded lazily: listing models must not load onnxruntime.
      const { DefaultModelRuntime } = await import('./default-model-runtime');
      this.runtimeInstance = new DefaultModelRuntime();
    }
    return this.runtimeInstance;
  }

  on<K extends keyof ModelManagerEvents>(
    event: K,
    listener: (payload: ModelManagerEvents[K]) => void,
  ): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  emit<K extends keyof ModelManagerEvents>(event: K, payload: ModelManagerEvents[K]): void {
    try {
      this.events.emit(event, payload);
    } catch (err) {
      this.logger.warn(`model event listener for ${event} threw: ${(err as Error).message}`);
    }
  }

  canonicalName(name: string): string {
    return this.catalog.get(name)?.name ?? name;
  }

  unknownModel(name: string): ModelError {
    return new ModelError(
      ErrorCodes.MODEL_NOT_INSTALLED,
      `Unknown model '${name}': not in the catalog and not installed`,
      {
        model: name,
        available: this.catalog.entries.map((e) => e.name),
      },
    );
  }

  versionInfo(r: VersionRecord, active: string | null, inUse: number): VersionInfo {
    return {
      id: r.id,
      active: r.id === active,
      origin: r.origin,
      sourceUrl: r.source.url,
      sha256: r.source.sha256,
      installedAt: r.installedAt,
      size: r.size,
      format: r.format,
      stems: r.stems,
      precision: r.precision,
      validation: r.validation.status,
      inUse,
    };
  }

  /** Leases on `name` (optionally one version) held by this and other live processes. */
  async inUse(name: string, version?: string): Promise<number> {
    return (await this.store.liveLeases(this.canonicalName(name), version)).length;
  }

  builtinResolved(entry: CatalogEntry): ResolvedModel {
    return {
      name: entry.name,
      version: BUILTIN_VERSION,
      ref: `${entry.name}@${BUILTIN_VERSION}`,
      kind: 'builtin',
      source: 'builtin',
      dir: null,
      entry,
      stems: entry.stems,
      sampleRate: entry.sample_rate,
      precision: null,
      record: null,
    };
  }

  resolvedFromRecord(record: VersionRecord, dir?: string): ResolvedModel {
    return {
      name: record.name,
      version: record.id,
      ref: `${record.name}@${record.id}`,
      kind: record.kind,
      source: record.origin === 'upload' ? 'custom' : 'catalog',
      dir: dir ?? this.store.versionDir(record.name, record.id),
      entry: record.entry,
      stems: record.stems,
      sampleRate: record.sampleRate,
      precision: record.precision,
      record,
    };
  }

  stateLock(name: string, purpose: string) {
    return FileLock.acquire(this.store.lockPath(name, 'state'), { staleMs: this.lockStaleMs, purpose });
  }

  async setActive(name: string, version: string, history?: string[]): Promise<string | null> {
    const prev = await this.store.readActive(name);
    const nextHistory =
      history ?? (prev && prev.version !== version ? [...prev.history, prev.version] : (prev?.history ?? []));
    await this.store.writeActive(name, {
      version,
      history: nextHistory.filter((v) => v !== version).slice(-50),
      activatedAt: this.clock().toISOString(),
    });
    this.emit('activated', { name, version, previous: prev?.version ?? null });
    return prev?.version ?? null;
  }

  requireVersioned(name: string): string {
    const canonical = this.canonicalName(parseModelRef(name).name);
    if (this.catalog.get(canonical)?.kind === 'builtin') {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `${canonical} is built in and has no versions to manage`,
        {
          model: canonical,
        },
      );
    }
    return canonical;
  }

  progressReporter(name: string, cb?: InstallProgressCallback) {
    return (stage: InstallStage, stageFraction: number, extra: Partial<InstallProgress> = {}) => {
      const [a, b] = STAGE_SPAN[stage];
      const f = Math.min(1, Math.max(0, stageFraction));
      const p: InstallProgress = { name, stage, fraction: a + (b - a) * f, ...extra };
      try {
        cb?.(p);
      } catch (err) {
        this.logger.warn(`install progress callback threw: ${(err as Error).message}`);
      }
      this.emit('install.progress', p);
    };
  }
}
