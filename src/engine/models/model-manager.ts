/**
 * ModelManager: the framework-free owner of models on disk. It knows the catalog, installs catalog
 * models (download → verify → extract → convert → validate → commit → activate), accepts uploaded
 * ONNX models, keeps every install as a version with one active version per name, validates
 * versions, and hands models to the engine under a lease so a version in use cannot be removed.
 *
 * Used as is by the CLI and the library API; the Nest ModelsModule wraps one instance.
 * Concurrency: installs of one name share a promise inside a process and a FileLock across
 * processes; every change to a model's directory happens under that lock; new versions appear by
 * rename, so a half-installed model is never visible.
 *
 * This class is the thin front: the work is done by its parts, which share one ModelContext:
 *   model-queries.ts    listing and describing models
 *   model-leases.ts     resolve() and acquire() (leases)
 *   model-installer.ts  catalog installs and uploads (model-sources.ts: download/extract/convert)
 *   model-versions.ts   activate, rollback, remove
 *   model-validator.ts  validation of a version
 */
import type { CatalogEntry, ModelCatalog } from '../../core/models/model-catalog';
import type {
  DownloadModelOptions,
  InstallProgressCallback,
  ModelInfo,
  ModelLease,
  ResolvedModel,
  ValidationReport,
  VersionInfo,
} from '../../core/models/model-types';
import type { ModelStore } from '../../infra/models/model-store';
import { ModelContext } from './model-context';
import { ModelInstaller } from './model-installer';
import { ModelLeases } from './model-leases';
import type {
  InstallResult,
  InstallUploadParams,
  ModelManagerEvents,
  ModelManagerOptions,
} from './model-manager.types';
import { ModelQueries } from './model-queries';
import { ModelSources } from './model-sources';
import { ModelValidator } from './model-validator';
import { ModelVersions } from './model-versions';

export type { InstallResult, InstallUploadParams, ModelManagerEvents, ModelManagerOptions };
export { downloadFileName } from './model-sources';

type ResolveOptions = { onProgress?: InstallProgressCallback; signal?: AbortSignal; autoDownload?: boolean };

export class ModelManager {
  readonly store: ModelStore;
  readonly catalog: ModelCatalog;
  private readonly ctx: ModelContext;
  private readonly queries: ModelQueries;
  private readonly leases: ModelLeases;
  private readonly installer: ModelInstaller;
  private readonly versions: ModelVersions;
  private readonly validator: ModelValidator;

  constructor(opts: ModelManagerOptions) {
    this.ctx = new ModelContext(opts);
    this.store = this.ctx.store;
    this.catalog = this.ctx.catalog;
    this.queries = new ModelQueries(this.ctx);
    this.validator = new ModelValidator(this.ctx);
    this.installer = new ModelInstaller(this.ctx, this.queries, this.validator, new ModelSources(this.ctx));
    this.leases = new ModelLeases(this.ctx, this.installer, this.validator);
    this.versions = new ModelVersions(this.ctx);
  }

  on<K extends keyof ModelManagerEvents>(
    event: K,
    listener: (payload: ModelManagerEvents[K]) => void,
  ): () => void {
    return this.ctx.on(event, listener);
  }

  /** Creates the directory layout and removes staging left by dead processes. Idempotent. */
  init(): Promise<void> {
    return this.ctx.init();
  }

  // ------------------------------------------------------------------ queries

  listCatalog(): CatalogEntry[] {
    return this.queries.listCatalog();
  }

  /** Every known model: catalog entries (installed or not), built-ins and uploaded models. */
  listModels(): Promise<ModelInfo[]> {
    return this.queries.listModels();
  }

  /** Models that can run now without a download: installed versions and built-ins. */
  listLocalModels(): Promise<ModelInfo[]> {
    return this.queries.listLocalModels();
  }

  /** One model (catalog or installed). Throws MODEL_NOT_INSTALLED for a name nobody knows. */
  getModel(nameOrRef: string): Promise<ModelInfo> {
    return this.queries.getModel(nameOrRef);
  }

  // ------------------------------------------------------------------ resolve / leases

  /**
   * `name` (active version) or `name@version` → an installed, usable model. A missing catalog model
   * is installed first when auto-download is on (the caller waits; progress via onProgress);
   * otherwise MODEL_NOT_INSTALLED. A version known to be corrupt is MODEL_INVALID.
   */
  resolve(nameWithVersion: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
    return this.leases.resolve(nameWithVersion, opts);
  }

  /**
   * resolve() + a lease: until release() the version counts as in use (here and, through a lease
   * file, for other processes) and remove() refuses it. The engine wraps each separation in one.
   */
  acquire(nameWithVersion: string, opts: ResolveOptions = {}): Promise<ModelLease> {
    return this.leases.acquire(nameWithVersion, opts);
  }

  /** Leases on `name` (optionally one version) held by this and other live processes. */
  inUse(name: string, version?: string): Promise<number> {
    return this.ctx.inUse(name, version);
  }

  // ------------------------------------------------------------------ install

  /**
   * Installs the catalog model `name` (a new version, made active unless activate=false). Without
   * `force`, an installed model is returned as is. Concurrent calls for one name share the work.
   */
  downloadModel(name: string, opts: DownloadModelOptions = {}): Promise<InstallResult> {
    return this.installer.downloadModel(name, opts);
  }

  /**
   * Installs catalog model `name` from a local copy of its archive/file, or from a directory
   * holding the extracted archive (offline machines). The catalog's size/sha256 are still checked
   * for files; a new version is always created.
   */
  installFromArchive(
    name: string,
    archivePath: string,
    opts: DownloadModelOptions = {},
  ): Promise<InstallResult> {
    return this.installer.installFromArchive(name, archivePath, opts);
  }

  /**
   * Installs an uploaded ONNX model (custom name, not a catalog name) as a new version, validated
   * exactly like a catalog install.
   */
  installCustomOnnx(params: InstallUploadParams): Promise<InstallResult> {
    return this.installer.installCustomOnnx(params);
  }

  // ------------------------------------------------------------------ versions

  /** Makes `version` the active one. It must exist and not be known-invalid. */
  activate(name: string, version: string): Promise<VersionInfo> {
    return this.versions.activate(name, version);
  }

  /** Re-activates the previously active version (the one before the current). */
  rollback(name: string): Promise<VersionInfo> {
    return this.versions.rollback(name);
  }

  /**
   * Removes `name@version`, or every version of `name`. A version in use (leased by a running
   * separation, in any process) is refused with MODEL_IN_USE. Removing the active version makes
   * the previous one active (or leaves the model uninstalled).
   */
  remove(nameWithVersion: string): Promise<{ name: string; removed: string[]; active: string | null }> {
    return this.versions.remove(nameWithVersion);
  }

  // ------------------------------------------------------------------ validation

  /**
   * Validates `name` (active version) or `name@version`: files unchanged since install (sha256),
   * I/O signature against the entry, load + smoke inference with finite outputs. The result is
   * recorded in the version (an invalid version is never used afterwards) and returned; a model
   * that is not installed is MODEL_NOT_INSTALLED.
   */
  validateModel(nameWithVersion: string, opts: { signal?: AbortSignal } = {}): Promise<ValidationReport> {
    return this.validator.validateModel(nameWithVersion, opts);
  }
}
