/**
 * Spleeter DSP on worker threads (performance.dsp_threads): the stems must be the same bytes as
 * with all DSP in the separating thread, for ratio masks, the Wiener filter and a stems subset,
 * over several batches; pool failures are SpleeterErrors; the engine's dispose ends the threads;
 * an idle pool does not keep a process alive.
 */
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { AudioProcessingError, ErrorCodes } from '../../src/core/errors';
import { SpleeterSeparator } from '../../src/core/spleeter/separator';
import { SegmentScheduler } from '../../src/core/spleeter/segment-scheduler';
import type { DspTask } from '../../src/core/spleeter/dsp-pool';
import type { SegmentModel, SpleeterSeparationOptions } from '../../src/core/spleeter/types';
import {
  loadSpleeterModel,
  type LoadedSpleeterModel,
} from '../../src/engine/families/spleeter/spleeter-onnx-model';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import { DspWorkerPool } from '../../src/infra/dsp/dsp-worker-pool';
import { OnnxRuntime } from '../../src/infra/onnx/onnx-runtime';
import { makeTempDir, noise, writeWav } from '../factories/audio';
import { REPO_ROOT, testModelDir } from '../factories/models';
import { tones, whiteNoise } from '../support/signals';
import { bufferSource, collectingSink } from '../support/stream-helpers';

jest.setTimeout(600_000);

const SEGMENT = 512 * 1024;

/**
 * The network's outputs per distinct input: every separation of a spec feeds the same inputs (or
 * the comparison fails anyway), so the full-size U-Net runs once per batch, not once per variant.
 */
class MemoizedModel implements SegmentModel {
  private readonly cache = new Map<string, Float32Array[]>();
  misses = 0;
  constructor(private readonly inner: SegmentModel) {}
  get instruments() {
    return this.inner.instruments;
  }
  get F() {
    return this.inner.F;
  }
  get executionProvider() {
    return this.inner.executionProvider;
  }
  async run(input: Float32Array, S: number): Promise<Float32Array[]> {
    const key = createHash('sha1')
      .update(new Uint8Array(input.buffer, input.byteOffset, input.byteLength))
      .digest('hex');
    let out = this.cache.get(key);
    if (!out) {
      this.misses++;
      out = await this.inner.run(input, S);
      this.cache.set(key, out);
    }
    return out.map((o) => o.slice());
  }
  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

describe('Spleeter DSP threads (integration)', () => {
  const runtime = new OnnxRuntime();
  let onnx: LoadedSpleeterModel;
  let model: MemoizedModel;
  const pools = new Map<number, DspWorkerPool>();
  // 2.6 segments: three batches of one segment (two of two segments), music-like content.
  const frames = Math.round(2.6 * SEGMENT) + 321;
  const x = tones(frames, 2, [110, 660, 3000, 7000, 12000]);
  const n = whiteNoise(frames, 2, 5, 0.05);
  for (let i = 0; i < x.length; i++) x[i] += n[i];

  beforeAll(async () => {
    onnx = await loadSpleeterModel(await testModelDir('full', { config: '2stems' }), {
      runtime,
      intraOpThreads: 2,
    });
    model = new MemoizedModel(onnx);
    for (const threads of [2, 3]) pools.set(threads, new DspWorkerPool(threads));
  });
  afterAll(async () => {
    for (const p of pools.values()) await p.terminate();
    await onnx?.dispose();
    await runtime.disposeAll();
  });

  const separate = async (options: SpleeterSeparationOptions, threads: number) => {
    const sink = collectingSink();
    const sut = new SpleeterSeparator(
      model,
      options,
      threads === 0 ? null : (pools.get(threads) as DspWorkerPool),
    );
    const stats = await sut.separate(bufferSource(x, -150000, 9), sink);
    return { stats, stems: sut.stems.map((s) => sink.stem(s)) };
  };

  it.each<[string, SpleeterSeparationOptions]>([
    ['ratio masks', {}],
    ['ratio masks, 2 segments per batch, full bandwidth', { batchSegments: 2, bandwidth: 'full' }],
    ['MWF', { mwf: true }],
    ['stems subset (accompaniment only), MWF', { mwf: true, stems: ['accompaniment'] }],
    ['stems subset (vocals only), ratio masks', { stems: ['vocals'] }],
  ])('%s: the same stem bytes with dsp_threads 0, 2 and 3', async (_name, options) => {
    const reference = await separate(options, 0);
    expect(reference.stats.segments).toBe(3);
    for (const threads of [2, 3]) {
      const started = (pools.get(threads) as DspWorkerPool).started;
      const got = await separate(options, threads);
      expect(got.stats.samples).toBe(frames);
      got.stems.forEach((stem, k) => {
        expect(stem.length).toBe(frames * 2);
        expect(sameBytes(reference.stems[k], stem)).toBe(true);
      });
      // the threads really ran (started once, on the first use of each pool)
      expect((pools.get(threads) as DspWorkerPool).started).toBeGreaterThanOrEqual(Math.max(started, 1));
    }
    // every batch ran the network once: the threads fed it the same inputs as this thread
    expect(model.misses).toBeLessThanOrEqual(5);
  });

  it('separations running at once share one pool (and a cross-job scheduler) and keep their own bytes', async () => {
    // A second input, different content and length, so the jobs' batches interleave in the pool.
    const frames2 = Math.round(1.7 * SEGMENT) + 77;
    const y = tones(frames2, 2, [220, 990, 5000]);
    const solo = async (input: Float32Array, options: SpleeterSeparationOptions) => {
      const sink = collectingSink();
      const sut = new SpleeterSeparator(model, options, null);
      await sut.separate(bufferSource(input, -150000, 9), sink);
      return sut.stems.map((stem) => sink.stem(stem));
    };
    const scheduler = new SegmentScheduler(model, { maxBatchSegments: 8 });
    const pool = pools.get(2) as DspWorkerPool;
    const jobs: Array<[Float32Array, SpleeterSeparationOptions]> = [
      [x, { mwf: true }],
      [y, {}],
      [x, { stems: ['vocals'], batchSegments: 2 }],
    ];
    const together = await Promise.all(
      jobs.map(async ([input, options]) => {
        const sink = collectingSink();
        const sut = new SpleeterSeparator(scheduler.client(), options, pool);
        await sut.separate(bufferSource(input, -150000, 9), sink);
        return sut.stems.map((stem) => sink.stem(stem));
      }),
    );
    for (const [k, [input, options]] of jobs.entries()) {
      const reference = await solo(input, options);
      expect(together[k]).toHaveLength(reference.length);
      reference.forEach((stem, i) => expect(sameBytes(stem, together[k][i])).toBe(true));
    }
    // the jobs' model calls went through the one scheduler (merged where they met)
    expect(scheduler.stats.requests).toBeGreaterThanOrEqual(3);
    expect(scheduler.stats.modelCalls).toBeLessThanOrEqual(scheduler.stats.requests);
  });

  it('a task that fails in a thread rejects with a SpleeterError (INTERNAL) naming the failure', async () => {
    const pool = pools.get(2) as DspWorkerPool;
    const bad = { kind: 'no-such-task' } as unknown as DspTask;
    const err = await pool.run([bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioProcessingError);
    expect(err).toMatchObject({
      code: ErrorCodes.INTERNAL,
      message: expect.stringContaining('unknown DSP task'),
    });
    // the pool still works afterwards
    await expect(separate({ stems: ['vocals'] }, 2)).resolves.toMatchObject({ stats: { samples: frames } });
  });

  it('terminate() rejects tasks still queued and ends the threads; a later task starts new ones', async () => {
    const sut = new DspWorkerPool(1);
    const ok = sut.run([{ kind: 'no-such-task' } as unknown as DspTask]).catch((e: unknown) => e);
    const queued = sut.run([{ kind: 'no-such-task' } as unknown as DspTask]).catch((e: unknown) => e);
    await sut.terminate();
    expect(sut.size).toBe(0);
    expect(await queued).toMatchObject({ code: ErrorCodes.INTERNAL, message: 'DSP threads were released' });
    expect(await ok).toBeInstanceOf(AudioProcessingError);
    await expect(sut.run([{ kind: 'x' } as unknown as DspTask])).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(sut.started).toBe(2);
    await sut.terminate();
  });

  it('engine: dspThreads 2 gives the same WAV bytes as 0, and dispose() ends the threads', async () => {
    const dir = await makeTempDir('dsp-threads-');
    try {
      const scale = await testModelDir('scale', { config: '4stems' });
      const input = await writeWav(
        path.join(dir, 'in.wav'),
        noise({ seconds: 26, amplitude: 0.3, seed: 4 }),
        {
          encoding: 'f32',
        },
      );
      const outputs: Record<string, Buffer>[] = [];
      const pools: DspWorkerPool[] = [];
      const run = DspWorkerPool.prototype.run;
      const spy = jest.spyOn(DspWorkerPool.prototype, 'run').mockImplementation(function (
        this: DspWorkerPool,
        tasks,
      ) {
        if (!pools.includes(this)) pools.push(this);
        return run.call(this, tasks);
      });
      for (const dspThreads of [0, 2]) {
        const engine = new SpleeterEngine({
          modelsDir: path.join(dir, 'models'),
          intraOpThreads: 1,
          dspThreads,
        });
        const result = await engine.separate({
          audioPath: input,
          modelName: scale,
          outputDir: path.join(dir, `out-${dspThreads}`),
          stems: ['drums', 'vocals'],
          mwf: true,
          bitDepth: 32,
        });
        const files: Record<string, Buffer> = {};
        for (const [stem, file] of Object.entries(result.outputs))
          files[stem] = await fs.promises.readFile(file);
        outputs.push(files);
        await engine.dispose();
      }
      spy.mockRestore();
      expect(Object.keys(outputs[1]).sort()).toEqual(['drums', 'vocals']);
      for (const stem of ['drums', 'vocals']) expect(outputs[1][stem].equals(outputs[0][stem])).toBe(true);
      expect(pools).toHaveLength(1);
      expect(pools[0].started).toBeGreaterThan(0);
      expect(pools[0].size).toBe(0);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });

  it('an idle pool does not keep the process alive', async () => {
    const script = [
      "const { DspWorkerPool } = require('./src/infra/dsp/dsp-worker-pool');",
      'const pool = new DspWorkerPool(2);',
      "pool.run([{ kind: 'x' }, { kind: 'y' }]).catch((e) => console.log('rejected', e.code, pool.size));",
    ].join('\n');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-r', require.resolve('@swc-node/register'), '-e', script],
      { cwd: REPO_ROOT, timeout: 60_000 },
    );
    expect(stdout.trim()).toBe('rejected INTERNAL 2');
  });
});
