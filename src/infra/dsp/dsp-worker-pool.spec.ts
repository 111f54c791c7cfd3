import { DspWorkerPool } from './dsp-worker-pool';

describe(DspWorkerPool.name, () => {
  it('hands released shared buffers out again for the same size, zero-filled, without starting threads', async () => {
    const sut = new DspWorkerPool(2);
    const a = sut.acquire(1024);
    new Uint8Array(a).fill(7);
    sut.release([a]);
    const other = sut.acquire(2048);
    expect(other).not.toBe(a);
    const again = sut.acquire(1024);
    expect(again).toBe(a);
    expect(new Uint8Array(again).every((v) => v === 0)).toBe(true);
    expect(sut.acquire(1024)).not.toBe(a); // handed out once
    expect(sut.size).toBe(0);
    await sut.terminate();
  });

  it('keeps at most maxSpareBytes (default 512 MiB) of released buffers, dropping the oldest', async () => {
    const sut = new DspWorkerPool(1, 4096);
    const big = Array.from({ length: 5 }, () => sut.acquire(1024));
    sut.release(big);
    // the first one was dropped: a new buffer comes back for it, the others are reused
    const again = Array.from({ length: 5 }, () => sut.acquire(1024));
    expect(again.filter((b) => big.includes(b))).toHaveLength(4);
    expect(again.includes(big[0])).toBe(false);
    await sut.terminate();
  });

  it('refuses a thread count below 1', () => {
    expect(() => new DspWorkerPool(0)).toThrow(RangeError);
  });
});
