/** Versions of one model: activate one, roll back to the previous one, remove one or all. */
import { promises as fs } from 'fs';
import { ErrorCodes, ModelError } from '../../core/errors';
import { formatModelRef, parseModelRef } from '../../core/models/model-catalog';
import type { VersionInfo } from '../../core/models/model-types';
import { normaliseVersionId } from '../../core/models/model-version';
import type { ModelContext } from './model-context';

export class ModelVersions {
  constructor(private readonly ctx: ModelContext) {}

  /** Makes `version` the active one. It must exist and not be known-invalid. */
  async activate(name: string, version: string): Promise<VersionInfo> {
    await this.ctx.init();
    const canonical = this.ctx.requireVersioned(name);
    const id = normaliseVersionId(version);
    const lock = await this.ctx.stateLock(canonical, 'activate');
    try {
      const rec = await this.ctx.store.readVersion(canonical, id);
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
      await this.ctx.setActive(canonical, id);
      return this.ctx.versionInfo(rec, id, await this.ctx.inUse(canonical, id));
    } finally {
      await lock.release();
    }
  }

  /** Re-activates the previously active version (the one before the current). */
  async rollback(name: string): Promise<VersionInfo> {
    await this.ctx.init();
    const canonical = this.ctx.requireVersioned(name);
    const lock = await this.ctx.stateLock(canonical, 'rollback');
    try {
      const active = await this.ctx.store.readActive(canonical);
      const history = [...(active?.history ?? [])];
      while (history.length > 0) {
        const candidate = history.pop()!;
        const rec = await this.ctx.store.readVersion(canonical, candidate);
        if (rec && rec.validation.status !== 'invalid') {
          await this.ctx.setActive(canonical, candidate, history);
          return this.ctx.versionInfo(rec, candidate, await this.ctx.inUse(canonical, candidate));
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
    await this.ctx.init();
    const ref = parseModelRef(nameWithVersion);
    const name = this.ctx.requireVersioned(ref.name);
    const lock = await this.ctx.stateLock(name, 'remove');
    try {
      const records = await this.ctx.store.listVersions(name);
      const targets = ref.version
        ? records.filter((r) => r.id === normaliseVersionId(ref.version!))
        : records;
      if (targets.length === 0) {
        throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `${formatModelRef(ref)} is not installed`, {
          model: formatModelRef(ref),
        });
      }
      for (const t of targets) {
        const leases = await this.ctx.store.liveLeases(name, t.id);
        if (leases.length > 0) throw this.inUseError(name, t.id, leases.length);
      }
      const removed: string[] = [];
      for (const t of targets) {
        // Rename first, then re-check leases: an acquire() racing with us either sees the version
        // gone or has its lease seen here (then the version is put back).
        const hidden = await this.ctx.store.hideVersion(name, t.id);
        const leases = await this.ctx.store.liveLeases(name, t.id);
        if (leases.length > 0) {
          await this.ctx.store.restoreVersion(name, t.id, hidden);
          throw this.inUseError(name, t.id, leases.length);
        }
        await fs.rm(hidden, { recursive: true, force: true });
        removed.push(t.id);
        this.ctx.emit('removed', { name, version: t.id });
      }
      const active = await this.ctx.store.readActive(name);
      let nowActive: string | null = active?.version ?? null;
      if (active && removed.includes(active.version)) {
        const remaining = (await this.ctx.store.listVersions(name)).filter(
          (r) => r.validation.status !== 'invalid',
        );
        const history = active.history.filter((v) => remaining.some((r) => r.id === v));
        const next = history.pop() ?? remaining[remaining.length - 1]?.id ?? null;
        if (next) await this.ctx.setActive(name, next, history);
        else await this.ctx.store.writeActive(name, null);
        nowActive = next;
      }
      await this.ctx.store.pruneModelDir(name);
      // Their optimized forms (full copies of the weights) go with them.
      await this.ctx.pruneOptimizedModels();
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
}
