import { reuseFor } from './reuse-for';

describe(reuseFor.name, () => {
  it('0 calls through every time', () => {
    let n = 0;
    const sut = reuseFor(0, () => ++n);
    expect([sut(), sut(), sut()]).toEqual([1, 2, 3]);
  });

  it('reuses a reading for the interval, then reads again', () => {
    let now = 1000;
    let n = 0;
    const sut = reuseFor(
      60_000,
      () => ++n,
      () => now,
    );
    expect(sut()).toBe(1);
    now += 59_999;
    expect(sut()).toBe(1);
    now += 1;
    expect(sut()).toBe(2);
  });

  it('does not keep a rejected promise', async () => {
    let n = 0;
    const sut = reuseFor(
      60_000,
      () => (++n === 1 ? Promise.reject(new Error('down')) : Promise.resolve(n)),
      () => 0,
    );
    await expect(sut()).rejects.toThrow('down');
    await expect(sut()).resolves.toBe(2);
    await expect(sut()).resolves.toBe(2);
  });
});
