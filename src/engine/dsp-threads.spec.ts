import { ErrorCodes, ValidationError } from '../core/errors';
import { DspThreads, MAX_AUTO_DSP_THREADS, resolveDspThreads, validDspThreads } from './dsp-threads';

describe(resolveDspThreads.name, () => {
  it("'auto' gives no threads on the CPU provider and cores − 1 (at most 8) on a GPU provider", () => {
    expect(resolveDspThreads('auto', 'cpu', 16)).toBe(0);
    expect(resolveDspThreads(undefined, 'cpu', 2)).toBe(0);
    expect(resolveDspThreads('auto', 'cuda', 2)).toBe(1);
    expect(resolveDspThreads('auto', 'webgpu', 6)).toBe(5);
    expect(resolveDspThreads('auto', 'cuda', 64)).toBe(MAX_AUTO_DSP_THREADS);
    expect(resolveDspThreads('auto', 'cuda', 1)).toBe(0);
  });

  it('a number is taken as given, whatever the provider', () => {
    expect(resolveDspThreads(0, 'cuda', 16)).toBe(0);
    expect(resolveDspThreads(3, 'cpu', 2)).toBe(3);
  });
});

describe(validDspThreads.name, () => {
  it("accepts 'auto', integers >= 0 and undefined; refuses the rest with VALIDATION_FAILED", () => {
    expect(validDspThreads('auto')).toBe('auto');
    expect(validDspThreads(0)).toBe(0);
    expect(validDspThreads(undefined)).toBeUndefined();
    for (const bad of [-1, 1.5, 'two', null]) {
      expect(() => validDspThreads(bad)).toThrow(ValidationError);
      expect(() => validDspThreads(bad)).toThrow(
        expect.objectContaining({ code: ErrorCodes.VALIDATION_FAILED }),
      );
    }
  });
});

describe(DspThreads.name, () => {
  it('hands out no pool for 0 threads and one shared pool otherwise, started lazily', async () => {
    const none = new DspThreads('auto');
    expect(none.poolFor('cpu')).toBeNull();
    const sut = new DspThreads(2);
    const pool = sut.poolFor('cpu');
    expect(pool?.threads).toBe(2);
    expect(sut.poolFor('cuda')).toBe(pool);
    expect((pool as unknown as { size: number }).size).toBe(0); // no thread before the first task
    await sut.dispose();
  });
});
