/**
 * The models directory on disk (models.dir), shared by every process of a deployment:
 *
 *   <root>/<name~dir>/versions/<id>/…files…   one installed version (appears by rename: complete or absent)
 *   <root>/<name~dir>/versions/<id>/version.json
 *   <root>/<name~dir>/active                  JSON pointer to the active version (replaced by rename)
 *   <root>/<name~dir>/leases/<id>.<pid>.<tok>  a running separation uses <id> (cross-process use count)
 *   <root>/.locks/<name~dir>.{install,state}.lock   cross-process locks (FileLock), see lockPath()
 *   <root>/.downloads/                         downloads in progress (.part + .part.json) for resume
 *   <root>/.tmp/                               staging directories and trash; safe to empty at start-up
 *
 * Only this class knows the layout; ModelManager works in terms of names and version ids.
 */
import { createHash, randomBytes } from 'crypto';
import { createReadStream, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ErrorCodes, ModelError } from '../../core/errors';
import { modelDirName, modelNameFromDir } from '../../core/models/model-catalog';
import {
  ActivePointer,
  ModelFileRecord,
  VERSION_FILE,
  VersionRecord,
  nextVersionId,
} from '../../core/models/model-version';
import { processAlive } from './file-lock';

export interface LeaseInfo {
  version: string;
  pid: number;
  host: string;
  file: string;
}

export class ModelStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get tmpDir(): string {
    return path.join(this.root, '.tmp');
  }
  get downloadsDir(): string {
    return path.join(this.root, '.downloads');
  }
  get locksDir(): string {
    return path.join(this.root, '.locks');
  }
  modelDir(name: string): string {
    return path.join(this.root, modelDirName(name));
  }
  versionsDir(name: string): string {
    return path.join(this.modelDir(name), 'versions');
  }
  versionDir(name: string, id: string): string {
    return path.join(this.versionsDir(name), id);
  }
  /**
   * `install`: held for a whole install (download… validation), so two processes never do the
   * same install twice. `state`: held briefly for every change of the versions/active pointer
   * (commit, activate, rollback, remove, recording a validation), so those never wait for a download.
   */
  lockPath(name: string, kind: 'install' | 'state'): string {
    return path.join(this.locksDir, `${modelDirName(name)}.${kind}.lock`);
  }
  private activePath(name: string): string {
    return path.join(this.modelDir(name), 'active');
  }
  private leasesDir(name: string): string {
    return path.join(this.modelDir(name), 'leases');
  }

  async init(): Promise<void> {
    for (const d of [this.root, this.tmpDir, this.downloadsDir, this.locksDir])
      await fs.mkdir(d, { recursive: true });
  }

  /** A fresh private directory under .tmp (same filesystem as the versions, so rename is atomic). */
  async makeStagingDir(label: string): Promise<string> {
    await fs.mkdir(this.tmpDir, { recursive: true });
    const safe = label.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40);
    return fs.mkdtemp(path.join(this.tmpDir, `${safe}-${process.pid}-`));
  }

  /** Deletes partial downloads nobody resumed for `maxAgeMs` (default 7 days). */
  async cleanupDownloads(maxAgeMs = 7 * 24 * 3600_000): Promise<number> {
    let removed = 0;
    const names = await fs.readdir(this.downloadsDir).catch(() => [] as string[]);
    for (const n of names) {
      const full = path.join(this.downloadsDir, n);
      const st = await fs.stat(full).catch(() => null);
      if (st?.isFile() && Date.now() - st.mtimeMs > maxAgeMs) {
        await fs.rm(full, { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Removes staging/trash left by processes that died (their pid is gone) or older than maxAgeMs. */
  async cleanupTmp(maxAgeMs = 24 * 3600_000): Promise<number> {
    let removed = 0;
    let names: string[] = [];
    try {
      names = await fs.readdir(this.tmpDir);
    } catch {
      return 0;
    }
    for (const n of names) {
      const full = path.join(this.tmpDir, n);
      const pid = Number(/-(\d+)-[^-]*$/.exec(n)?.[1]);
      const st = await fs.stat(full).catch(() => null);
      if (!st) continue;
      const age = Date.now() - st.mtimeMs;
      // pids are only meaningful on this host; the age guard keeps a dir of another host's
      // running install (shared models.dir) from being taken for a dead local process.
      const dead = Number.isInteger(pid) && pid !== process.pid && !processAlive(pid) && age > 60_000;
      if (dead || age > maxAgeMs) {
        await fs.rm(full, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Names of models with at least one directory on disk. */
  async listModelNames(): Promise<string[]> {
    let names: string[] = [];
    try {
      names = await fs.readdir(this.root);
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const n of names) {
      if (n.startsWith('.')) continue;
      const name = modelNameFromDir(n);
      if (name) out.push(name);
    }
    return out.sort();
  }

  /** Installed versions of `name`, oldest first. Directories without a readable version.json are skipped. */
  async listVersions(name: string): Promise<VersionRecord[]> {
    let ids: string[] = [];
    try {
      ids = await fs.readdir(this.versionsDir(name));
    } catch {
      return [];
    }
    const out: VersionRecord[] = [];
    for (const id of ids) {
      const rec = await this.readVersion(name, id);
      if (rec) out.push(rec);
    }
    return out.sort(
      (a, b) => versionOrder(a.id) - versionOrder(b.id) || a.installedAt.localeCompare(b.installedAt),
    );
  }

  async readVersion(name: string, id: string): Promise<VersionRecord | null> {
    try {
      const rec = JSON.parse(
        await fs.readFile(path.join(this.versionDir(name, id), VERSION_FILE), 'utf8'),
      ) as VersionRecord;
      return rec && rec.id === id && rec.name === name ? rec : null;
    } catch {
      return null;
    }
  }

  async allocateVersionId(name: string): Promise<string> {
    let ids: string[] = [];
    try {
      ids = await fs.readdir(this.versionsDir(name));
    } catch {
      // No versions yet.
    }
    return nextVersionId(ids);
  }

  /**
   * Makes `stagingDir` version `record.id` of `record.name`: writes version.json into it, then
   * renames it into place. Must be called under the model's lock.
   */
  async commitVersion(stagingDir: string, record: VersionRecord): Promise<string> {
    await writeJsonAtomic(path.join(stagingDir, VERSION_FILE), record);
    const dest = this.versionDir(record.name, record.id);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    try {
      await fs.rename(stagingDir, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new ModelError(ErrorCodes.MODEL_INVALID, `Version ${record.name}@${record.id} already exists`, {
          model: record.name,
        });
      }
      throw err;
    }
    return dest;
  }

  async updateVersion(
    name: string,
    id: string,
    patch: (r: VersionRecord) => VersionRecord,
  ): Promise<VersionRecord> {
    const rec = await this.readVersion(name, id);
    if (!rec)
      throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `${name}@${id} is not installed`, { model: name });
    const next = patch(rec);
    await writeJsonAtomic(path.join(this.versionDir(name, id), VERSION_FILE), next);
    return next;
  }

  /** Removes a version so it disappears at once (rename to trash), then deletes the trash. */
  async deleteVersion(name: string, id: string): Promise<void> {
    const dir = this.versionDir(name, id);
    const trash = path.join(
      this.tmpDir,
      `trash-${modelDirName(name)}-${id}-${process.pid}-${randomBytes(3).toString('hex')}`,
    );
    await fs.mkdir(this.tmpDir, { recursive: true });
    try {
      await fs.rename(dir, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await fs.rm(trash, { recursive: true, force: true });
  }

  /**
   * Moves a version out of sight (into .tmp) without deleting it yet, so remove() can check
   * leases after the version became invisible and put it back if a lease appeared meanwhile.
   */
  async hideVersion(name: string, id: string): Promise<string> {
    await fs.mkdir(this.tmpDir, { recursive: true });
    const hidden = path.join(
      this.tmpDir,
      `removing-${modelDirName(name)}-${id}-${process.pid}-${randomBytes(3).toString('hex')}`,
    );
    await fs.rename(this.versionDir(name, id), hidden);
    return hidden;
  }

  async restoreVersion(name: string, id: string, hidden: string): Promise<void> {
    await fs.rename(hidden, this.versionDir(name, id));
  }

  /** Removes the model directory when no versions are left. */
  async pruneModelDir(name: string): Promise<void> {
    const versions = await fs.readdir(this.versionsDir(name)).catch(() => [] as string[]);
    if (versions.length > 0) return;
    await fs.rm(this.modelDir(name), { recursive: true, force: true });
  }

  async readActive(name: string): Promise<ActivePointer | null> {
    try {
      const p = JSON.parse(await fs.readFile(this.activePath(name), 'utf8')) as ActivePointer;
      return typeof p.version === 'string'
        ? { ...p, history: Array.isArray(p.history) ? p.history : [] }
        : null;
    } catch {
      return null;
    }
  }

  async writeActive(name: string, pointer: ActivePointer | null): Promise<void> {
    if (pointer === null) {
      await fs.rm(this.activePath(name), { force: true });
      return;
    }
    await fs.mkdir(this.modelDir(name), { recursive: true });
    await writeJsonAtomic(this.activePath(name), pointer);
  }

  /** Records that this process uses `name@version` until the returned function is called. */
  async addLease(name: string, version: string): Promise<() => Promise<void>> {
    const dir = this.leasesDir(name);
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(
      dir,
      `${version}.${process.pid}.${os.hostname().replace(/[^A-Za-z0-9-]/g, '_')}.${randomBytes(4).toString('hex')}`,
    );
    await fs.writeFile(file, '');
    return async () => {
      await fs.rm(file, { force: true });
    };
  }

  /** Leases held by live processes (stale ones, from dead pids on this host, are deleted). */
  async liveLeases(name: string, version?: string): Promise<LeaseInfo[]> {
    let names: string[] = [];
    try {
      names = await fs.readdir(this.leasesDir(name));
    } catch {
      return [];
    }
    const host = os.hostname().replace(/[^A-Za-z0-9-]/g, '_');
    const out: LeaseInfo[] = [];
    for (const n of names) {
      const m = /^(.+)\.(\d+)\.([^.]+)\.([0-9a-f]+)$/.exec(n);
      if (!m) continue;
      const [, v, pidStr, leaseHost] = m;
      const pid = Number(pidStr);
      const file = path.join(this.leasesDir(name), n);
      if (leaseHost === host && !processAlive(pid)) {
        await fs.rm(file, { force: true });
        continue;
      }
      if (version === undefined || v === version) out.push({ version: v, pid, host: leaseHost, file });
    }
    return out;
  }

  /** Lists the files of a version directory (excluding version.json) with their sizes and sha256. */
  async describeFiles(dir: string): Promise<ModelFileRecord[]> {
    const out: ModelFileRecord[] = [];
    const walk = async (rel: string) => {
      const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(r);
        else if (e.isFile() && r !== VERSION_FILE) {
          const full = path.join(dir, r);
          out.push({ path: r, size: (await fs.stat(full)).size, sha256: await sha256File(full) });
        }
      }
    };
    await walk('');
    return out;
  }

  /** Files whose size (quick) or, with `deep`, content hash differs from the record. */
  async checkFiles(name: string, rec: VersionRecord, deep: boolean): Promise<string[]> {
    const dir = this.versionDir(name, rec.id);
    const problems: string[] = [];
    for (const f of rec.files) {
      const full = path.join(dir, ...f.path.split('/'));
      const st = await fs.stat(full).catch(() => null);
      if (!st || !st.isFile()) {
        problems.push(`${f.path}: missing`);
        continue;
      }
      if (st.size !== f.size) {
        problems.push(`${f.path}: size ${st.size}, expected ${f.size}`);
        continue;
      }
      if (deep && (await sha256File(full)) !== f.sha256)
        problems.push(`${f.path}: content changed (sha256 mismatch)`);
    }
    return problems;
  }
}

function versionOrder(id: string): number {
  const m = /^v(\d+)$/.exec(id);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await fs.rename(tmp, file);
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}
