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
 */
import { EventEmitter } from 'events';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { ErrorCodes, ModelError, SpleeterError, ValidationError } from '../../core/errors';
import { BUILTIN_MODELS, BUILTIN_VERSION } from '../../core/models/builtin-models';
import {
  CatalogEntry,
  CatalogSource,
  ModelCatalog,
  ModelPrecision,
  customManifestToEntry,
  entryArchiveType,
  formatModelRef,
  parseCustomModelManifest,
  parseModelRef,
} from '../../core/models/model-catalog';
import {
  ValidationCheck,
  check,
  checkMdxSignature,
  checkSpleeterSignature,
} from '../../core/models/model-signature';
import type {
  DownloadModelOptions,
  InstallProgress,
  InstallProgressCallback,
  InstallStage,
  ModelInfo,
  ModelLease,
  ModelManagerLogger,
  ModelRuntime,
  ResolvedModel,
  ValidationReport,
  VersionInfo,
} from '../../core/models/model-types';
import { VersionRecord, VERSION_SCHEMA, normaliseVersionId } from '../../core/models/model-version';
import { readOnnxMetadata } from '../../core/onnx/onnx-metadata-reader';
import { ArchiveExtractor } from '../../infra/models/archive-extractor';
import { FileLock, type LockInfo } from '../../infra/models/file-lock';
import { HttpDownloader } from '../../infra/models/http-downloader';
import {
  MDX_MODEL_FILE,
  findCheckpointDirs,
  findFile,
  spleeterStemFiles,
  writeMdxManifest,
  writeSpleeterManifest,
} from '../../infra/models/model-files';
import { ModelStore, sha256File } from '../../infra/models/model-store';

export interface ModelManagerOptions {
  modelsDir: string;
  catalog: ModelCatalog;
  /** Install a catalog model on first use (resolve/acquire) instead of MODEL_NOT_INSTALLED. */
  autoDownload?: boolean;
  /** Precision of ONNX files produced by converting official checkpoints. */
  precision?: ModelPrecision;
  downloader?: HttpDownloader;
  extractor?: ArchiveExtractor;
  /** Loading/conversion/smoke inference. Default: DefaultModelRuntime (onnxruntime-node). */
  runtime?: ModelRuntime;
  clock?: () => Date;
  logger?: ModelManagerLogger;
  /** A lock not refreshed for this long is treated as abandoned (crashed installer). Default 60 s. */
  lockStaleMs?: number;
}

export interface InstallResult {
  name: string;
  version: string;
  /** False when an existing active version was returned (no force, already installed). */
  installed: boolean;
  info: VersionInfo;
}

export interface InstallUploadParams {
  /** Upload manifest (object or JSON string), see customModelManifestSchema. */
  manifest: unknown;
  /** Uploaded files: `name` is the file name the manifest refers to, `path` where it lies now. */
  files: { name: string; path: string }[];
  activate?: boolean;
  /**
   * The files are handed over (temp files of an upload): moved into the model on success, deleted
   * whatever the outcome. Otherwise they are copied and left alone.
   */
  move?: boolean;
  onProgress?: InstallProgressCallback;
  signal?: AbortSignal;
}

export interface ModelManagerEvents {
  'install.started': { name: string };
  'install.progress': InstallProgress;
  installed: { name: string; version: string; durationMs: number };
  'install.failed': { name: string; error: Error; durationMs: number };
  activated: { name: string; version: string; previous: string | null };
  removed: { name: string; version: string };
  validated: ValidationReport;
}

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

export class ModelManager {
  readonly store: ModelStore;
  readonly catalog: ModelCatalog;
  private readonly autoDownload: boolean;
  private readonly precision: ModelPrecision;
  private readonly downloader: HttpDownloader;
  private readonly extractor: ArchiveExtractor;
  private runtimeInstance: ModelRuntime | undefined;
  private readonly clock: () => Date;
  private readonly logger: ModelManagerLogger;
  private readonly lockStaleMs: number;
  private readonly events = new EventEmitter();
  /** In-process installs by model name: concurrent callers share one promise. */
  private readonly inflight = new Map<string, Promise<InstallResult>>();
  /** In-process lease counts by `name@version` (the on-disk leases serve other processes). */
  private readonly leaseCounts = new Map<string, number>();
  private initialised: Promise<void> | null = null;

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
    this.lockStaleMs = opts.lockStaleMs ?? 60_000;
    this.events.setMaxListeners(0);
  }

  on<K extends keyof ModelManagerEvents>(
    event: K,
    listener: (payload: ModelManagerEvents[K]) => void,
  ): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  private emit<K extends keyof ModelManagerEvents>(event: K, payload: ModelManagerEvents[K]): void {
    try {
      this.events.emit(event, payload);
    } catch (err) {
      this.logger.warn(`model event listener for ${event} threw: ${(err as Error).message}`);
    }
  }

  /** Creates the directory layout and removes staging left by dead processes. Idempotent. */
  init(): Promise<void> {
    this.initialised ??= (async () => {
      await this.store.init();
      await this.store.cleanupDownloads();
      const removed = await this.store.cleanupTmp();
      if (removed > 0)
        this.logger.log(`removed ${removed} stale temporary item(s) from ${this.store.tmpDir}`);
    })();
    return this.initialised;
  }

  private async runtime(): Promise<ModelRuntime> {
    if (!this.runtimeInstance) {
      // Loaded lazily: listing models must not load onnxruntime.
      const { DefaultModelRuntime } = await import('./default-model-runtime');
      this.runtimeInstance = new DefaultModelRuntime();
    }
    return this.runtimeInstance;
  }

  // ------------------------------------------------------------------ queries

  listCatalog(): CatalogEntry[] {
    return [...this.catalog.entries];
  }

  /** Every known model: catalog entries (installed or not), built-ins and uploaded models. */
  async listModels(): Promise<ModelInfo[]> {
    await this.init();
    const names = new Set<string>(this.catalog.entries.map((e) => e.name));
    for (const n of await this.store.listModelNames()) names.add(n);
    const out: ModelInfo[] = [];
    for (const n of names) {
      const info = await this.describe(n);
      if (info) out.push(info);
    }
    return out;
  }

  /** Models that can run now without a download: installed versions and built-ins. */
  async listLocalModels(): Promise<ModelInfo[]> {
    return (await this.listModels()).filter((m) => m.installed);
  }

  /** One model (catalog or installed). Throws MODEL_NOT_INSTALLED for a name nobody knows. */
  async getModel(nameOrRef: string): Promise<ModelInfo> {
    await this.init();
    const { name } = parseModelRef(nameOrRef);
    const info = await this.describe(this.canonicalName(name));
    if (!info) throw this.unknownModel(name);
    return info;
  }

  private canonicalName(name: string): string {
    return this.catalog.get(name)?.name ?? name;
  }

  private unknownModel(name: string): ModelError {
    return new ModelError(
      ErrorCodes.MODEL_NOT_INSTALLED,
      `Unknown model '${name}': not in the catalog and not installed`,
      {
        model: name,
        available: this.catalog.entries.map((e) => e.name),
      },
    );
  }

  private async describe(name: string): Promise<ModelInfo | null> {
    const entry = this.catalog.get(name);
    const records = entry?.kind === 'builtin' ? [] : await this.store.listVersions(name);
    if (!entry && records.length === 0) return null;
    const active = await this.store.readActive(name);
    const latest = records[records.length - 1];
    const base = entry ?? latest!.entry;
    const leases = records.length ? await this.store.liveLeases(name) : [];
    const versions: VersionInfo[] =
      base.kind === 'builtin'
        ? [
            {
              id: BUILTIN_VERSION,
              active: true,
              origin: 'builtin',
              sourceUrl: null,
              sha256: null,
              installedAt: null,
              size: 0,
              format: 'builtin',
              stems: base.stems,
              precision: null,
              validation: 'unchecked',
              inUse: this.leaseCounts.get(`${name}@${BUILTIN_VERSION}`) ?? 0,
            },
          ]
        : records.map((r) =>
            this.versionInfo(r, active?.version ?? null, leases.filter((l) => l.version === r.id).length),
          );
    const activeVersion = base.kind === 'builtin' ? BUILTIN_VERSION : (active?.version ?? null);
    const activeRecord = records.find((r) => r.id === activeVersion);
    return {
      name,
      kind: base.kind,
      source: base.kind === 'builtin' ? 'builtin' : entry ? 'catalog' : 'custom',
      description: base.description,
      stems: activeRecord?.stems ?? base.stems,
      sampleRate: base.sample_rate,
      license: base.license,
      format: base.format,
      installed:
        base.kind === 'builtin' ||
        (activeRecord !== undefined && activeRecord.validation.status !== 'invalid'),
      activeVersion: base.kind === 'builtin' || activeRecord ? activeVersion : null,
      versions,
      downloadSize: entry?.sources[0]?.size ?? null,
      aliases: entry?.aliases ?? [],
    };
  }

  private versionInfo(r: VersionRecord, active: string | null, inUse: number): VersionInfo {
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

  // ------------------------------------------------------------------ resolve / leases

  /**
   * `name` (active version) or `name@version` → an installed, usable model. A missing catalog model
   * is installed first when auto-download is on (the caller waits; progress via onProgress);
   * otherwise MODEL_NOT_INSTALLED. A version known to be corrupt is MODEL_INVALID.
   */
  async resolve(
    nameWithVersion: string,
    opts: { onProgress?: InstallProgressCallback; signal?: AbortSignal; autoDownload?: boolean } = {},
  ): Promise<ResolvedModel> {
    await this.init();
    const ref = parseModelRef(nameWithVersion);
    const name = this.canonicalName(ref.name);
    const entry = this.catalog.get(name);
    if (entry?.kind === 'builtin') {
      if (ref.version && ref.version !== BUILTIN_VERSION) {
        throw new ModelError(
          ErrorCodes.MODEL_NOT_INSTALLED,
          `${name} has only the version '${BUILTIN_VERSION}'`,
          {
            model: name,
          },
        );
      }
      return this.builtinResolved(entry);
    }
    let version = ref.version
      ? normaliseVersionId(ref.version)
      : (await this.store.readActive(name))?.version;
    if (!version) {
      const auto = opts.autoDownload ?? this.autoDownload;
      if (!entry) throw this.unknownModel(name);
      if (!auto) {
        throw new ModelError(
          ErrorCodes.MODEL_NOT_INSTALLED,
          `Model ${name} is not installed and automatic download (models.auto_download) is off`,
          { model: name },
        );
      }
      const res = await this.downloadModel(name, { onProgress: opts.onProgress, signal: opts.signal });
      version = res.version;
    }
    const record = await this.store.readVersion(name, version);
    if (!record) {
      throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `Model ${name}@${version} is not installed`, {
        model: formatModelRef({ name, version }),
      });
    }
    if (record.validation.status === 'invalid') {
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        `Model ${name}@${version} failed validation (${record.validation.problems.join('; ') || 'see validate'}); it is not used`,
        { model: `${name}@${version}` },
      );
    }
    // A cheap size check on every use catches truncated/replaced files; the deep sha256 check is validateModel.
    const problems = await this.store.checkFiles(name, record, false);
    if (problems.length > 0) {
      await this.markInvalid(name, version, [`corrupted: ${problems.join('; ')}`]);
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        `Model ${name}@${version} is corrupted: ${problems.join('; ')}`,
        {
          model: `${name}@${version}`,
        },
      );
    }
    return this.resolvedFromRecord(record);
  }

  /**
   * resolve() + a lease: until release() the version counts as in use (here and, through a lease
   * file, for other processes) and remove() refuses it. The engine wraps each separation in one.
   */
  async acquire(
    nameWithVersion: string,
    opts: { onProgress?: InstallProgressCallback; signal?: AbortSignal; autoDownload?: boolean } = {},
  ): Promise<ModelLease> {
    for (let attempt = 0; ; attempt++) {
      const resolved = await this.resolve(nameWithVersion, opts);
      const key = resolved.ref;
      if (resolved.kind === 'builtin') return this.lease(resolved, key, async () => undefined);
      const dropFile = await this.store.addLease(resolved.name, resolved.version);
      // remove() renames the version away before it checks leases: if the directory is still
      // here after our lease exists, a concurrent remove will see the lease and back off.
      const still = await fs.stat(resolved.dir!).catch(() => null);
      if (still) return this.lease(resolved, key, dropFile);
      await dropFile();
      if (attempt >= 3) {
        throw new ModelError(
          ErrorCodes.MODEL_NOT_INSTALLED,
          `Model ${key} was removed while being acquired`,
          {
            model: key,
          },
        );
      }
      await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
    }
  }

  private lease(resolved: ResolvedModel, key: string, dropFile: () => Promise<void>): ModelLease {
    this.leaseCounts.set(key, (this.leaseCounts.get(key) ?? 0) + 1);
    let released = false;
    return {
      ...resolved,
      release: async () => {
        if (released) return;
        released = true;
        const n = (this.leaseCounts.get(key) ?? 1) - 1;
        if (n <= 0) this.leaseCounts.delete(key);
        else this.leaseCounts.set(key, n);
        await dropFile();
      },
    };
  }

  /** Leases on `name` (optionally one version) held by this and other live processes. */
  async inUse(name: string, version?: string): Promise<number> {
    return (await this.store.liveLeases(this.canonicalName(name), version)).length;
  }

  private builtinResolved(entry: CatalogEntry): ResolvedModel {
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

  private resolvedFromRecord(record: VersionRecord, dir?: string): ResolvedModel {
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

  // ------------------------------------------------------------------ install

  /**
   * Installs the catalog model `name` (a new version, made active unless activate=false). Without
   * `force`, an installed model is returned as is. Concurrent calls for one name share the work.
   */
  downloadModel(name: string, opts: DownloadModelOptions = {}): Promise<InstallResult> {
    const canonical = this.canonicalName(parseModelRef(name).name);
    const existing = this.inflight.get(canonical);
    if (existing) {
      if (opts.onProgress) {
        const off = this.on('install.progress', (p) => p.name === canonical && opts.onProgress!(p));
        existing.finally(off).catch(() => undefined);
      }
      return existing;
    }
    const p = this.runInstall(canonical, opts).finally(() => this.inflight.delete(canonical));
    this.inflight.set(canonical, p);
    return p;
  }

  /**
   * Installs catalog model `name` from a local copy of its archive/file, or from a directory
   * holding the extracted archive (offline machines). The catalog's size/sha256 are still checked
   * for files; a new version is always created.
   */
  async installFromArchive(
    name: string,
    archivePath: string,
    opts: DownloadModelOptions = {},
  ): Promise<InstallResult> {
    const canonical = this.canonicalName(parseModelRef(name).name);
    return this.runInstall(canonical, { ...opts, force: true }, path.resolve(archivePath));
  }

  private async runInstall(
    name: string,
    opts: DownloadModelOptions,
    localFile?: string,
  ): Promise<InstallResult> {
    await this.init();
    const entry = this.catalog.get(name);
    if (!entry) throw this.unknownModel(name);
    if (entry.kind === 'builtin') {
      return {
        name,
        version: BUILTIN_VERSION,
        installed: false,
        info: (await this.describe(name))!.versions[0],
      };
    }
    if (!opts.force && !localFile) {
      const ready = await this.usableActive(name);
      if (ready)
        return { name, version: ready.id, installed: false, info: this.versionInfo(ready, ready.id, 0) };
    }
    const started = Date.now();
    const progress = this.progressReporter(name, opts.onProgress);
    progress('queued', 0);
    this.emit('install.started', { name });
    const lockOptions = {
      signal: opts.signal,
      purpose: `install ${name}`,
      onWait: (holder: LockInfo | null) =>
        progress('waiting-for-lock', 0, {
          message: `another install holds the lock (pid ${holder?.pid ?? '?'})`,
        }),
    };
    return this.underInstallLock(name, started, lockOptions, async (stage) => {
      if (!opts.force) {
        // Another process may have installed it while we waited for the lock.
        const ready = await this.usableActive(name);
        if (ready) {
          progress('done', 1);
          return { name, version: ready.id, installed: false, info: this.versionInfo(ready, ready.id, 0) };
        }
      }
      const { staging, modelDir } = await stage();
      const { source, file, sha256 } = localFile
        ? await this.useLocalFile(entry, localFile, progress)
        : await this.fetchSource(entry, staging, progress, opts.signal);
      const precision = await this.prepareModelDir(
        entry,
        source,
        file,
        staging,
        modelDir,
        progress,
        opts.signal,
      );
      const record = await this.buildRecord({
        name,
        entry,
        origin: 'catalog',
        modelDir,
        precision,
        source: {
          url: localFile ? null : source.url,
          sha256,
          expectedSha256: source.sha256,
          size: source.size,
        },
      });
      progress('validating', 0);
      return this.validateAndCommit(
        name,
        modelDir,
        record,
        opts.activate ?? true,
        progress,
        started,
        opts.signal,
      );
    });
  }

  /**
   * Runs an install under the model's install lock. `stage()` creates the staging directory (and
   * its model/ folder), which is removed afterwards whatever happens; a failure is reported as
   * 'install.failed'.
   */
  private async underInstallLock<T>(
    name: string,
    started: number,
    lockOptions: { signal?: AbortSignal; purpose: string; onWait?: (holder: LockInfo | null) => void },
    body: (stage: () => Promise<{ staging: string; modelDir: string }>) => Promise<T>,
  ): Promise<T> {
    const lock = await FileLock.acquire(this.store.lockPath(name, 'install'), {
      staleMs: this.lockStaleMs,
      ...lockOptions,
    });
    let staging: string | null = null;
    try {
      return await body(async () => {
        const dir = await this.store.makeStagingDir(name);
        staging = dir;
        const modelDir = path.join(dir, 'model');
        await fs.mkdir(modelDir);
        return { staging: dir, modelDir };
      });
    } catch (err) {
      this.emit('install.failed', { name, error: err as Error, durationMs: Date.now() - started });
      throw err;
    } finally {
      if (staging) await fs.rm(staging, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      await lock.release();
    }
  }

  /** The common end of every install: validate the staged files, commit the version, report it. */
  private async validateAndCommit(
    name: string,
    modelDir: string,
    record: VersionRecord,
    activate: boolean,
    progress: Parameters<ModelManager['commit']>[3],
    started: number,
    signal?: AbortSignal,
  ): Promise<InstallResult> {
    const report = await this.validateDir(this.resolvedFromRecord(record, modelDir), record, signal);
    if (!report.valid) throw this.invalidError(name, report.checks);
    record.validation = { status: 'valid', checkedAt: this.clock().toISOString(), problems: [] };
    const version = await this.commit(modelDir, record, activate, progress);
    const durationMs = Date.now() - started;
    this.logger.log(`installed ${name}@${version} (${record.size} bytes) in ${durationMs} ms`);
    this.emit('installed', { name, version, durationMs });
    progress('done', 1);
    const active = await this.store.readActive(name);
    return { name, version, installed: true, info: this.versionInfo(record, active?.version ?? null, 0) };
  }

  private async usableActive(name: string): Promise<VersionRecord | null> {
    const active = await this.store.readActive(name);
    const rec = active ? await this.store.readVersion(name, active.version) : null;
    return rec && rec.validation.status !== 'invalid' ? rec : null;
  }

  /**
   * Downloads the first source that works (resumable, in .downloads) and moves the verified file
   * into `staging`, so nothing outlives a failed install except a resumable partial download.
   */
  private async fetchSource(
    entry: CatalogEntry,
    staging: string,
    progress: ReturnType<ModelManager['progressReporter']>,
    signal?: AbortSignal,
  ): Promise<{ source: CatalogSource; file: string; sha256: string }> {
    let lastError: unknown = null;
    for (const source of entry.sources) {
      const dest = path.join(this.store.downloadsDir, downloadFileName(source.url));
      // Two models can share one archive (2stems and 2stems-16kHz): one download at a time per file.
      const lock = await FileLock.acquire(`${dest}.lock`, {
        staleMs: this.lockStaleMs,
        signal,
        purpose: 'download',
      });
      try {
        progress('downloading', 0, { totalBytes: source.size });
        const result = await this.downloader.download({
          url: source.url,
          dest,
          expectedSize: source.size,
          sha256: source.sha256,
          md5Tail: source.md5_tail,
          signal,
          onProgress: (p) =>
            progress('downloading', p.totalBytes ? p.bytes / p.totalBytes : 0, {
              bytes: p.bytes,
              totalBytes: p.totalBytes,
              bytesPerSecond: p.bytesPerSecond,
              resumedFrom: p.resumedFrom || undefined,
            }),
        });
        progress('verifying', 1, { bytes: result.size, totalBytes: result.size });
        const file = path.join(staging, `download-${path.basename(dest)}`);
        await fs.rename(dest, file);
        return { source, file, sha256: result.sha256 };
      } catch (err) {
        lastError = err;
        // A checksum mismatch from one mirror is worth trying the next; so is a dead mirror.
        if (signal?.aborted) throw err;
        this.logger.warn(`download of ${source.url} failed: ${(err as Error).message}`);
      } finally {
        await lock.release();
      }
    }
    throw lastError instanceof Error
      ? lastError
      : new ModelError(ErrorCodes.MODEL_DOWNLOAD_FAILED, `No source for ${entry.name}`, {
          model: entry.name,
        });
  }

  private async useLocalFile(
    entry: CatalogEntry,
    file: string,
    progress: ReturnType<ModelManager['progressReporter']>,
  ): Promise<{ source: CatalogSource; file: string; sha256: string | null }> {
    const source = entry.sources[0];
    progress('verifying', 0);
    const st = await fs.stat(file).catch(() => null);
    if (st?.isDirectory() && entry.format !== 'onnx') {
      // An already-extracted archive (e.g. `tar xzf 2stems.tar.gz` done by hand): nothing to
      // checksum; the conversion and the validation still guard it.
      progress('verifying', 1);
      return { source, file, sha256: null };
    }
    if (!st?.isFile())
      throw new ValidationError(ErrorCodes.FILE_NOT_FOUND, `No such file: ${file}`, { field: 'file' });
    const sha256 = await sha256File(file);
    const mismatch = (what: string, expected: unknown, actual: unknown) =>
      new ModelError(ErrorCodes.MODEL_CHECKSUM_MISMATCH, `${file}: ${what} mismatch for ${entry.name}`, {
        check: what,
        expected,
        actual,
      });
    if (source.size != null && st.size !== source.size) throw mismatch('size', source.size, st.size);
    if (source.sha256 && sha256 !== source.sha256) throw mismatch('sha256', source.sha256, sha256);
    progress('verifying', 1);
    return { source, file, sha256 };
  }

  /** Turns the verified download into the files of a version; returns the precision of its files. */
  private async prepareModelDir(
    entry: CatalogEntry,
    source: CatalogSource,
    file: string,
    staging: string,
    modelDir: string,
    progress: ReturnType<ModelManager['progressReporter']>,
    signal?: AbortSignal,
  ): Promise<ModelPrecision | null> {
    if (entry.format === 'onnx') {
      // A downloaded file already lies in staging (move it); a local file is the user's (copy it).
      if (path.dirname(file) === staging) await fs.rename(file, path.join(modelDir, MDX_MODEL_FILE));
      else await fs.copyFile(file, path.join(modelDir, MDX_MODEL_FILE));
      if (entry.kind === 'mdx') await writeMdxManifest(modelDir, entry);
      return null;
    }
    const type = entryArchiveType(entry, source);
    if (!type)
      throw new ModelError(ErrorCodes.MODEL_INVALID, `Unknown archive type for ${source.url}`, {
        model: entry.name,
      });
    // A directory given to installFromArchive is the user's: read from it, never move or delete.
    const userDir = (await fs.stat(file)).isDirectory();
    const extractDir = userDir ? file : path.join(staging, 'extract');
    if (!userDir) {
      progress('extracting', 0);
      await this.extractor.extract(file, type, extractDir, {
        signal,
        onProgress: (done, total) => progress('extracting', total > 0 ? done / total : 0),
      });
    }
    const sp = entry.spleeter!;
    if (entry.format === 'onnx-archive') {
      const precision = sp.precision ?? 'fp32';
      const files: Record<string, string> = {};
      for (const [stem, fileName] of Object.entries(sp.files!)) {
        const found = await findFile(extractDir, fileName);
        if (!found) {
          throw new ModelError(
            ErrorCodes.MODEL_INVALID,
            `${path.basename(file)} has no ${fileName} (stem ${stem})`,
            {
              model: entry.name,
            },
          );
        }
        if (userDir) await fs.copyFile(found, path.join(modelDir, fileName));
        else await fs.rename(found, path.join(modelDir, fileName));
        files[stem] = fileName;
      }
      await writeSpleeterManifest(modelDir, entry, precision, files, {
        url: source.url,
        type: 'onnx-archive',
      });
      return precision;
    }
    // tf-checkpoint: convert with the configured precision.
    const dirs = await findCheckpointDirs(extractDir);
    if (dirs.length !== 1) {
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        dirs.length === 0
          ? `${path.basename(file)} holds no TensorFlow checkpoint (*.index)`
          : `${path.basename(file)} holds several checkpoints`,
        { model: entry.name },
      );
    }
    progress('converting', 0);
    // The converter creates its output directory itself (atomically).
    await fs.rm(modelDir, { recursive: true, force: true });
    const runtime = await this.runtime();
    await runtime.convertSpleeterCheckpoint(dirs[0], modelDir, {
      config: sp.config!,
      F: sp.F,
      T: sp.T,
      precision: this.precision,
      signal,
      onProgress: (f) => progress('converting', f),
    });
    if (!userDir) await fs.rm(extractDir, { recursive: true, force: true });
    return this.precision;
  }

  /**
   * Installs an uploaded ONNX model (custom name, not a catalog name) as a new version, validated
   * exactly like a catalog install.
   */
  async installCustomOnnx(params: InstallUploadParams): Promise<InstallResult> {
    try {
      return await this.installUploaded(params);
    } finally {
      // Handed-over files (`move`): moved into the model on success, deleted in every other case.
      if (params.move) await Promise.all(params.files.map((f) => fs.rm(f.path, { force: true })));
    }
  }

  private async installUploaded(params: InstallUploadParams): Promise<InstallResult> {
    await this.init();
    const manifestDoc = typeof params.manifest === 'string' ? parseJson(params.manifest) : params.manifest;
    const manifest = parseCustomModelManifest(manifestDoc);
    if (this.catalog.has(manifest.name)) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `'${manifest.name}' is a catalog model name; choose another name for an uploaded model`,
        { field: 'manifest.name' },
      );
    }
    const entry = customManifestToEntry(manifest);
    const name = entry.name;
    const expected = entry.kind === 'spleeter' ? Object.values(entry.spleeter!.files!) : [];
    const byName = new Map(params.files.map((f) => [f.name, f.path]));
    if (entry.kind === 'mdx' && params.files.length !== 1) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'an MDX-Net upload is exactly one .onnx file', {
        field: 'files',
      });
    }
    for (const f of expected) {
      if (!byName.has(f)) {
        throw new ValidationError(
          ErrorCodes.VALIDATION_FAILED,
          `manifest names ${f} but it was not uploaded`,
          {
            field: 'files',
          },
        );
      }
    }
    for (const f of params.files) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\.onnx$/.test(f.name)) {
        throw new ValidationError(
          ErrorCodes.VALIDATION_FAILED,
          `uploaded file name '${f.name}' must be a plain *.onnx name`,
          {
            field: 'files',
          },
        );
      }
    }
    const started = Date.now();
    const progress = this.progressReporter(name, params.onProgress);
    this.emit('install.started', { name });
    return this.underInstallLock(
      name,
      started,
      { signal: params.signal, purpose: `upload ${name}` },
      async (stage) => {
        const { modelDir } = await stage();
        const hashes: string[] = [];
        let precision: ModelPrecision | null = null;
        const place = async (from: string, to: string) => {
          if (params.move) await fs.rename(from, to).catch(() => fs.copyFile(from, to));
          else await fs.copyFile(from, to);
          hashes.push(`${path.basename(to)}:${await sha256File(to)}`);
        };
        if (entry.kind === 'spleeter') {
          precision = entry.spleeter!.precision ?? 'fp32';
          for (const f of expected) await place(byName.get(f)!, path.join(modelDir, f));
          await writeSpleeterManifest(modelDir, entry, precision, entry.spleeter!.files!, { type: 'upload' });
        } else {
          await place(params.files[0].path, path.join(modelDir, MDX_MODEL_FILE));
          await writeMdxManifest(modelDir, entry);
        }
        const record = await this.buildRecord({
          name,
          entry,
          origin: 'upload',
          modelDir,
          precision,
          // One file: its sha256. Several: sha256 over the sorted "name:sha256" lines.
          source: {
            url: null,
            sha256:
              hashes.length === 1
                ? hashes[0].split(':')[1]
                : createHash('sha256').update(hashes.sort().join('\n')).digest('hex'),
            expectedSha256: null,
            size: null,
          },
        });
        progress('validating', 0);
        return this.validateAndCommit(
          name,
          modelDir,
          record,
          params.activate ?? true,
          progress,
          started,
          params.signal,
        );
      },
    );
  }

  private async buildRecord(p: {
    name: string;
    entry: CatalogEntry;
    origin: 'catalog' | 'upload';
    modelDir: string;
    precision: ModelPrecision | null;
    source: { url: string | null; sha256: string | null; expectedSha256: string | null; size: number | null };
  }): Promise<VersionRecord> {
    const files = await this.store.describeFiles(p.modelDir);
    return {
      schema: VERSION_SCHEMA,
      name: p.name,
      id: 'pending',
      kind: p.entry.kind,
      format: p.entry.format,
      origin: p.origin,
      source: { ...p.source, catalogVersion: p.origin === 'catalog' ? this.catalog.version : null },
      installedAt: this.clock().toISOString(),
      size: files.reduce((s, f) => s + f.size, 0),
      stems: [...p.entry.stems],
      sampleRate: p.entry.sample_rate,
      precision: p.precision,
      entry: p.entry,
      files,
      validation: { status: 'unchecked', checkedAt: null, problems: [] },
    };
  }

  /** Renames the staged version into place under the model lock and activates it. */
  private async commit(
    modelDir: string,
    record: VersionRecord,
    activate: boolean,
    progress: ReturnType<ModelManager['progressReporter']>,
  ): Promise<string> {
    progress('activating', 0);
    const lock = await this.stateLock(record.name, 'commit');
    try {
      record.id = await this.store.allocateVersionId(record.name);
      await this.store.commitVersion(modelDir, record);
      if (activate) await this.setActive(record.name, record.id);
    } finally {
      await lock.release();
    }
    progress('activating', 1);
    return record.id;
  }

  private stateLock(name: string, purpose: string) {
    return FileLock.acquire(this.store.lockPath(name, 'state'), { staleMs: this.lockStaleMs, purpose });
  }

  private async setActive(name: string, version: string, history?: string[]): Promise<string | null> {
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

  // ------------------------------------------------------------------ versions

  /** Makes `version` the active one. It must exist and not be known-invalid. */
  async activate(name: string, version: string): Promise<VersionInfo> {
    await this.init();
    const canonical = this.requireVersioned(name);
    const id = normaliseVersionId(version);
    const lock = await this.stateLock(canonical, 'activate');
    try {
      const rec = await this.store.readVersion(canonical, id);
      if (!rec) {
        throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `${canonical}@${id} is not installed`, {
          model: `${canonical}@${id}`,
        });
      }
      if (rec.validation.status === 'invalid') {
        throw new ModelError(
          ErrorCodes.MODEL_INVALID,
          `${canonical}@${id} failed validation and cannot be activated`,
          {
            model: `${canonical}@${id}`,
          },
        );
      }
      await this.setActive(canonical, id);
      return this.versionInfo(rec, id, await this.inUse(canonical, id));
    } finally {
      await lock.release();
    }
  }

  /** Re-activates the previously active version (the one before the current). */
  async rollback(name: string): Promise<VersionInfo> {
    await this.init();
    const canonical = this.requireVersioned(name);
    const lock = await this.stateLock(canonical, 'rollback');
    try {
      const active = await this.store.readActive(canonical);
      const history = [...(active?.history ?? [])];
      while (history.length > 0) {
        const candidate = history.pop()!;
        const rec = await this.store.readVersion(canonical, candidate);
        if (rec && rec.validation.status !== 'invalid') {
          await this.setActive(canonical, candidate, history);
          return this.versionInfo(rec, candidate, await this.inUse(canonical, candidate));
        }
      }
      throw new ModelError(
        ErrorCodes.MODEL_NOT_INSTALLED,
        `${canonical} has no previous version to roll back to`,
        {
          model: canonical,
        },
      );
    } finally {
      await lock.release();
    }
  }

  /**
   * Removes `name@version`, or every version of `name`. A version in use (leased by a running
   * separation, in any process) is refused with MODEL_IN_USE. Removing the active version makes
   * the previous one active (or leaves the model uninstalled).
   */
  async remove(nameWithVersion: string): Promise<{ name: string; removed: string[]; active: string | null }> {
    await this.init();
    const ref = parseModelRef(nameWithVersion);
    const name = this.requireVersioned(ref.name);
    const lock = await this.stateLock(name, 'remove');
    try {
      const records = await this.store.listVersions(name);
      const targets = ref.version
        ? records.filter((r) => r.id === normaliseVersionId(ref.version!))
        : records;
      if (targets.length === 0) {
        throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `${formatModelRef(ref)} is not installed`, {
          model: formatModelRef(ref),
        });
      }
      for (const t of targets) {
        const leases = await this.store.liveLeases(name, t.id);
        if (leases.length > 0) throw this.inUseError(name, t.id, leases.length);
      }
      const removed: string[] = [];
      for (const t of targets) {
        // Rename first, then re-check leases: an acquire() racing with us either sees the version
        // gone or has its lease seen here (then the version is put back).
        const hidden = await this.store.hideVersion(name, t.id);
        const leases = await this.store.liveLeases(name, t.id);
        if (leases.length > 0) {
          await this.store.restoreVersion(name, t.id, hidden);
          throw this.inUseError(name, t.id, leases.length);
        }
        await fs.rm(hidden, { recursive: true, force: true });
        removed.push(t.id);
        this.emit('removed', { name, version: t.id });
      }
      const active = await this.store.readActive(name);
      let nowActive: string | null = active?.version ?? null;
      if (active && removed.includes(active.version)) {
        const remaining = (await this.store.listVersions(name)).filter(
          (r) => r.validation.status !== 'invalid',
        );
        const history = active.history.filter((v) => remaining.some((r) => r.id === v));
        const next = history.pop() ?? remaining[remaining.length - 1]?.id ?? null;
        if (next) await this.setActive(name, next, history);
        else await this.store.writeActive(name, null);
        nowActive = next;
      }
      await this.store.pruneModelDir(name);
      return { name, removed, active: nowActive };
    } finally {
      await lock.release();
    }
  }

  private inUseError(name: string, version: string, count: number): ModelError {
    return new ModelError(
      ErrorCodes.MODEL_IN_USE,
      `${name}@${version} is in use by ${count} running separation(s); try again when they finish`,
      { model: `${name}@${version}`, leases: count },
    );
  }

  private requireVersioned(name: string): string {
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

  // ------------------------------------------------------------------ validation

  /**
   * Validates `name` (active version) or `name@version`: files unchanged since install (sha256),
   * I/O signature against the entry, load + smoke inference with finite outputs. The result is
   * recorded in the version (an invalid version is never used afterwards) and returned; a model
   * that is not installed is MODEL_NOT_INSTALLED.
   */
  async validateModel(
    nameWithVersion: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<ValidationReport> {
    await this.init();
    const ref = parseModelRef(nameWithVersion);
    const name = this.canonicalName(ref.name);
    const entry = this.catalog.get(name);
    if (entry?.kind === 'builtin') {
      const report = await this.validateDir(this.builtinResolved(entry), null, opts.signal);
      this.emit('validated', report);
      return report;
    }
    const version = ref.version
      ? normaliseVersionId(ref.version)
      : (await this.store.readActive(name))?.version;
    const record = version ? await this.store.readVersion(name, version) : null;
    if (!record) {
      throw new ModelError(
        ErrorCodes.MODEL_NOT_INSTALLED,
        `${formatModelRef({ name, version })} is not installed`,
        {
          model: name,
        },
      );
    }
    const report = await this.validateDir(this.resolvedFromRecord(record), record, opts.signal, true);
    const lock = await this.stateLock(name, 'validate');
    try {
      await this.store.updateVersion(name, record.id, (r) => ({
        ...r,
        validation: {
          status: report.valid ? 'valid' : 'invalid',
          checkedAt: report.checkedAt,
          problems: report.checks.filter((c) => !c.ok && c.fatal).map((c) => `${c.name}: ${c.detail}`),
        },
      }));
    } finally {
      await lock.release();
    }
    this.emit('validated', report);
    return report;
  }

  private async validateDir(
    model: ResolvedModel,
    record: VersionRecord | null,
    signal?: AbortSignal,
    deepFiles = false,
  ): Promise<ValidationReport> {
    const started = Date.now();
    const checks: ValidationCheck[] = [];
    let corrupted = false;
    if (record && deepFiles) {
      const problems = await this.store.checkFiles(model.name, record, true);
      corrupted = problems.length > 0;
      checks.push(
        check(
          'files',
          !corrupted,
          corrupted ? `corrupted: ${problems.join('; ')}` : `${record.files.length} file(s) intact`,
        ),
      );
    }
    if (!corrupted) {
      checks.push(...(await this.signatureChecks(model)));
      if (checks.every((c) => c.ok || !c.fatal)) {
        try {
          checks.push(...(await (await this.runtime()).smokeTest(model, { signal })));
        } catch (err) {
          if (signal?.aborted) throw err;
          const code = err instanceof SpleeterError ? `${err.code}: ` : '';
          checks.push(check('load', false, `${code}${(err as Error).message}`));
        }
      }
    }
    const valid = checks.every((c) => c.ok || !c.fatal);
    return {
      name: model.name,
      version: model.version,
      valid,
      corrupted,
      checks,
      durationMs: Date.now() - started,
      checkedAt: this.clock().toISOString(),
    };
  }

  /** Declared ONNX inputs/outputs vs. the entry (no session needed). */
  private async signatureChecks(model: ResolvedModel): Promise<ValidationCheck[]> {
    if (model.kind === 'builtin' || !model.dir) return [];
    const out: ValidationCheck[] = [];
    const files =
      model.kind === 'spleeter'
        ? Object.values(await spleeterStemFiles(model.dir, model.stems, model.precision ?? 'fp32'))
        : [MDX_MODEL_FILE];
    for (const f of files) {
      let meta;
      try {
        meta = await readOnnxMetadata(path.join(model.dir, f));
      } catch (err) {
        out.push(check(`onnx:${f}`, false, (err as Error).message));
        continue;
      }
      out.push(
        ...(model.kind === 'spleeter'
          ? checkSpleeterSignature(model.entry, f, meta)
          : checkMdxSignature(model.entry, f, meta)),
      );
    }
    return out;
  }

  private invalidError(name: string, checks: ValidationCheck[]): ModelError {
    const failed = checks.filter((c) => !c.ok && c.fatal);
    return new ModelError(
      ErrorCodes.MODEL_INVALID,
      `${name} failed validation: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
      { model: name, checks },
    );
  }

  private async markInvalid(name: string, version: string, problems: string[]): Promise<void> {
    await this.store
      .updateVersion(name, version, (r) => ({
        ...r,
        validation: { status: 'invalid', checkedAt: this.clock().toISOString(), problems },
      }))
      .catch((err: Error) => this.logger.warn(`cannot record ${name}@${version} as invalid: ${err.message}`));
  }

  // ------------------------------------------------------------------ progress

  private progressReporter(name: string, cb?: InstallProgressCallback) {
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

/** `<16 hex of sha256(url)>-<basename>`: stable across runs (resume) and unique per URL. */
export function downloadFileName(url: string): string {
  const base = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'download').replace(
    /[^A-Za-z0-9._-]/g,
    '_',
  );
  return `${createHash('sha256').update(url).digest('hex').slice(0, 16)}-${base.slice(0, 80)}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      `manifest is not valid JSON: ${(err as Error).message}`,
      {
        field: 'manifest',
      },
    );
  }
}
