/**
 * Cross-job batching (performance.cross_job_batching, core/spleeter/segment-scheduler.ts) with a
 * real network: a full-size 2-stem U-Net (generated weights) in onnxruntime, in-thread sessions
 * (the GPU path: run() blocks the thread, so the jobs join a call during the batch window rather
 * than behind a call in flight; a long window makes the merges certain here). Three separations
 * of different inputs run at once in one engine: their stems must be byte-identical to each one
 * run alone with batching off, and the network must be called fewer times than the three make
 * calls (merged calls), which relies on onnxruntime computing each segment of a batch
 * independently.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import type { SeparationResult } from '../../src/engine/types';
import { makeTempDir, noise, tone, writeWav } from '../factories/audio';
import { testModelDir } from '../factories/models';

jest.setTimeout(600_000);

let dir: string;
let model: string;
let inputs: string[];
let runs = 0;

function engine(crossJobBatching: 'on' | 'off'): SpleeterEngine {
  return new SpleeterEngine({
    modelsDir: path.join(dir, 'models'),
    intraOpThreads: 2,
    parallelInstruments: false,
    ortCacheDir: null,
    crossJobBatching,
    maxBatchSegments: 8,
    batchWindowMs: 1000,
  });
}

function separate(sut: SpleeterEngine, audioPath: string): Promise<SeparationResult> {
  return sut.separate({
    audioPath,
    modelName: model,
    outputDir: path.join(dir, `out-${++runs}`),
    bitDepth: 32,
    analysis: false,
  });
}

async function stemBytes(result: SeparationResult): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const [stem, file] of Object.entries(result.outputs)) out[stem] = await fs.promises.readFile(file);
  return out;
}

beforeAll(async () => {
  dir = await makeTempDir('cross-job-');
  model = await testModelDir('full', { config: '2stems' });
  // 1, 1 and 2 segments of 512 frames (≈ 11.9 s each), three different signals.
  inputs = await Promise.all(
    [
      noise({ seconds: 6, amplitude: 0.3, seed: 3 }),
      tone({ seconds: 8, frequency: 330, channelSpread: 0.5, amplitude: 0.4 }),
      noise({ seconds: 13, amplitude: 0.1, seed: 9 }),
    ].map((signal, i) => writeWav(path.join(dir, `in-${i}.wav`), signal, { encoding: 'f32' })),
  );
});

afterAll(() => fs.promises.rm(dir, { recursive: true, force: true }));

describe('cross-job batching (integration)', () => {
  it('three concurrent separations share model calls and write the same bytes as alone', async () => {
    const solo = engine('off');
    const alone: SeparationResult[] = [];
    for (const input of inputs) alone.push(await separate(solo, input));
    await solo.dispose();
    expect(alone.map((r) => r.stats)).toEqual([
      { modelCalls: 1, sharedModelCalls: 0 },
      { modelCalls: 1, sharedModelCalls: 0 },
      { modelCalls: 2, sharedModelCalls: 0 },
    ]);

    const shared = engine('on');
    // Load the sessions first, so that the three jobs start together rather than behind the load.
    await separate(shared, inputs[0]);
    const sessionRuns = jest.spyOn(
      (ort.InferenceSession as unknown as { prototype: { run(...args: unknown[]): unknown } }).prototype,
      'run',
    );
    let together: SeparationResult[];
    let runsSeen: number;
    try {
      together = await Promise.all(inputs.map((input) => separate(shared, input)));
    } finally {
      runsSeen = sessionRuns.mock.calls.length;
      sessionRuns.mockRestore();
    }
    await shared.dispose();

    for (let i = 0; i < inputs.length; i++) {
      expect(together[i].stats.modelCalls).toBe(alone[i].stats.modelCalls);
      expect(await stemBytes(together[i])).toEqual(await stemBytes(alone[i]));
    }
    // Two instrument sessions per model call.
    const modelCalls = runsSeen / 2;
    const requested = together.reduce((n, r) => n + r.stats.modelCalls, 0);
    const sharedCalls = together.reduce((n, r) => n + r.stats.sharedModelCalls, 0);
    process.stdout.write(
      `[cross-job] ${requested} calls requested by 3 jobs, ${modelCalls} model calls, ${sharedCalls} shared\n`,
    );
    expect(modelCalls).toBeLessThan(requested);
    expect(sharedCalls).toBeGreaterThanOrEqual(2);
  });
});
