/**
 * The separation pool's one inference thread budget with real worker threads and onnxruntime
 * sessions (a generated 2-stem model, one instrument thread each): two jobs at once in two workers
 * never hold more inference threads than the budget, and write byte-identical stems to the same
 * jobs run one after another.
 */
import * as path from 'path';
import { makeTempDir, noise, writeWav } from '../factories/audio';
import { testModelDir } from '../factories/models';
import { stemFilesOf as filesOf, workerPoolKit } from '../support/worker-pool-kit';
import { SeparationWorkerPool } from '../../src/engine/workers/separation-worker-pool';
import type { SeparationResult } from '../../src/engine/types';

jest.setTimeout(120_000);

let dir: string;
let model: string;
let inputs: string[];
const kit = workerPoolKit(() => dir);
const makePool = (size: number, inferenceThreadBudget: number): SeparationWorkerPool =>
  kit.makePool(size, { inferenceThreadBudget });
const separate = (pool: SeparationWorkerPool, input: string): Promise<SeparationResult> =>
  kit.separate(pool, input, model);

beforeAll(async () => {
  dir = await makeTempDir('worker-budget-');
  model = await testModelDir('identity', { config: '2stems', F: 1024 });
  inputs = await Promise.all(
    [3, 4].map((seed) =>
      writeWav(path.join(dir, `in-${seed}.wav`), noise({ seconds: 2, amplitude: 0.3, seed }), {
        encoding: 'f32',
      }),
    ),
  );
});

afterAll(() => kit.cleanup());

describe(SeparationWorkerPool.name, () => {
  it('runs two jobs at once within a budget of one inference thread, with the same stems as one after another', async () => {
    const sut = makePool(2, 1);
    expect(sut.stats.inferenceThreads).toEqual({ total: 1, inUse: 0, peak: 0 });
    const alone: SeparationResult[] = [];
    for (const input of inputs) alone.push(await separate(sut, input));
    const together = await Promise.all(inputs.map((input) => separate(sut, input)));

    // Both workers ran (two jobs at once), and their model calls, two instrument sessions each,
    // took turns on the one thread: never more than one in use.
    expect(sut.stats).toMatchObject({ live: 2, started: 2 });
    expect(sut.stats.inferenceThreads).toEqual({ total: 1, inUse: 0, peak: 1 });
    for (let i = 0; i < inputs.length; i++)
      expect(await filesOf(together[i])).toEqual(await filesOf(alone[i]));
  });

  it('sizes the default budget from the cores and the sessions', () => {
    const sut = makePool(2, 0);
    expect(sut.stats.inferenceThreads.total).toBeGreaterThanOrEqual(1);
    expect(makePool(1, 7).stats.inferenceThreads.total).toBe(7);
  });
});
