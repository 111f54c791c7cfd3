/**
 * Resolving a model reference to an installed, usable version (installing it first when
 * auto-download is on) and leasing it for the length of a separation, so that remove() refuses a
 * version in use.
 */
import { promises as fs } from 'fs';
import { ErrorCodes, ModelError } from '../../core/errors';
import { BUILTIN_VERSION } from '../../core/models/builtin-models';
import { formatModelRef, parseModelRef } from '../../core/models/model-catalog';
import type { InstallProgressCallback, ModelLease, ResolvedModel } from '../../core/models/model-types';
import { normaliseVersionId } from '../../core/models/model-version';
import type { ModelContext } from './model-context';
import type { ModelInstaller } from './model-installer';
import type { ModelValidator } from './model-validator';

export class ModelLeases {
  constructor(
    private readonly ctx: ModelContext,
    private readonly installer: ModelInstaller,
    private readonly validator: ModelValidator,
  ) {}

  /**
   * `name` (active version) or `name@version` → an installed, usable model. A missing catalog model
   * is installed first when auto-download is on (the caller waits; progress via onProgress);
   * otherwise MODEL_NOT_INSTALLED. A version known to be corrupt is MODEL_INVALID.
   */
  async resolve(
    nameWithVersion: string,
    opts: { onProgress?: InstallProgressCallback; signal?: AbortSignal; autoDownload?: boolean } = {},
  ): Promise<ResolvedModel> {
    await this.ctx.init();
    const ref = parseModelRef(nameWithVersion);
    const name = this.ctx.canonicalName(ref.name);
    const entry = this.ctx.catalog.get(name);
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
      return this.ctx.builtinResolved(entry);
    }
    let version = ref.version
      ? normaliseVersionId(ref.version)
      : (await this.ctx.store.readActive(name))?.version;
    if (!version) {
      const auto = opts.autoDownload ?? this.ctx.autoDownload;
      if (!entry) throw this.ctx.unknownModel(name);
      if (!auto) {
        throw new ModelError(
          ErrorCodes.MODEL_NOT_INSTALLED,
          `Model ${name} is not installed and automatic download (models.auto_download) is off`,
          { model: name },
        );
      }
      const res = await this.installer.downloadModel(name, {
        onProgress: opts.onProgress,
        signal: opts.signal,
      });
      version = res.version;
    }
    const record = await this.ctx.store.readVersion(name, version);
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
    const problems = await this.ctx.store.checkFiles(name, record, false);
    if (problems.length > 0) {
      await this.validator.markInvalid(name, version, [`corrupted: ${problems.join('; ')}`]);
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        `Model ${name}@${version} is corrupted: ${problems.join('; ')}`,
        {
          model: `${name}@${version}`,
        },
      );
    }
    return this.ctx.resolvedFromRecord(record);
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
      const dropFile = await this.ctx.store.addLease(resolved.name, resolved.version);
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
    this.ctx.leaseCounts.set(key, (this.ctx.leaseCounts.get(key) ?? 0) + 1);
    let released = false;
    return {
      ...resolved,
      release: async () => {
        if (released) return;
        released = true;
        const n = (this.ctx.leaseCounts.get(key) ?? 1) - 1;
        if (n <= 0) this.ctx.leaseCounts.delete(key);
        else this.ctx.leaseCounts.set(key, n);
        await dropFile();
      },
    };
  }
}
