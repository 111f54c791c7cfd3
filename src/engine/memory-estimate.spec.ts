import { ErrorCodes } from '../core/errors';
import { estimateSeparationMemoryMb, memoryLimitError, mergedSegmentsInHostMemory } from './memory-estimate';

const twoStems = { kind: 'spleeter' as const, stems: ['vocals', 'accompaniment'] };

describe('estimateSeparationMemoryMb', () => {
  // Peak RSS of the CLI measured on the full-size 2-stem U-Net (memory-estimate.ts): the estimate
  // must not fall below them, nor overshoot by more than a fifth.
  it.each([
    [1, false, 626],
    [4, false, 1478],
    [8, false, 2579],
    [1, true, 683],
    [4, true, 1649],
  ])(
    '2 stems, batch %i, DSP threads %s: covers the measured %i MiB',
    (batchSegments, dspThreads, measured) => {
      const estimate = estimateSeparationMemoryMb({ ...twoStems, batchSegments, dspThreads });
      expect(estimate).toBeGreaterThanOrEqual(measured);
      expect(estimate).toBeLessThanOrEqual(measured * 1.2);
    },
  );

  it('grows with stems and batch segments; DSP threads only add for Spleeter models', () => {
    const five = { kind: 'spleeter' as const, stems: ['a', 'b', 'c', 'd', 'e'], batchSegments: 8 };
    expect(estimateSeparationMemoryMb(five)).toBe(350 + 5 * (40 + 8 * 140));
    expect(estimateSeparationMemoryMb({ ...five, dspThreads: true })).toBe(
      350 + 5 * (40 + 8 * 140) + 15 + 8 * (15 + 5 * 12),
    );
    expect(
      estimateSeparationMemoryMb({ kind: 'mdx', stems: ['a', 'b'], batchSegments: 8, dspThreads: true }),
    ).toBe(950);
    expect(
      estimateSeparationMemoryMb({ kind: 'builtin', stems: ['a', 'b'], batchSegments: 8, dspThreads: true }),
    ).toBe(350);
  });

  it('counts the largest merged call when cross-job batching merges calls in host memory', () => {
    // CPU with cross_job_batching 'on': a call may carry max_batch_segments segments of several jobs.
    expect(mergedSegmentsInHostMemory('on', 'cpu', 16)).toBe(16);
    // 'auto' never merges on the CPU; on a GPU the activations live in device memory.
    expect(mergedSegmentsInHostMemory('auto', 'cpu', 16)).toBeUndefined();
    expect(mergedSegmentsInHostMemory('off', 'cpu', 16)).toBeUndefined();
    expect(mergedSegmentsInHostMemory('on', 'cuda', 16)).toBeUndefined();
    expect(estimateSeparationMemoryMb({ ...twoStems, batchSegments: 1, mergedSegments: 16 })).toBe(
      350 + 2 * (40 + 16 * 140),
    );
    // A batch larger than the merged calls still counts as itself.
    expect(estimateSeparationMemoryMb({ ...twoStems, batchSegments: 8, mergedSegments: 4 })).toBe(
      estimateSeparationMemoryMb({ ...twoStems, batchSegments: 8 }),
    );
  });

  it('memoryLimitError names the estimate, the limit and the key', () => {
    const err = memoryLimitError('spleeter:2stems', 1549.6, 1024);
    expect(err.code).toBe(ErrorCodes.MEMORY_LIMIT);
    expect(err.message).toMatch(/1550 MiB, over performance\.memory_limit_mb \(1024 MiB\)/);
  });
});
