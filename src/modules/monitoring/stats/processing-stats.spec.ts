import { ProcessingStats } from './processing-stats';

describe(ProcessingStats.name, () => {
  let now = 0;
  const make = () => new ProcessingStats({ now: () => now, windowMs: 60_000, sampleSize: 20 });

  beforeEach(() => (now = 1_000_000));

  it('reports nulls before any job', () => {
    const s = make().snapshot();
    expect(s).toMatchObject({
      successRate: null,
      cacheHitRate: null,
      averageProcessingMs: null,
      p95ProcessingMs: null,
      averageRealtimeFactor: null,
    });
    expect(s.window.errorRatePercent).toBe(0);
  });

  it('computes rates, mean, nearest-rank p95 and realtime factor from what ran', () => {
    const sut = make();
    for (let i = 1; i <= 20; i++)
      sut.record({
        outcome: 'succeeded',
        model: 'm',
        executionProvider: 'cpu',
        durationMs: i * 100,
        audioSeconds: 10,
      });
    sut.record({ outcome: 'cached', model: 'm', audioSeconds: 10 });
    sut.record({ outcome: 'failed', model: 'm', executionProvider: 'cpu', durationMs: 50 });
    sut.record({ outcome: 'canceled', model: 'm' });
    const s = sut.snapshot();
    expect(s.totals).toEqual({ completed: 23, succeeded: 20, failed: 1, canceled: 1, cached: 1 });
    expect(s.successRate).toBeCloseTo(21 / 22, 12);
    expect(s.cacheHitRate).toBeCloseTo(1 / 21, 12);
    expect(s.averageProcessingMs).toBe(1050);
    expect(s.p95ProcessingMs).toBe(1900);
    // 200 s of audio in 21 s of processing.
    expect(s.averageRealtimeFactor).toBeCloseTo(200 / 21, 12);
    expect(s.audioSecondsProcessed).toBe(200);
    expect(s.executionProviders).toEqual({ cpu: 21 });
    expect(s.window.errorRatePercent).toBeCloseTo((1 / 22) * 100, 12);
    expect(s.window.jobsPerMinute).toBe(23);
  });

  it('keeps p95 over the most recent samples only', () => {
    const sut = make();
    for (let i = 0; i < 20; i++) sut.record({ outcome: 'succeeded', model: 'm', durationMs: 10_000 });
    for (let i = 0; i < 20; i++) sut.record({ outcome: 'succeeded', model: 'm', durationMs: 100 });
    expect(sut.snapshot().p95ProcessingMs).toBe(100);
  });

  it('forgets failures that left the window (alerts clear), keeps the totals', () => {
    const sut = make();
    sut.record({ outcome: 'failed', model: 'm' });
    expect(sut.snapshot().window.errorRatePercent).toBe(100);
    now += 60_001;
    sut.record({ outcome: 'succeeded', model: 'm', durationMs: 5 });
    const s = sut.snapshot();
    expect(s.window).toMatchObject({ completed: 1, failed: 0, errorRatePercent: 0 });
    expect(s.totals.failed).toBe(1);
  });
});
