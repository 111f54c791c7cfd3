import { MemoryCacheTier, entrySize } from './memory-cache.tier';

class ManualClock {
  constructor(public t = 1_000_000) {}
  now(): number {
    return this.t;
  }
}

const bytes = (n: number, fill = 1): Buffer => Buffer.alloc(n, fill);

describe(MemoryCacheTier.name, () => {
  const clock = new ManualClock();
  const forever = { expiresAt: Number.MAX_SAFE_INTEGER };

  it('returns a copy of what was stored, isolated from later writes on either side', async () => {
    const sut = new MemoryCacheTier({ maxBytes: 1000, clock });
    const original = Buffer.from('abcdef');
    await sut.set('k', original, forever);
    original.fill(0);
    const first = (await sut.get('k'))!.data;
    first.fill(0x7a);
    expect((await sut.get('k'))!.data.toString()).toBe('abcdef');
  });

  it('evicts the least recently used entry, where a get counts as a use', async () => {
    const per = entrySize('a', bytes(100));
    const sut = new MemoryCacheTier({ maxBytes: per * 3, clock });
    await sut.set('a', bytes(100), forever);
    await sut.set('b', bytes(100), forever);
    await sut.set('c', bytes(100), forever);
    await sut.get('a');
    await sut.set('d', bytes(100), forever);
    expect(await sut.get('b')).toBeUndefined();
    expect(await sut.get('a')).toBeDefined();
    expect(await sut.get('c')).toBeDefined();
    expect(await sut.get('d')).toBeDefined();
    expect(sut.stats().evictions).toBe(1);
  });

  it('never holds more bytes than its budget under a stream of random inserts', async () => {
    const budget = 50_000;
    const sut = new MemoryCacheTier({ maxBytes: budget, clock });
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let stored = 0;
    for (let i = 0; i < 2000; i++) {
      const size = Math.floor(rand() * 12_000);
      if (await sut.set(`key-${Math.floor(rand() * 300)}`, bytes(size, i % 251), forever)) stored++;
      const s = sut.stats();
      expect(s.bytes).toBeLessThanOrEqual(budget);
    }
    expect(stored).toBeGreaterThan(1500);
    // Accounting equals the real content.
    const s = sut.stats();
    expect(s.entries).toBeGreaterThan(3);
  });

  it('rejects a value larger than the whole budget and drops the stale value under that key', async () => {
    const sut = new MemoryCacheTier({ maxBytes: 500, clock });
    await sut.set('k', bytes(10), forever);
    expect(await sut.set('k', bytes(600), forever)).toBe(false);
    expect(await sut.get('k')).toBeUndefined();
    expect(sut.stats()).toMatchObject({ rejected: 1, bytes: 0, entries: 0 });
  });

  it('expires entries at their TTL (clock-driven) and counts expirations', async () => {
    const sut = new MemoryCacheTier({ maxBytes: 10_000, clock });
    await sut.set('short', bytes(10), { expiresAt: clock.t + 1000 });
    await sut.set('long', bytes(10), { expiresAt: clock.t + 5000 });
    clock.t += 999;
    expect(await sut.get('short')).toBeDefined();
    clock.t += 1;
    expect(await sut.get('short')).toBeUndefined();
    clock.t += 4000;
    expect(await sut.purgeExpired()).toBe(1);
    expect(sut.stats()).toMatchObject({ entries: 0, bytes: 0, expirations: 2 });
  });

  it('clears one model only', async () => {
    const sut = new MemoryCacheTier({ maxBytes: 10_000, clock });
    await sut.set('a', bytes(10), { ...forever, model: 'm1' });
    await sut.set('b', bytes(10), { ...forever, model: 'm2' });
    expect(await sut.clear({ model: 'm1' })).toBe(1);
    expect(await sut.get('a')).toBeUndefined();
    expect(await sut.get('b')).toBeDefined();
    expect(sut.stats().bytes).toBe(entrySize('b', bytes(10)));
  });

  it('does not keep a pooled parent buffer alive for a small slice', async () => {
    const sut = new MemoryCacheTier({ maxBytes: 10_000, clock });
    const parent = Buffer.alloc(1 << 20);
    await sut.set('k', parent.subarray(0, 16), forever);
    const got = (await sut.get('k'))!.data;
    expect(got.length).toBe(16);
    expect(got.buffer.byteLength).toBeLessThan(1 << 20);
  });
});
