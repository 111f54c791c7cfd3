import type { MessageEvent } from '@nestjs/common';
import { ANONYMOUS_ADMIN } from '../../common/auth/principal';
import type { SeparationJobEntity } from './entities/separation-job.entity';
import { SeparationReader } from './separation-reader.service';
import { SeparationStatus } from './separation-status';
import { SeparationStreamService } from './separation-stream.service';
import { aJob, separationMocks } from '../../../test/support/separation-test-kit';

const POLL_MS = 1000;

/**
 * The stream over a job that runs in this process: live hub updates race with the database poll,
 * whose rows lag behind (written once a second, read once a second).
 */
function build(start: Partial<SeparationJobEntity>) {
  let row = aJob({ status: SeparationStatus.Running, attempts: 1, ...start });
  const m = separationMocks({
    jobs: { findById: async () => ({ ...row }) as SeparationJobEntity },
    queue: { position: async () => null },
  });
  const reader = new SeparationReader(m.jobs, m.queue, m.config, m.hub);
  const sut = new SeparationStreamService(m.jobs, reader, m.hub);
  sut.timings = { pollMs: POLL_MS, heartbeatMs: 3_600_000 };
  const setRow = (patch: Partial<SeparationJobEntity>) => {
    row = Object.assign(aJob(), row, patch);
  };
  return { sut, m, reader, setRow, job: row };
}

describe(SeparationStreamService.name, () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('never shows progress going back when the lagging database poll interleaves with live updates', async () => {
    const { sut, m, setRow, job } = build({ progress: 0, stage: 'starting' });
    const events: MessageEvent[] = [];
    let done = false;
    (await sut.events(ANONYMOUS_ADMIN, job.id)).subscribe({
      next: (e) => events.push(e),
      complete: () => (done = true),
    });
    const live = (progress: number, status = SeparationStatus.Running, attempt = 1) =>
      m.hub.publish({ jobId: job.id, status, progress, stage: 'separate', attempt });

    live(9);
    live(19);
    setRow({ progress: 9, stage: 'separate' }); // the last database write, one second old
    live(29);
    await jest.advanceTimersByTimeAsync(POLL_MS); // the poll reads 9 after the stream showed 29
    live(39);
    // A poll that started before the job was claimed answers the row as it was then.
    setRow({ status: SeparationStatus.Queued, attempts: 0, progress: 0, stage: null });
    await jest.advanceTimersByTimeAsync(POLL_MS);
    setRow({ status: SeparationStatus.Running, attempts: 1, progress: 39, stage: 'separate' });
    live(49);
    live(44); // a late tick from a slower reporter
    await jest.advanceTimersByTimeAsync(POLL_MS);
    setRow({ status: SeparationStatus.Succeeded, progress: 100, stage: null });
    live(100, SeparationStatus.Succeeded);
    await jest.advanceTimersByTimeAsync(0);

    expect(done).toBe(true);
    const progress = events.filter((e) => e.type === 'progress').map((e) => e.data as { progress: number });
    const seen = progress.map((p) => p.progress);
    expect(seen).toEqual([9, 19, 29, 39, 49]);
    expect(
      events
        .filter((e) => e.type === 'progress')
        .every((e) => (e.data as { status: string }).status === 'running'),
    ).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'succeeded', data: { progress: 100 } });
  });

  it('keeps the shown progress when a failed job’s row lags behind the last live update', async () => {
    const { sut, m, setRow, job } = build({ progress: 0 });
    const events: MessageEvent[] = [];
    (await sut.events(ANONYMOUS_ADMIN, job.id)).subscribe((e) => events.push(e));
    m.hub.publish({
      jobId: job.id,
      status: SeparationStatus.Running,
      progress: 60,
      stage: 'separate',
      attempt: 1,
    });
    setRow({ status: SeparationStatus.Failed, progress: 40, stage: null });
    m.hub.publish({ jobId: job.id, status: SeparationStatus.Failed, progress: 60, stage: null, attempt: 1 });
    await jest.advanceTimersByTimeAsync(0);
    expect(events.at(-1)).toMatchObject({ type: 'failed', data: { progress: 60 } });
  });
});

describe(`${SeparationReader.name} (GET of a job running in this process)`, () => {
  it('answers at least the progress the live updates reached, not the older database copy', async () => {
    const { m, reader, job } = build({ progress: 20, stage: 'separate' });
    m.hub.publish({
      jobId: job.id,
      status: SeparationStatus.Running,
      progress: 57,
      stage: 'encode',
      attempt: 1,
    });
    expect(await reader.toResponse({ ...job } as SeparationJobEntity)).toMatchObject({
      status: 'running',
      progress: 57,
      stage: 'encode',
    });
    // The row is authoritative once the job is finished.
    expect(
      await reader.toResponse(
        Object.assign(aJob(), job, { status: SeparationStatus.Succeeded, progress: 100, stage: null }),
      ),
    ).toMatchObject({ status: 'succeeded', progress: 100 });
  });
});
