/**
 * Several jobs in one worker thread (performance.jobs_per_worker), real worker threads and
 * onnxruntime sessions on a generated 4-stem model: two jobs run at once in one worker (sharing
 * its engine, sessions and, with cross-job batching on, model calls), a third waits its turn;
 * cancelling one of the two leaves the other to finish with the same bytes as alone; a worker that
 * dies fails both of its jobs; closing the pool with jobs running rejects them and lets the worker
 * cancel them and exit by itself.
 */
import * as path from 'path';
import type { Worker } from 'worker_threads';
import { ErrorCodes } from '../../src/core/errors';
import { SeparationWorkerPool } from '../../src/engine/workers/separation-worker-pool';
import type { InferenceThreadBudget } from '../../src/infra/onnx/inference-thread-budget';
import { makeTempDir, noise, tone, writeWav } from '../factories/audio';
import { testModelDir } from '../factories/models';
import { stemFilesOf, workerPoolKit } from '../support/worker-pool-kit';

jest.setTimeout(180_000);

let dir: string;
let model: string;
let long: string;
let short: string;
const kit = workerPoolKit(() => dir);

beforeAll(async () => {
  dir = await makeTempDir('worker-shared-');
  model = await testModelDir('identity', { config: '4stems', F: 1024 });
  long = await writeWav(path.join(dir, 'long.wav'), noise({ seconds: 20, amplitude: 0.3, seed: 2 }), {
    encoding: 'f32',
  });
  short = await writeWav(path.join(dir, 'short.wav'), tone({ seconds: 3, frequency: 220, amplitude: 0.3 }), {
    encoding: 'f32',
  });
});

afterAll(() => kit.cleanup());

describe(SeparationWorkerPool.name, () => {
  it('runs two jobs at once in one worker; cancelling one leaves the other to finish, FIFO for the third', async () => {
    const sut = kit.makePool(1, { jobsPerWorker: 2 }, { crossJobBatching: 'on' });
    const controller = new AbortController();
    let canceledAt: number | null = null;
    const doomed = sut.separate({
      audioPath: long,
      modelName: model,
      outputDir: path.join(dir, 'doomed'),
      bitDepth: 32,
      signal: controller.signal,
      onProgress: (fraction) => {
        // Cancel once it is under way, while the other job runs beside it.
        if (canceledAt === null && fraction > 0) {
          canceledAt = fraction;
          controller.abort();
        }
      },
    });
    const survivor = kit.separate(sut, short, model);
    const third = kit.separate(sut, short, model);
    expect(sut.stats).toMatchObject({ live: 1, busy: 1, running: 2, waiting: 1, started: 1 });

    await expect(doomed).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED });
    expect(canceledAt).not.toBeNull();
    const [a, b] = await Promise.all([survivor, third]);
    expect(sut.stats).toMatchObject({ live: 1, busy: 0, running: 0, waiting: 0, started: 1 });

    const alone = await kit.separate(sut, short, model);
    expect(alone.stats.sharedModelCalls).toBe(0);
    const reference = await stemFilesOf(alone);
    expect(await stemFilesOf(a)).toEqual(reference);
    expect(await stemFilesOf(b)).toEqual(reference);
    expect(sut.stats.started).toBe(1);
  });

  it('fails every job of a worker that dies, and starts a new worker for the next', async () => {
    const sut = kit.makePool(1, { jobsPerWorker: 2 });
    let progressed = 0;
    const run = () =>
      sut.separate({
        audioPath: long,
        modelName: model,
        outputDir: path.join(dir, `crash-${progressed}-${Math.random()}`),
        bitDepth: 32,
        onProgress: () => void progressed++,
      });
    const jobs = [run(), run()];
    const outcomes = Promise.allSettled(jobs);
    while (progressed === 0) await new Promise((r) => setTimeout(r, 10));
    expect(sut.stats).toMatchObject({ live: 1, running: 2 });
    // A thread that ends with both jobs inside. Ended outside onnxruntime (under the budget's
    // exclusive hold, as the pool does): one ended inside a model call aborts the whole process.
    const internals = sut as unknown as { slots: Array<{ worker: Worker }>; budget: InferenceThreadBudget };
    const [slot] = internals.slots;
    await internals.budget.exclusive(() => slot.worker.terminate());
    for (const o of await outcomes) {
      expect(o).toMatchObject({ status: 'rejected', reason: { code: ErrorCodes.INTERNAL } });
    }
    expect(sut.stats).toMatchObject({ live: 0, running: 0 });
    const next = await kit.separate(sut, short, model);
    expect(Object.keys(next.outputs)).toHaveLength(4);
    expect(sut.stats).toMatchObject({ live: 1, started: 2 });
  });

  it('close() with jobs running rejects them and lets the worker cancel them and exit on its own', async () => {
    const sut = kit.makePool(1, { jobsPerWorker: 2, retireGraceMs: 60_000 });
    let progressed = 0;
    const run = () =>
      sut.separate({
        audioPath: long,
        modelName: model,
        outputDir: path.join(dir, `closed-${Math.random()}`),
        bitDepth: 32,
        onProgress: () => void progressed++,
      });
    const outcomes = Promise.allSettled([run(), run()]);
    while (progressed === 0) await new Promise((r) => setTimeout(r, 10));
    const [slot] = (sut as unknown as { slots: Array<{ worker: Worker }> }).slots;
    const exitCode = new Promise<number>((resolve) => slot.worker.once('exit', resolve));
    await sut.close();
    for (const o of await outcomes) {
      expect(o).toMatchObject({
        status: 'rejected',
        reason: { code: ErrorCodes.INTERNAL, message: 'Shutting down' },
      });
    }
    // 0: it exited itself after disposing (a terminated thread exits with 1).
    expect(await exitCode).toBe(0);
    expect(sut.stats).toMatchObject({ live: 0, running: 0, inferenceThreads: { inUse: 0 } });
    await expect(kit.separate(sut, short, model)).rejects.toMatchObject({ code: ErrorCodes.INTERNAL });
  });

  it('close() with no grace terminates a busy worker only outside onnxruntime: the process lives on', async () => {
    // Terminating a thread inside a model call aborts this whole process (std::terminate in
    // onnxruntime-node's binding) when the call returns; the pool waits for the budget instead.
    for (let round = 0; round < 3; round++) {
      const sut = kit.makePool(1, { jobsPerWorker: 2, retireGraceMs: 1 });
      let progressed = 0;
      const outcomes = Promise.allSettled(
        [0, 1].map((i) =>
          sut.separate({
            audioPath: long,
            modelName: model,
            outputDir: path.join(dir, `graceless-${round}-${i}`),
            bitDepth: 32,
            onProgress: () => void progressed++,
          }),
        ),
      );
      while (progressed === 0) await new Promise((r) => setTimeout(r, 10));
      await sut.close();
      for (const o of await outcomes) expect(o).toMatchObject({ status: 'rejected' });
      expect(sut.stats.inferenceThreads.inUse).toBe(0);
    }
  });
});
