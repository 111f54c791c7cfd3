/**
 * Installs: catalog models (download or local archive → verify → extract/convert → validate →
 * commit → activate) and uploaded ONNX models. Every install runs in a staging directory under the
 * model's install lock and becomes a new version by rename, so a half-installed model is never
 * visible; installs of one name inside a process share one promise.
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { ErrorCodes, ValidationError } from '../../core/errors';
import { BUILTIN_VERSION } from '../../core/models/builtin-models';
import {
  CatalogEntry,
  ModelPrecision,
  customManifestToEntry,
  parseCustomModelManifest,
  parseModelRef,
} from '../../core/models/model-catalog';
import type { DownloadModelOptions } from '../../core/models/model-types';
import { VersionRecord, VERSION_SCHEMA } from '../../core/models/model-version';
import { FileLock, type LockInfo } from '../../infra/models/file-lock';
import { MDX_MODEL_FILE, writeMdxManifest, writeSpleeterManifest } from '../../infra/models/model-files';
import { sha256File } from '../../infra/models/model-store';
import type { ModelContext, ProgressReporter } from './model-context';
import type { InstallResult, InstallUploadParams } from './model-manager.types';
import type { ModelQueries } from './model-queries';
import type { ModelSources } from './model-sources';
import type { ModelValidator } from './model-validator';

export class ModelInstaller {
  /** In-process installs by model name: concurrent callers share one promise. */
  private readonly inflight = new Map<string, Promise<InstallResult>>();

  constructor(
    private readonly ctx: ModelContext,
    private readonly queries: ModelQueries,
    private readonly validator: ModelValidator,
    private readonly sources: ModelSources,
  ) {}

  /**
   * Installs the catalog model `name` (a new version, made active unless activate=false). Without
   * `force`, an installed model is returned as is. Concurrent calls for one name share the work.
   */
  downloadModel(name: string, opts: DownloadModelOptions = {}): Promise<InstallResult> {
    const canonical = this.ctx.canonicalName(parseModelRef(name).name);
    const existing = this.inflight.get(canonical);
    if (existing) {
      if (opts.onProgress) {
        const off = this.ctx.on('install.progress', (p) => p.name === canonical && opts.onProgress!(p));
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
    const canonical = this.ctx.canonicalName(parseModelRef(name).name);
    return this.runInstall(canonical, { ...opts, force: true }, path.resolve(archivePath));
  }

  private async runInstall(
    name: string,
    opts: DownloadModelOptions,
    localFile?: string,
  ): Promise<InstallResult> {
    await this.ctx.init();
    const entry = this.ctx.catalog.get(name);
    if (!entry) throw this.ctx.unknownModel(name);
    if (entry.kind === 'builtin') {
      return {
        name,
        version: BUILTIN_VERSION,
        installed: false,
        info: (await this.queries.describe(name))!.versions[0],
      };
    }
    if (!opts.force && !localFile) {
      const ready = await this.usableActive(name);
      if (ready)
        return { name, version: ready.id, installed: false, info: this.ctx.versionInfo(ready, ready.id, 0) };
    }
    const started = Date.now();
    const progress = this.ctx.progressReporter(name, opts.onProgress);
    progress('queued', 0);
    this.ctx.emit('install.started', { name });
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
          return {
            name,
            version: ready.id,
            installed: false,
            info: this.ctx.versionInfo(ready, ready.id, 0),
          };
        }
      }
      const { staging, modelDir } = await stage();
      const { source, file, sha256 } = localFile
        ? await this.sources.useLocalFile(entry, localFile, progress)
        : await this.sources.fetchSource(entry, staging, progress, opts.signal);
      const precision = await this.sources.prepareModelDir(
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
    const lock = await FileLock.acquire(this.ctx.store.lockPath(name, 'install'), {
      staleMs: this.ctx.lockStaleMs,
      ...lockOptions,
    });
    let staging: string | null = null;
    try {
      return await body(async () => {
        const dir = await this.ctx.store.makeStagingDir(name);
        staging = dir;
        const modelDir = path.join(dir, 'model');
        await fs.mkdir(modelDir);
        return { staging: dir, modelDir };
      });
    } catch (err) {
      this.ctx.emit('install.failed', { name, error: err as Error, durationMs: Date.now() - started });
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
    progress: ProgressReporter,
    started: number,
    signal?: AbortSignal,
  ): Promise<InstallResult> {
    const report = await this.validator.validateDir(
      this.ctx.resolvedFromRecord(record, modelDir),
      record,
      signal,
    );
    if (!report.valid) throw this.validator.invalidError(name, report.checks);
    record.validation = { status: 'valid', checkedAt: this.ctx.clock().toISOString(), problems: [] };
    const version = await this.commit(modelDir, record, activate, progress);
    const durationMs = Date.now() - started;
    this.ctx.logger.log(`installed ${name}@${version} (${record.size} bytes) in ${durationMs} ms`);
    this.ctx.emit('installed', { name, version, durationMs });
    progress('done', 1);
    const active = await this.ctx.store.readActive(name);
    return { name, version, installed: true, info: this.ctx.versionInfo(record, active?.version ?? null, 0) };
  }

  private async usableActive(name: string): Promise<VersionRecord | null> {
    const active = await this.ctx.store.readActive(name);
    const rec = active ? await this.ctx.store.readVersion(name, active.version) : null;
    return rec && rec.validation.status !== 'invalid' ? rec : null;
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
    await this.ctx.init();
    const manifestDoc = typeof params.manifest === 'string' ? parseJson(params.manifest) : params.manifest;
    const manifest = parseCustomModelManifest(manifestDoc);
    if (this.ctx.catalog.has(manifest.name)) {
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
    const progress = this.ctx.progressReporter(name, params.onProgress);
    this.ctx.emit('install.started', { name });
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
    const files = await this.ctx.store.describeFiles(p.modelDir);
    return {
      schema: VERSION_SCHEMA,
      name: p.name,
      id: 'pending',
      kind: p.entry.kind,
      format: p.entry.format,
      origin: p.origin,
      source: { ...p.source, catalogVersion: p.origin === 'catalog' ? this.ctx.catalog.version : null },
      installedAt: this.ctx.clock().toISOString(),
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
    progress: ProgressReporter,
  ): Promise<string> {
    progress('activating', 0);
    const lock = await this.ctx.stateLock(record.name, 'commit');
    try {
      record.id = await this.ctx.store.allocateVersionId(record.name);
      await this.ctx.store.commitVersion(modelDir, record);
      if (activate) await this.ctx.setActive(record.name, record.id);
    } finally {
      await lock.release();
    }
    progress('activating', 1);
    return record.id;
  }
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
