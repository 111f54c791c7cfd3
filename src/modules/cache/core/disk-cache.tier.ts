import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import Database from 'better-sqlite3';
import {
  emptyTierStats,
  systemClock,
  type CachedValue,
  type CacheTier,
  type CacheTierListener,
  type Clock,
} from './cache-tier';
import type { TierSetOptions, TierStats } from './cache-tier';

export interface DiskCacheTierOptions {
  /** Directory owning the cache: `index.sqlite`, `blobs/`, `tmp/`. Created if missing. */
  dir: string;
  /** Byte budget for value files (reserved bytes of writes in flight included). */
  maxBytes: number;
  clock?: Clock;
  listener?: CacheTierListener;
  /** A reservation older than this is treated as left behind by a crashed process. Default 10 min. */
  staleReservationMs?: number;
}

interface EntryRow {
  key: string;
  file: string;
  size: number;
  model: string | null;
  expires_at: number;
}

const PENDING = 0;
const READY = 1;

/**
 * L2: one file per value plus a SQLite index (its own small database, not the application's).
 *
 * Writes reserve their bytes in the index first (inside an IMMEDIATE transaction that also evicts
 * least-recently-used entries), then write a temp file and rename it into place, then mark the
 * row ready. Reserving before writing is what keeps the budget true even with several writers,
 * in this process or in others sharing the directory (API + worker). A reader only ever sees
 * complete files: the row turns ready after the rename.
 */
export class DiskCacheTier implements CacheTier {
  readonly level = 'l2' as const;
  readonly status = 'up' as const;
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly counters = emptyTierStats('l2');
  private readonly knownDirs = new Set<string>();
  private readonly stmts: ReturnType<DiskCacheTier['prepare']>;
  private closed = false;

  private constructor(private readonly options: DiskCacheTierOptions) {
    if (!(options.maxBytes >= 0)) throw new RangeError('maxBytes must be >= 0');
    this.clock = options.clock ?? systemClock;
    fs.mkdirSync(path.join(options.dir, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(options.dir, 'tmp'), { recursive: true });
    this.db = new Database(path.join(options.dir, 'index.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS entries (
        key TEXT PRIMARY KEY,
        file TEXT NOT NULL,
        size INTEGER NOT NULL,
        model TEXT,
        state INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        seq INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS entries_lru ON entries(state, seq);
      CREATE INDEX IF NOT EXISTS entries_seq ON entries(seq);
      CREATE INDEX IF NOT EXISTS entries_expiry ON entries(expires_at);
      CREATE INDEX IF NOT EXISTS entries_model ON entries(model);
    `);
    this.stmts = this.prepare();
  }

  /** Opens (or creates) the cache directory and repairs what a crash may have left behind. */
  static async open(options: DiskCacheTierOptions): Promise<DiskCacheTier> {
    const tier = new DiskCacheTier(options);
    await tier.reconcile();
    return tier;
  }

  private prepare() {
    const db = this.db;
    return {
      selectReady: db.prepare<[string], EntryRow>(
        `SELECT key, file, size, model, expires_at FROM entries WHERE key = ? AND state = ${READY}`,
      ),
      selectByKey: db.prepare<[string], EntryRow>(
        'SELECT key, file, size, model, expires_at FROM entries WHERE key = ?',
      ),
      deleteByKeyFile: db.prepare<[string, string]>('DELETE FROM entries WHERE key = ? AND file = ?'),
      deleteByKey: db.prepare<[string]>('DELETE FROM entries WHERE key = ?'),
      touch: db.prepare<[string]>(
        'UPDATE entries SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries) WHERE key = ?',
      ),
      sumAll: db.prepare<[], { b: number }>('SELECT COALESCE(SUM(size), 0) AS b FROM entries'),
      sumPending: db.prepare<[], { b: number }>(
        `SELECT COALESCE(SUM(size), 0) AS b FROM entries WHERE state = ${PENDING}`,
      ),
      readyTotals: db.prepare<[], { n: number; b: number }>(
        `SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM entries WHERE state = ${READY}`,
      ),
      lruVictim: db.prepare<[], EntryRow>(
        `SELECT key, file, size, model, expires_at FROM entries WHERE state = ${READY} ORDER BY seq LIMIT 1`,
      ),
      expired: db.prepare<[number], EntryRow>(
        `SELECT key, file, size, model, expires_at FROM entries WHERE state = ${READY} AND expires_at <= ?`,
      ),
      insertPending: db.prepare<[string, string, number, string | null, number, number]>(
        `INSERT INTO entries (key, file, size, model, state, created_at, expires_at, seq)
         VALUES (?, ?, ?, ?, ${PENDING}, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries))`,
      ),
      markReady: db.prepare<[string, string]>(
        `UPDATE entries SET state = ${READY} WHERE key = ? AND file = ?`,
      ),
      all: db.prepare<[], EntryRow & { state: number; created_at: number }>(
        'SELECT key, file, size, model, expires_at, state, created_at FROM entries',
      ),
      byModel: db.prepare<[string], EntryRow>(
        'SELECT key, file, size, model, expires_at FROM entries WHERE model = ?',
      ),
      deleteAll: db.prepare<[]>('DELETE FROM entries'),
    };
  }

  async get(key: string): Promise<CachedValue | undefined> {
    if (this.closed) return undefined;
    const row = this.stmts.selectReady.get(key);
    if (!row) {
      this.counters.misses++;
      return undefined;
    }
    if (row.expires_at <= this.clock.now()) {
      this.stmts.deleteByKeyFile.run(key, row.file);
      await this.unlinkQuietly(row.file);
      this.counters.expirations++;
      this.counters.misses++;
      this.options.listener?.onEvict?.('l2', row.size, 'expired');
      return undefined;
    }
    let data: Buffer;
    try {
      data = await fs.promises.readFile(this.abs(row.file));
    } catch (err) {
      // The file vanished (someone cleaned the directory): forget the row, it is a miss.
      this.stmts.deleteByKeyFile.run(key, row.file);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.counters.errors++;
      this.counters.misses++;
      return undefined;
    }
    if (data.length !== row.size) {
      // Truncated by a crash or a full disk: never serve partial bytes.
      this.stmts.deleteByKeyFile.run(key, row.file);
      await this.unlinkQuietly(row.file);
      this.counters.errors++;
      this.counters.misses++;
      return undefined;
    }
    this.stmts.touch.run(key);
    this.counters.hits++;
    return { data, expiresAt: row.expires_at, model: row.model ?? undefined };
  }

  async set(key: string, data: Buffer, options: TierSetOptions): Promise<boolean> {
    if (this.closed) return false;
    const now = this.clock.now();
    const size = data.length;
    if (size > this.options.maxBytes || options.expiresAt <= now) {
      if (size > this.options.maxBytes) this.counters.rejected++;
      await this.delete(key);
      return false;
    }
    const file = this.fileFor(key);
    const reservation = this.reserve(key, file, size, options, now);
    // Free the victims' disk space before writing, so the directory never holds more than the budget.
    await Promise.all(reservation.unlink.map((f) => this.unlinkQuietly(f)));
    if (!reservation.ok) {
      this.counters.rejected++;
      return false;
    }
    const tmp = path.join(this.options.dir, 'tmp', `${randomBytes(8).toString('hex')}.tmp`);
    try {
      await this.ensureDir(path.dirname(this.abs(file)));
      await fs.promises.writeFile(tmp, data, { flag: 'wx' });
      await fs.promises.rename(tmp, this.abs(file));
    } catch {
      this.counters.errors++;
      this.stmts.deleteByKeyFile.run(key, file);
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      await this.unlinkQuietly(file);
      return false;
    }
    if (this.closed || this.stmts.markReady.run(key, file).changes === 0) {
      // Our reservation was cleared or replaced by a newer write meanwhile: the file is ours to drop.
      await this.unlinkQuietly(file);
      return false;
    }
    return true;
  }

  async delete(key: string): Promise<boolean> {
    if (this.closed) return false;
    const row = this.stmts.selectByKey.get(key);
    if (!row) return false;
    this.stmts.deleteByKey.run(key);
    await this.unlinkQuietly(row.file);
    return true;
  }

  async clear(filter: { model?: string } = {}): Promise<number> {
    if (this.closed) return 0;
    const rows = this.db.transaction(() => {
      const victims =
        filter.model === undefined ? this.stmts.all.all() : this.stmts.byModel.all(filter.model);
      if (filter.model === undefined) this.stmts.deleteAll.run();
      else for (const r of victims) this.stmts.deleteByKeyFile.run(r.key, r.file);
      return victims;
    })();
    await Promise.all(rows.map((r) => this.unlinkQuietly(r.file)));
    return rows.length;
  }

  async purgeExpired(): Promise<number> {
    if (this.closed) return 0;
    const rows = this.db.transaction(() => {
      const victims = this.stmts.expired.all(this.clock.now());
      for (const r of victims) this.stmts.deleteByKeyFile.run(r.key, r.file);
      return victims;
    })();
    for (const r of rows) {
      this.counters.expirations++;
      this.options.listener?.onEvict?.('l2', r.size, 'expired');
    }
    await Promise.all(rows.map((r) => this.unlinkQuietly(r.file)));
    return rows.length;
  }

  stats(): TierStats {
    const totals = this.closed ? { n: 0, b: 0 } : this.stmts.readyTotals.get()!;
    return { ...this.counters, entries: totals.n, bytes: totals.b, maxBytes: this.options.maxBytes };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** Budget bookkeeping and LRU eviction in one IMMEDIATE transaction (serialised across processes). */
  private reserve(
    key: string,
    file: string,
    size: number,
    options: TierSetOptions,
    now: number,
  ): { ok: boolean; unlink: string[] } {
    const unlink: string[] = [];
    const evicted: Array<{ size: number; reason: 'capacity' | 'expired' }> = [];
    const ok = this.db
      .transaction(() => {
        const existing = this.stmts.selectByKey.get(key);
        if (existing) {
          this.stmts.deleteByKey.run(key);
          unlink.push(existing.file);
        }
        // Writes in flight elsewhere hold their bytes; if they alone leave no room, give up.
        if (this.stmts.sumPending.get()!.b + size > this.options.maxBytes) return false;
        let total = this.stmts.sumAll.get()!.b;
        if (total + size > this.options.maxBytes) {
          for (const r of this.stmts.expired.all(now)) {
            this.stmts.deleteByKeyFile.run(r.key, r.file);
            unlink.push(r.file);
            evicted.push({ size: r.size, reason: 'expired' });
            total -= r.size;
          }
        }
        while (total + size > this.options.maxBytes) {
          const victim = this.stmts.lruVictim.get();
          if (!victim) return false;
          this.stmts.deleteByKeyFile.run(victim.key, victim.file);
          unlink.push(victim.file);
          evicted.push({ size: victim.size, reason: 'capacity' });
          total -= victim.size;
        }
        this.stmts.insertPending.run(key, file, size, options.model ?? null, now, options.expiresAt);
        return true;
      })
      .immediate();
    for (const e of evicted) {
      if (e.reason === 'capacity') this.counters.evictions++;
      else this.counters.expirations++;
      this.options.listener?.onEvict?.('l2', e.size, e.reason);
    }
    return { ok, unlink };
  }

  /** Removes what a crash can leave: stale reservations, rows without files, files without rows. */
  private async reconcile(): Promise<void> {
    const staleMs = this.options.staleReservationMs ?? 10 * 60_000;
    const now = this.clock.now();
    const referenced = new Set<string>();
    const drop: EntryRow[] = [];
    for (const row of this.stmts.all.all()) {
      const stale = row.state === PENDING && row.created_at < now - staleMs;
      if (stale || (row.state === READY && !fs.existsSync(this.abs(row.file)))) drop.push(row);
      else referenced.add(row.file);
    }
    this.db.transaction(() => {
      for (const r of drop) this.stmts.deleteByKeyFile.run(r.key, r.file);
    })();
    for (const r of drop) await this.unlinkQuietly(r.file);

    const blobs = path.join(this.options.dir, 'blobs');
    for (const sub of await fs.promises.readdir(blobs).catch(() => [] as string[])) {
      for (const name of await fs.promises.readdir(path.join(blobs, sub)).catch(() => [] as string[])) {
        const rel = `blobs/${sub}/${name}`;
        if (!referenced.has(rel)) await this.unlinkQuietly(rel);
      }
    }
    const tmpDir = path.join(this.options.dir, 'tmp');
    const wallNow = Date.now();
    for (const name of await fs.promises.readdir(tmpDir).catch(() => [] as string[])) {
      const p = path.join(tmpDir, name);
      const st = await fs.promises.stat(p).catch(() => undefined);
      if (st && st.mtimeMs < wallNow - staleMs) await fs.promises.rm(p, { force: true });
    }
    await this.enforceBudget();
  }

  /** After a budget decrease between runs, evict down to the new budget. */
  private async enforceBudget(): Promise<void> {
    const unlink: string[] = [];
    this.db
      .transaction(() => {
        let total = this.stmts.sumAll.get()!.b;
        while (total > this.options.maxBytes) {
          const victim = this.stmts.lruVictim.get();
          if (!victim) break;
          this.stmts.deleteByKeyFile.run(victim.key, victim.file);
          unlink.push(victim.file);
          total -= victim.size;
          this.counters.evictions++;
        }
      })
      .immediate();
    await Promise.all(unlink.map((f) => this.unlinkQuietly(f)));
  }

  /** A fresh name per write, so concurrent writers of one key never share a file. */
  private fileFor(key: string): string {
    const h = createHash('sha256').update(key).digest('hex');
    return `blobs/${h.slice(0, 2)}/${h}-${randomBytes(4).toString('hex')}.bin`;
  }

  private abs(rel: string): string {
    return path.join(this.options.dir, rel);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await fs.promises.mkdir(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  private async unlinkQuietly(rel: string): Promise<void> {
    await fs.promises.rm(this.abs(rel), { force: true }).catch(() => undefined);
  }
}
