import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AppConfig } from '../../src/infra/config/app-config';
import { loadConfig } from '../../src/infra/config/config.loader';
import { CacheService } from '../../src/modules/cache/cache.service';
import { DiskCacheTier } from '../../src/modules/cache/core/disk-cache.tier';
import { MemoryCacheTier } from '../../src/modules/cache/core/memory-cache.tier';
import { TieredResultCache } from '../../src/modules/cache/result-cache.adapter';
import type { ResultCacheEntry } from '../../src/common/cache/result-cache.port';

/** The separation module's ResultCachePort over real memory and disk tiers. */
describe(TieredResultCache.name, () => {
  let dir: string;
  let cache: CacheService;
  let sut: TieredResultCache;
  let entry: ResultCacheEntry;
  const stems = { vocals: randomBytes(70_001), accompaniment: randomBytes(65_536) };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-rc-'));
    const config = new AppConfig(
      loadConfig({
        env: {},
        configDir: path.join(dir, 'none'),
        overrides: { cache: { dir: path.join(dir, 'cache'), memory_size_mb: 1, disk_size_mb: 4 } },
      }),
    );
    const tiers = [
      new MemoryCacheTier({ maxBytes: 1 << 20 }),
      await DiskCacheTier.open({ dir: path.join(dir, 'cache'), maxBytes: 4 << 20 }),
    ];
    cache = new CacheService(tiers, config);
    sut = new TieredResultCache(cache, config);
    const out = path.join(dir, 'job');
    fs.mkdirSync(out);
    for (const [name, data] of Object.entries(stems)) fs.writeFileSync(path.join(out, `${name}.wav`), data);
    entry = {
      stems: Object.keys(stems).map((name) => ({ name, path: path.join(out, `${name}.wav`) })),
      model: { name: 'spleeter:2stems', version: '1' },
      executionProvider: 'cpu',
      input: { format: 'wav', sampleRate: 44100, channels: 2, durationSec: 3 },
    };
  });
  afterEach(async () => {
    await cache.onModuleDestroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('restores stored stems byte-identically, with the run metadata, from disk after memory is gone', async () => {
    await sut.store('key-1', entry);
    await cache.clear({ level: 'l1' });
    const hit = await sut.lookup('key-1');
    expect(hit).toMatchObject({ executionProvider: 'cpu', input: entry.input });
    for (const s of hit!.stems) {
      expect(path.basename(s.path)).toBe(`${s.name}.wav`);
      expect(fs.readFileSync(s.path).equals(stems[s.name as keyof typeof stems])).toBe(true);
    }
    // The caller's files are untouched and stay theirs.
    expect(fs.existsSync(entry.stems[0].path)).toBe(true);
    expect(cache.getCacheStats().tiers.l2!.hits).toBe(1);
  });

  it('misses, and drops the entry, when the stored value is corrupt', async () => {
    await sut.store('key-2', entry);
    const value = (await cache.get('key-2'))!;
    value[value.length - 10] ^= 0xff;
    await cache.set('key-2', value);
    expect(await sut.lookup('key-2')).toBeNull();
    expect(await cache.get('key-2')).toBeUndefined();
  });

  it('does not cache a result larger than every tier', async () => {
    const big = path.join(dir, 'job', 'big.wav');
    fs.writeFileSync(big, Buffer.alloc(5 << 20));
    await sut.store('key-3', { ...entry, stems: [{ name: 'big', path: big }] });
    expect(await sut.lookup('key-3')).toBeNull();
    expect(cache.getCacheStats().entries).toBe(0);
  });
});
