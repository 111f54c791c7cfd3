/**
 * Idle release of the separation worker pool with real worker threads, real onnxruntime sessions
 * (one instrument thread each) on a generated 4-stem model: a worker idle for `idleReleaseMs` exits
 * (its sessions and threads go), the next job starts a fresh one and writes identical files, and a
 * job that arrives while workers are being released is not lost.
 */
import * as fs from 'fs';
import * as path from 'path';
import { makeTempDir, noise, writeWav } from '../factories/audio';
import { testModelDir } from '../factories/models';
import { stemFilesOf as filesOf, workerPoolKit } from '../support/worker-pool-kit';
import { SeparationWorkerPool } from '../../src/engine/workers/separation-worker-pool';
import type { SeparationResult } from '../../src/engine/types';

jest.setTimeout(120_000);

let dir: string;
let model: string;
let input: string;
const kit = workerPoolKit(() => dir);
const makePool = (idleReleaseMs: number): SeparationWorkerPool => kit.makePool(1, { idleReleaseMs });
const separate = (pool: SeparationWorkerPool): Promise<SeparationResult> => kit.separate(pool, input, model);

/** Polls `check` every `stepMs` until it holds; fails after `limitMs`. */
async function until(check: () => boolean, limitMs = 15_000, stepMs = 20): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** OS threads of this process (the pool's workers and onnxruntime's thread pools count here). */
function threadCount(): number {
  const m = /^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

beforeAll(async () => {
  dir = await makeTempDir('worker-idle-');
  model = await testModelDir('identity', { config: '4stems', F: 1024 });
  input = await writeWav(path.join(dir, 'in.wav'), noise({ seconds: 2.5, amplitude: 0.3, seed: 5 }), {
    encoding: 'f32',
  });
});

afterAll(() => kit.cleanup());

describe(SeparationWorkerPool.name, () => {
  it('retires an idle worker after idleReleaseMs; the next job starts a new one and writes identical stems', async () => {
    const sut = makePool(1000);
    expect(sut.stats).toMatchObject({ live: 0, started: 0 });

    const first = await separate(sut);
    expect(first.model.stems).toEqual(['vocals', 'drums', 'bass', 'other']);
    expect(sut.stats).toMatchObject({ live: 1, busy: 0, started: 1, released: 0 });
    const threadsLoaded = threadCount();

    await until(() => sut.stats.live === 0 && sut.stats.retiring === 0);
    expect(sut.stats).toMatchObject({ live: 0, retiring: 0, released: 1 });
    // The worker thread, its 4 instrument threads and their onnxruntime pools are gone.
    expect(threadCount()).toBeLessThanOrEqual(threadsLoaded - 5);

    const second = await separate(sut);
    expect(sut.stats).toMatchObject({ live: 1, started: 2, released: 1 });
    expect(await filesOf(second)).toEqual(await filesOf(first));
  });

  it('keeps its worker when idleReleaseMs is 0', async () => {
    const sut = makePool(0);
    await separate(sut);
    await new Promise((r) => setTimeout(r, 1500));
    expect(sut.stats).toMatchObject({ live: 1, started: 1, released: 0 });
  });

  it('does not lose a job submitted in the same tick as a release: it starts a new worker', async () => {
    const sut = makePool(0);
    const first = await separate(sut);

    const released = sut.releaseIdle();
    const raced = separate(sut);
    expect(sut.stats).toMatchObject({ live: 1, busy: 1, retiring: 1, started: 2 });
    await expect(released).resolves.toBe(1);
    const result = await raced;
    expect(await filesOf(result)).toEqual(await filesOf(first));
    expect(sut.stats).toMatchObject({ live: 1, busy: 0, retiring: 0, started: 2, released: 1 });
  });

  it('runs a job submitted while the idle timer is retiring the worker', async () => {
    const sut = makePool(300);
    const first = await separate(sut);
    // Catch the moment the timer has taken the worker out of service (it is still disposing, or gone).
    await until(() => sut.stats.live === 0, 10_000, 1);
    const result = await separate(sut);
    expect(await filesOf(result)).toEqual(await filesOf(first));
    expect(sut.stats.started).toBe(2);
  });

  it('shuts down while a worker is retiring, and refuses jobs afterwards', async () => {
    const sut = makePool(0);
    await separate(sut);
    const released = sut.releaseIdle();
    await sut.close();
    await released;
    expect(sut.stats).toMatchObject({ live: 0, retiring: 0 });
    await expect(separate(sut)).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
