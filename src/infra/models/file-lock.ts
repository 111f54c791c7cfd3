/**
 * Cross-process exclusive lock on a path, for model installs that several processes (API, worker,
 * CLI) may start at once. The lock is a file created with O_EXCL holding {pid, host, token,
 * createdAt}. The holder refreshes its mtime periodically; a lock whose holder process is gone
 * (same host) or whose mtime is older than `staleMs` is broken. Breaking uses rename (atomic), and
 * a lock broken by mistake (it was renewed in between) is put back with link(), which fails
 * instead of overwriting if someone else already holds the path.
 */
import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as os from 'os';
import { ErrorCodes, ModelError } from '../../core/errors';

export interface FileLockOptions {
  /** A lock not refreshed for this long is considered abandoned. Default 60 s. */
  staleMs?: number;
  /** Give up waiting after this long. Default: wait forever (until `signal`). */
  timeoutMs?: number;
  /** Poll interval while waiting. Default 100 ms. */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once when the lock is found held by someone else (e.g. "waiting for another install"). */
  onWait?: (holder: LockInfo | null) => void;
}

export interface LockInfo {
  pid: number;
  host: string;
  token: string;
  createdAt: string;
  purpose?: string;
}

export class FileLockHandle {
  private timer: NodeJS.Timeout | null;
  private released = false;

  constructor(
    readonly path: string,
    readonly info: LockInfo,
    refreshMs: number,
  ) {
    this.timer = setInterval(() => void this.refresh(), refreshMs);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    const now = new Date();
    await fs.utimes(this.path, now, now).catch(() => undefined);
  }

  /** Removes the lock file if it is still ours. Safe to call twice. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const current = await readLock(this.path);
    if (current?.token === this.info.token) await fs.rm(this.path, { force: true });
  }
}

export class FileLock {
  static async acquire(
    lockPath: string,
    opts: FileLockOptions & { purpose?: string } = {},
  ): Promise<FileLockHandle> {
    const staleMs = opts.staleMs ?? 60_000;
    const pollMs = opts.pollMs ?? 100;
    const started = Date.now();
    const info: LockInfo = {
      pid: process.pid,
      host: os.hostname(),
      token: randomBytes(12).toString('hex'),
      createdAt: new Date().toISOString(),
      ...(opts.purpose ? { purpose: opts.purpose } : {}),
    };
    let waited = false;
    for (;;) {
      if (opts.signal?.aborted) {
        throw new ModelError(
          ErrorCodes.MODEL_DOWNLOAD_FAILED,
          `Canceled while waiting for lock ${lockPath}`,
          {
            canceled: true,
          },
        );
      }
      try {
        const fh = await fs.open(lockPath, 'wx');
        try {
          await fh.writeFile(JSON.stringify(info));
        } finally {
          await fh.close();
        }
        return new FileLockHandle(lockPath, info, Math.max(50, Math.floor(staleMs / 3)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readLock(lockPath);
      if (await isStale(lockPath, holder, staleMs)) {
        await breakLock(lockPath, holder);
        continue;
      }
      if (!waited) {
        waited = true;
        opts.onWait?.(holder);
      }
      if (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs) {
        throw new ModelError(
          ErrorCodes.MODEL_IN_USE,
          `Timed out after ${opts.timeoutMs} ms waiting for ${lockPath} (held by pid ${holder?.pid ?? '?'} on ${holder?.host ?? '?'})`,
          { lockPath, holder },
        );
      }
      await sleep(pollMs);
    }
  }
}

async function readLock(p: string): Promise<LockInfo | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(p, 'utf8')) as LockInfo;
    return typeof parsed.token === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

async function isStale(p: string, holder: LockInfo | null, staleMs: number): Promise<boolean> {
  let mtimeMs: number;
  try {
    mtimeMs = (await fs.stat(p)).mtimeMs;
  } catch {
    return false; // Gone already: the next O_EXCL attempt decides.
  }
  if (Date.now() - mtimeMs > staleMs) return true;
  // An unreadable lock younger than staleMs may be mid-write by its creator: wait.
  if (!holder) return false;
  return holder.host === os.hostname() && !processAlive(holder.pid);
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function breakLock(p: string, judged: LockInfo | null): Promise<void> {
  const aside = `${p}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(p, aside);
  } catch {
    return; // Someone else broke or released it.
  }
  const taken = await readLock(aside);
  if (judged && taken && taken.token !== judged.token) {
    // We moved a fresh lock that replaced the stale one after we looked: put it back unless the
    // path has been taken again meanwhile (then that holder wins and the other one is lost — it
    // will notice on release, which only deletes its own token).
    await fs.link(aside, p).catch(() => undefined);
  }
  await fs.rm(aside, { force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
