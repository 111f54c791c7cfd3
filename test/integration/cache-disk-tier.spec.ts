import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Database from 'better-sqlite3';
import { DiskCacheTier } from '../../src/modules/cache/core/disk-cache.tier';

class ManualClock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
}

/** Bytes of value files actually on disk (what the budget promises about). */
function bytesOnDisk(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else total += fs.statSync(p).size;
    }
  };
  walk(path.join(dir, 'blobs'));
  walk(path.join(dir, 'tmp'));
  return total;
}

describe(DiskCacheTier.name, () => {
  let dir: string;
  let clock: ManualClock;
  const forever = { expiresAt: Number.MAX_SAFE_INTEGER };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-l2-'));
    clock = new ManualClock();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stores values as files indexed in SQLite and survives a reopen byte-identically', async () => {
    const data = randomBytes(123_457);
    let sut = await DiskCacheTier.open({ dir, maxBytes: 1 << 20, clock });
    expect(await sut.set('m%3A1:k', data, { expiresAt: clock.t + 60_000, model: 'm:1' })).toBe(true);
    await sut.close();
    sut = await DiskCacheTier.open({ dir, maxBytes: 1 << 20, clock });
    const got = await sut.get('m%3A1:k');
    expect(got!.data.equals(data)).toBe(true);
    expect(got!.model).toBe('m:1');
    expect(sut.stats()).toMatchObject({ entries: 1, bytes: 123_457 });
    await sut.close();
  });

  it('keeps the files on disk within the byte budget under a stream of inserts, evicting LRU', async () => {
    const budget = 200_000;
    const sut = await DiskCacheTier.open({ dir, maxBytes: budget, clock });
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) {
      const size = 1000 + Math.floor(rand() * 40_000);
      await sut.set(`k${Math.floor(rand() * 60)}`, randomBytes(size), forever);
      expect(sut.stats().bytes).toBeLessThanOrEqual(budget);
      expect(bytesOnDisk(dir)).toBeLessThanOrEqual(budget);
    }
    const s = sut.stats();
    expect(s.evictions).toBeGreaterThan(50);
    expect(s.bytes).toBe(bytesOnDisk(dir));
    await sut.close();
  });

  it('evicts the least recently read entry first', async () => {
    const sut = await DiskCacheTier.open({ dir, maxBytes: 3000, clock });
    for (const k of ['a', 'b', 'c']) await sut.set(k, Buffer.alloc(1000, k), forever);
    await sut.get('a');
    await sut.set('d', Buffer.alloc(1000, 'd'), forever);
    expect(await sut.get('b')).toBeUndefined();
    for (const k of ['a', 'c', 'd']) expect((await sut.get(k))!.data[0]).toBe(k.charCodeAt(0));
    await sut.close();
  });

  it('keeps the budget with concurrent writers', async () => {
    const budget = 100_000;
    const sut = await DiskCacheTier.open({ dir, maxBytes: budget, clock });
    const peaks: number[] = [];
    const timer = setInterval(() => peaks.push(bytesOnDisk(dir)), 1);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => sut.set(`k${i}`, randomBytes(9_000 + i * 100), forever)),
    );
    clearInterval(timer);
    expect(Math.max(...peaks, bytesOnDisk(dir))).toBeLessThanOrEqual(budget);
    expect(sut.stats().bytes).toBeLessThanOrEqual(budget);
    await sut.close();
  });

  it('expires entries by TTL, on read and in a sweep', async () => {
    const sut = await DiskCacheTier.open({ dir, maxBytes: 1 << 20, clock });
    await sut.set('short', Buffer.from('s'), { expiresAt: clock.t + 1000 });
    await sut.set('long', Buffer.from('l'), { expiresAt: clock.t + 10_000 });
    clock.t += 1000;
    expect(await sut.get('short')).toBeUndefined();
    expect(await sut.get('long')).toBeDefined();
    clock.t += 9000;
    expect(await sut.purgeExpired()).toBe(1);
    expect(sut.stats()).toMatchObject({ entries: 0, bytes: 0, expirations: 2 });
    expect(bytesOnDisk(dir)).toBe(0);
    await sut.close();
  });

  it('rejects a value over the budget, and clears one model', async () => {
    const sut = await DiskCacheTier.open({ dir, maxBytes: 1000, clock });
    expect(await sut.set('big', Buffer.alloc(1001), forever)).toBe(false);
    await sut.set('a', Buffer.alloc(10), { ...forever, model: 'm1' });
    await sut.set('b', Buffer.alloc(10), { ...forever, model: 'm2' });
    expect(await sut.clear({ model: 'm1' })).toBe(1);
    expect(await sut.get('a')).toBeUndefined();
    expect(await sut.get('b')).toBeDefined();
    expect(await sut.clear()).toBe(1);
    expect(bytesOnDisk(dir)).toBe(0);
    expect(sut.stats()).toMatchObject({ rejected: 1, entries: 0 });
    await sut.close();
  });

  it('never serves a truncated file, and repairs crash leftovers on open', async () => {
    let sut = await DiskCacheTier.open({ dir, maxBytes: 1 << 20, clock });
    await sut.set('victim', randomBytes(5000), forever);
    await sut.set('gone', randomBytes(5000), forever);
    await sut.close();
    const db = new Database(path.join(dir, 'index.sqlite'));
    const files = db.prepare('SELECT key, file FROM entries').all() as Array<{ key: string; file: string }>;
    const victim = files.find((f) => f.key === 'victim')!.file;
    fs.truncateSync(path.join(dir, victim), 100);
    fs.rmSync(path.join(dir, files.find((f) => f.key === 'gone')!.file));
    // A reservation from a process that died mid-write, and an orphan file.
    db.prepare(`INSERT INTO entries VALUES ('stale', 'blobs/zz/stale.bin', 4000, NULL, 0, ?, ?, 99)`).run(
      clock.t - 3_600_000,
      Number.MAX_SAFE_INTEGER,
    );
    db.close();
    fs.mkdirSync(path.join(dir, 'blobs', 'zz'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'blobs', 'zz', 'orphan.bin'), Buffer.alloc(777));

    sut = await DiskCacheTier.open({ dir, maxBytes: 1 << 20, clock });
    expect(sut.stats()).toMatchObject({ entries: 1, bytes: 5000 });
    expect(fs.existsSync(path.join(dir, 'blobs', 'zz', 'orphan.bin'))).toBe(false);
    expect(await sut.get('victim')).toBeUndefined();
    expect(sut.stats()).toMatchObject({ entries: 0, bytes: 0, errors: 1 });
    await sut.close();
  });

  it('shrinks to a lowered budget on open', async () => {
    let sut = await DiskCacheTier.open({ dir, maxBytes: 10_000, clock });
    for (let i = 0; i < 10; i++) await sut.set(`k${i}`, Buffer.alloc(1000), forever);
    await sut.close();
    sut = await DiskCacheTier.open({ dir, maxBytes: 4500, clock });
    expect(sut.stats().bytes).toBe(4000);
    expect(await sut.get('k9')).toBeDefined();
    expect(await sut.get('k0')).toBeUndefined();
    await sut.close();
  });
});
