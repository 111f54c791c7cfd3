import { Logger } from '@nestjs/common';
import { AudioProcessingError, ErrorCodes } from '../../core/errors';
import { JobAbortedError, type JobContext } from '../../infra/queue/job-queue';
import type { SeparationResult } from '../../engine/types';
import { SeparationExecutionService } from './separation-execution.service';
import { SeparationScratchService } from './separation-scratch.service';
import { SeparationStatus } from './separation-status';
import {
  aJob,
  lifecycleOf,
  separationMocks,
  type MockOverrides,
} from '../../../test/support/separation-test-kit';

const STAGING = '/data/storage/tmp/d-abc';

function result(overrides: Partial<SeparationResult> = {}): SeparationResult {
  return {
    audioPath: '/data/storage/uploads/x',
    model: { name: 'builtin:center', version: '1', stems: ['center', 'sides'] },
    executionProvider: 'cpu',
    executionDevice: 'Test CPU',
    input: { format: 'wav', sampleRate: 44100, channels: 2, durationSec: 3 },
    outputs: { center: `${STAGING}/center.wav`, sides: `${STAGING}/sides.wav` },
    timings: { totalMs: 100, decodeMs: 10, inferenceMs: 70, dspMs: 10, encodeMs: 10, analysisMs: 0 },
    stats: { modelCalls: 0, sharedModelCalls: 0 },
    realtimeFactor: 30,
    ...overrides,
  };
}

function build(o: MockOverrides = {}, job = aJob()) {
  const m = separationMocks({
    ...o,
    engine: { executionProvider: 'cpu', ...o.engine } as MockOverrides['engine'],
    jobs: {
      findById: async () => ({ ...job }) as never,
      transition: async () => true,
      updateProgress: async () => undefined,
      ...o.jobs,
    },
    storage: {
      createScratchDir: async () => STAGING,
      sweepScratch: async () => 0,
      removeScratch: async () => undefined,
      localPath: async (key: string) => `/data/storage/${key}`,
      putFile: async (key: string) => ({ key, size: 123, etag: `"e-${key}"`, modifiedAt: new Date() }),
      delete: async () => undefined,
      deletePrefix: async () => undefined,
      ...o.storage,
    },
    callbacks: { schedule: () => undefined, ...o.callbacks },
  });
  const sut = new SeparationExecutionService(
    m.jobs,
    m.storage,
    m.cache,
    m.engine,
    lifecycleOf(m),
    m.hub,
    new SeparationScratchService(m.jobs, m.storage),
  );
  return { sut, m, job };
}

function ctx(controller = new AbortController()): JobContext {
  return { id: aJob().id, signal: controller.signal, attempt: 1 };
}

// The service logs each job's start and outcome; the tests assert on calls, not on console output.
beforeAll(() => Logger.overrideLogger(false));

describe(SeparationExecutionService.name, () => {
  it('claims the job, commits each output under results/<id>/, records success, caches and calls back', async () => {
    const { sut, m, job } = build({
      engine: { separate: async () => result() },
      cache: { store: async () => undefined },
    });
    const updates: string[] = [];
    m.hub.updatesFor(job.id).subscribe((u) => updates.push(u.status));

    await sut.run(job.id, ctx());

    expect(m.jobs.transition).toHaveBeenNthCalledWith(
      1,
      job.id,
      ['queued', 'running'],
      expect.objectContaining({ status: 'running', attempts: 1 }),
    );
    const params = m.engine.separate.mock.calls[0][0];
    expect(params).toMatchObject({
      audioPath: `/data/storage/${job.inputKey}`,
      outputDir: STAGING,
      modelName: 'builtin:center@1',
      codec: 'wav',
    });
    expect(m.storage.putFile).toHaveBeenCalledWith(`results/${job.id}/center.wav`, `${STAGING}/center.wav`, {
      move: true,
    });
    expect(m.storage.putFile).toHaveBeenCalledWith(`results/${job.id}/sides.wav`, `${STAGING}/sides.wav`, {
      move: true,
    });
    const [, from, patch] = m.jobs.transition.mock.calls[1];
    expect(from).toEqual(['running']);
    expect(patch).toMatchObject({
      status: 'succeeded',
      progress: 100,
      executionProvider: 'cpu',
      stems: [
        {
          name: 'center',
          key: `results/${job.id}/center.wav`,
          codec: 'wav',
          contentType: 'audio/wav',
          size: 123,
        },
        {
          name: 'sides',
          key: `results/${job.id}/sides.wav`,
          codec: 'wav',
          contentType: 'audio/wav',
          size: 123,
        },
      ],
      timings: { decodeMs: 10, inferenceMs: 70, encodeMs: 10 },
    });
    expect(
      (patch as { expiresAt: Date }).expiresAt.getTime() -
        (patch as { finishedAt: Date }).finishedAt.getTime(),
    ).toBe(24 * 3600_000);
    expect(m.storage.delete).toHaveBeenCalledWith(job.inputKey);
    expect(m.storage.removeScratch).toHaveBeenCalledWith(STAGING);
    expect(m.cache.store).toHaveBeenCalledWith(
      job.cacheKey,
      expect.objectContaining({
        stems: [
          { name: 'center', path: `/data/storage/results/${job.id}/center.wav` },
          { name: 'sides', path: `/data/storage/results/${job.id}/sides.wav` },
        ],
      }),
    );
    expect(m.callbacks.schedule).toHaveBeenCalledWith(job.id);
    expect(updates).toEqual(['running', 'succeeded']);
    expect(m.events.emit).toHaveBeenCalledWith(
      'separation.succeeded',
      expect.objectContaining({ jobId: job.id, model: 'builtin:center' }),
    );
  });

  it("stores the analysis: the input's on the row, each stem's with the stem, all of it in the cache", async () => {
    const signal = (lufs: number | null, empty: boolean) => ({
      sampleRate: 44100,
      channels: 2,
      durationSec: 3,
      loudness: {
        integratedLufs: lufs,
        loudnessRangeLu: null,
        truePeakDbtp: null,
        samplePeakDbfs: null,
        maxMomentaryLufs: null,
        maxShortTermLufs: null,
      },
      silence: {
        ranges: [],
        truncated: false,
        silentSec: empty ? 3 : 0,
        silentFraction: empty ? 1 : 0,
        thresholdDbfs: -60,
        minDurationSec: 0.5,
      },
      empty,
    });
    const analysis = {
      input: signal(-14, false),
      stems: { center: signal(-14.2, false), sides: signal(null, true) },
    };
    const { sut, m, job } = build({
      engine: { separate: async () => result({ analysis }) },
      cache: { store: async () => undefined },
    });
    await sut.run(job.id, ctx());
    const [, , patch] = m.jobs.transition.mock.calls[1];
    expect(patch).toMatchObject({
      analysis: analysis.input,
      stems: [
        { name: 'center', analysis: analysis.stems.center },
        { name: 'sides', analysis: analysis.stems.sides },
      ],
    });
    expect(m.cache.store).toHaveBeenCalledWith(job.cacheKey, expect.objectContaining({ analysis }));
  });

  it('does nothing for a job that is no longer queued (canceled before a worker took it)', async () => {
    const { sut, m, job } = build({}, aJob({ status: SeparationStatus.Canceled }));
    await sut.run(job.id, ctx());
    expect(m.jobs.transition).not.toHaveBeenCalled();
  });

  it('does not run when another worker won the claim', async () => {
    const { sut, m, job } = build({ jobs: { transition: async () => false } });
    await sut.run(job.id, ctx());
    expect(m.jobs.transition).toHaveBeenCalledTimes(1);
  });

  it('puts the job back to queued when shutdown aborts it', async () => {
    const controller = new AbortController();
    const { sut, m, job } = build({
      engine: {
        separate: async () => {
          controller.abort(new JobAbortedError('shutdown'));
          throw new Error('aborted');
        },
      },
    });
    await sut.run(job.id, ctx(controller));
    expect(m.jobs.transition).toHaveBeenLastCalledWith(job.id, ['running'], {
      status: 'queued',
      progress: 0,
      stage: null,
      startedAt: null,
    });
    expect(m.callbacks.schedule).not.toHaveBeenCalled();
    expect(m.storage.delete).not.toHaveBeenCalled(); // the upload is needed for the next run
    expect(m.storage.removeScratch).toHaveBeenCalledWith(STAGING);
  });

  it('on cancel mid-run keeps the canceled row, writes no result and removes partial files', async () => {
    const controller = new AbortController();
    const { sut, m, job } = build({
      engine: {
        separate: async () => {
          controller.abort(new JobAbortedError('canceled'));
          throw new Error('aborted');
        },
      },
    });
    await sut.run(job.id, ctx(controller));
    const last = m.jobs.transition.mock.calls.at(-1)!;
    expect(last[2]).toMatchObject({ status: 'canceled' });
    expect(m.storage.putFile).not.toHaveBeenCalled();
    expect(m.storage.deletePrefix).toHaveBeenCalledWith(`results/${job.id}`);
    expect(m.callbacks.schedule).not.toHaveBeenCalled();
  });

  it('deletes the committed files when a cancel wins the race with the final write', async () => {
    let calls = 0;
    const { sut, m, job } = build({
      engine: { separate: async () => result() },
      jobs: { transition: async () => ++calls === 1 },
    });
    await sut.run(job.id, ctx());
    expect(m.storage.deletePrefix).toHaveBeenCalledWith(`results/${job.id}`);
    expect(m.callbacks.schedule).not.toHaveBeenCalled();
  });

  it('records an engine error with its code and a message without server paths', async () => {
    const { sut, m, job } = build({
      engine: {
        separate: async () => {
          throw new AudioProcessingError(
            ErrorCodes.CORRUPT_AUDIO,
            'Cannot decode /data/storage/uploads/abc: bad frame',
          );
        },
      },
    });
    await sut.run(job.id, ctx());
    expect(m.jobs.transition.mock.calls.at(-1)![2]).toMatchObject({
      status: 'failed',
      errorCode: 'CORRUPT_AUDIO',
      errorMessage: 'Cannot decode <file>: bad frame',
    });
    expect(m.storage.delete).toHaveBeenCalledWith(job.inputKey);
    expect(m.callbacks.schedule).toHaveBeenCalledWith(job.id);
  });

  it('reports unknown errors as INTERNAL with an error id, never their message', async () => {
    const { sut, m, job } = build({
      engine: {
        separate: async () => {
          throw new TypeError('Cannot read properties of undefined (reading "secret")');
        },
      },
    });
    await sut.run(job.id, ctx());
    const patch = m.jobs.transition.mock.calls.at(-1)![2] as { errorCode: string; errorMessage: string };
    expect(patch.errorCode).toBe('INTERNAL');
    expect(patch.errorMessage).toMatch(/error id [0-9a-f-]{36}/);
    expect(patch.errorMessage).not.toContain('secret');
  });

  it('throttles progress: live updates for the hub, at most one database write per second', async () => {
    const { sut, m, job } = build({
      engine: {
        separate: async (p) => {
          for (let i = 1; i <= 50; i++) p.onProgress?.(i / 50, 'inference');
          return result();
        },
      },
      cache: { store: async () => undefined },
    });
    const progress: number[] = [];
    m.hub.updatesFor(job.id).subscribe((u) => progress.push(u.progress));
    await sut.run(job.id, ctx());
    expect(m.jobs.updateProgress).toHaveBeenCalledTimes(1);
    expect(progress[progress.length - 1]).toBe(100);
    expect(progress.every((p) => p >= 0 && p <= 100)).toBe(true);
  });
});
