import type { Principal } from '../../common/auth/principal';
import { SeparationLifecycle } from './separation-lifecycle.service';
import { SeparationStatus } from './separation-status';
import {
  aJob,
  lifecycleOf,
  separationMocks,
  type MockOverrides,
} from '../../../test/support/separation-test-kit';
import { toSeparationResponse } from './separation.mapper';

const USER: Principal = { id: 'user-1', role: 'user', method: 'api-key' };

function build(o: MockOverrides = {}) {
  const m = separationMocks({
    ...o,
    jobs: { transition: async () => true, update: async () => undefined, ...o.jobs },
    queue: { cancel: async () => 'removed' as const, ...o.queue },
    storage: { delete: async () => undefined, deletePrefix: async () => undefined, ...o.storage },
    callbacks: { schedule: () => undefined, ...o.callbacks },
  });
  const updates: string[] = [];
  m.hub.updatesFor(aJob().id).subscribe((u) => updates.push(`${u.status}:${u.progress}`));
  return { sut: lifecycleOf(m), m, updates };
}

describe(SeparationLifecycle.name, () => {
  it('request-side events name the caller and that request; worker-side ones the job (provider on success)', async () => {
    const { sut, m } = build();
    const job = aJob({ requestId: 'req-create', executionProvider: 'cpu' });
    await sut.cancel(job, { principal: USER, requestId: 'req-cancel' });
    const [event, payload] = m.events.emit.mock.calls[0];
    expect(event).toBe('separation.canceled');
    expect(payload).toMatchObject({
      jobId: job.id,
      principal: USER,
      requestId: 'req-cancel',
      ownerId: 'user-1',
    });
    // As before the lifecycle existed: a request's events carry no execution provider.
    expect(payload).not.toHaveProperty('executionProvider');

    const running = aJob({
      status: SeparationStatus.Running,
      startedAt: new Date(job.createdAt.getTime() + 500),
    });
    m.events.emit.mockClear();
    await sut.fail(running, 'CORRUPT_AUDIO', 'bad');
    expect(m.events.emit).toHaveBeenCalledWith(
      'separation.failed',
      expect.objectContaining({ errorCode: 'CORRUPT_AUDIO', requestId: undefined }),
    );
    expect(m.events.emit.mock.calls[0][1]).not.toHaveProperty('principal');
    expect(running.timings).toMatchObject({ queuedMs: 500, decodeMs: null });

    const done = aJob({ status: SeparationStatus.Running, startedAt: job.createdAt });
    m.events.emit.mockClear();
    const finishedAt = new Date(job.createdAt.getTime() + 2000);
    const timings = { totalMs: 1900, decodeMs: 1, inferenceMs: 2, dspMs: 3, encodeMs: 4, analysisMs: 0 };
    const stats = { modelCalls: 6, sharedModelCalls: 2 };
    const result = { executionProvider: 'cuda', model: { name: 'm', stems: [] }, timings, stats } as never;
    expect(running.timings).not.toHaveProperty('modelCalls');
    expect(toSeparationResponse(running, { baseUrl: '' }).stats).toBeNull();
    expect(await sut.succeed(done, result, [], finishedAt)).toBe(true);
    // The model calls ride in the timings column; the job JSON shows them as `stats`.
    expect(done.timings).toMatchObject({ totalMs: 2000, modelCalls: 6, sharedModelCalls: 2 });
    expect(toSeparationResponse(done, { baseUrl: '' }).stats).toEqual(stats);
    expect(m.events.emit).toHaveBeenCalledWith(
      'separation.succeeded',
      expect.objectContaining({
        executionProvider: 'cuda',
        durationMs: 2000,
        modelCalls: 6,
        sharedModelCalls: 2,
      }),
    );
    expect(done.expiresAt!.getTime() - finishedAt.getTime()).toBe(24 * 3600_000);
  });

  it('fans a change out once: live update, event, and the callback only for a finished job', async () => {
    const { sut, m, updates } = build();
    const job = aJob({ callbackUrl: 'https://example.com/h', attempts: 1, progress: 40 });
    expect(await sut.claim(job)).toBe(true);
    job.progress = 55;
    sut.progress(job, 'inference');
    await sut.requeue(job);
    expect(m.callbacks.schedule).not.toHaveBeenCalled();
    expect(m.events.emit.mock.calls.map(([e]) => e)).toEqual(['separation.started', 'separation.progress']);
    await sut.cancel(job, { principal: USER });
    expect(m.callbacks.schedule).toHaveBeenCalledTimes(1);
    expect(updates).toEqual(['running:40', 'running:55', 'queued:55', 'canceled:55']);
  });

  it('a request-side change that lost the compare-and-set changes nothing else', async () => {
    const { sut, m, updates } = build({ jobs: { transition: async () => false } });
    expect(await sut.cancel(aJob(), { principal: USER })).toBe(false);
    expect(m.queue.cancel).not.toHaveBeenCalled();
    expect(m.storage.delete).not.toHaveBeenCalled();
    expect(m.events.emit).not.toHaveBeenCalled();
    expect(updates).toEqual([]);
  });
});
