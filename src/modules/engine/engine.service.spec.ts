import { AppConfig } from '../../infra/config/app-config';
import { loadConfig } from '../../infra/config/config.loader';
import { jobsPerWorkerOf } from './engine.service';

function config(performance: Record<string, unknown>, concurrency = 8): AppConfig {
  return new AppConfig(loadConfig({ env: {}, overrides: { performance, queue: { concurrency } } }));
}

describe('jobsPerWorkerOf', () => {
  it('is 1 by default: a worker thread per job, as before', () => {
    expect(jobsPerWorkerOf(config({}))).toBe(1);
    expect(jobsPerWorkerOf(config({ enable_gpu: true }))).toBe(1);
  });

  it("resolves 'auto' to 4 on a GPU and 1 on the CPU, never above queue.concurrency", () => {
    expect(jobsPerWorkerOf(config({ jobs_per_worker: 'auto' }))).toBe(1);
    expect(jobsPerWorkerOf(config({ jobs_per_worker: 'auto', enable_gpu: true }))).toBe(4);
    // The GPU was asked for but the start-up check fell back to the CPU.
    expect(jobsPerWorkerOf(config({ jobs_per_worker: 'auto', enable_gpu: true }), true)).toBe(1);
    expect(jobsPerWorkerOf(config({ jobs_per_worker: 2, enable_gpu: true }), true)).toBe(2);
    expect(jobsPerWorkerOf(config({ jobs_per_worker: 'auto', require_gpu: true }, 2))).toBe(2);
    expect(jobsPerWorkerOf(config({ jobs_per_worker: 3 }))).toBe(3);
  });

  it('reads SPLEETER_JOBS_PER_WORKER and refuses values out of range', () => {
    const env = { SPLEETER_JOBS_PER_WORKER: 'auto', SPLEETER_ENABLE_GPU: 'true' };
    expect(
      jobsPerWorkerOf(new AppConfig(loadConfig({ env, overrides: { queue: { concurrency: 8 } } }))),
    ).toBe(4);
    expect(() => loadConfig({ env: { SPLEETER_JOBS_PER_WORKER: '0' } })).toThrow(/jobs_per_worker/);
    expect(() => loadConfig({ env: { SPLEETER_CROSS_JOB_BATCHING: 'maybe' } })).toThrow(/cross_job_batching/);
    expect(loadConfig({ env: { SPLEETER_BATCH_WINDOW_MS: '5' } }).performance).toMatchObject({
      batch_window_ms: 5,
      cross_job_batching: 'auto',
      max_batch_segments: 16,
    });
  });
});
