import { tones, whiteNoise } from '../../../test/support/signals';
import { FakeSegmentModel } from '../../../test/support/fake-segment-model';
import { InThreadDspPool } from '../../../test/support/in-thread-dsp-pool';
import { bufferSource, collectingSink, type SourceProbe } from '../../../test/support/stream-helpers';
import { AudioProcessingError, ErrorCodes, SeparationError } from '../errors';
import type { DspTask } from './dsp-pool';
import { emittedBefore, splitRange } from './dsp-pool';
import { SpleeterSeparator } from './separator';
import type { SpleeterSeparationOptions } from './types';

const SEGMENT = 512 * 1024;

function mixture(samples: number, seed = 1): Float32Array {
  const x = tones(samples, 2, [82, 440, 2500, 9000, 14000]);
  const n = whiteNoise(samples, 2, seed, 0.1);
  for (let i = 0; i < x.length; i++) x[i] += n[i];
  return x;
}

/** Every stem of a separation, concatenated, with the number of sink writes. */
async function separate(
  x: Float32Array,
  options: SpleeterSeparationOptions,
  threads: number | null,
  instruments = ['vocals', 'drums', 'bass', 'other'],
): Promise<{ stems: Map<string, Float32Array>; writes: number; pool: InThreadDspPool | null }> {
  const model = new FakeSegmentModel({ kind: 'random', instruments });
  const pool = threads === null ? null : new InThreadDspPool(threads);
  const sut = new SpleeterSeparator(model, options, pool);
  const sink = collectingSink();
  await sut.separate(bufferSource(x, -70000, 3), sink);
  return { stems: new Map(sut.stems.map((s) => [s, sink.stem(s)])), writes: sink.writes, pool };
}

function expectSameBits(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [name, x] of a) {
    const y = b.get(name) as Float32Array;
    expect(y.length).toBe(x.length);
    expect(
      Buffer.from(y.buffer, y.byteOffset, y.byteLength).equals(
        Buffer.from(x.buffer, x.byteOffset, x.byteLength),
      ),
    ).toBe(true);
  }
}

describe('DSP tasks', () => {
  it('splitRange covers the items once, in order, in parts of at least minSize', () => {
    expect(splitRange(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(splitRange(100, 8, 32)).toEqual([
      [0, 33],
      [33, 66],
      [66, 100],
    ]);
    expect(splitRange(5, 4, 32)).toEqual([[0, 5]]);
  });

  it('emittedBefore follows the synthesizer crop (4096 padded samples) and length cap', () => {
    expect(emittedBefore(4096, null)).toBe(0);
    expect(emittedBefore(5120, null)).toBe(1024);
    expect(emittedBefore(5120, 100)).toBe(100);
  });

  // The single-thread separator is the reference: each option with 1 and 3 "threads" (tasks
  // run in reverse order in this thread) must give the same bits.
  it.each<[string, SpleeterSeparationOptions, number]>([
    ['ratio masks, 4 stems', {}, 1.3],
    ['ratio masks, stems subset, full bandwidth', { stems: ['other', 'vocals'], bandwidth: 'full' }, 1.3],
    ['ratio masks, 2 segments per batch', { batchSegments: 2 }, 2.4],
    ['MWF', { mwf: true }, 1.2],
    ['MWF, stems subset, full bandwidth', { mwf: true, stems: ['bass'], bandwidth: 'full' }, 1.2],
  ])(
    '%s: bit-identical stems with 1 and 3 threads',
    async (_name, options, segments) => {
      const x = mixture(Math.round(segments * SEGMENT) + 777);
      const reference = await separate(x, options, null);
      // 1: one range per batch (carried accumulators only); 3: ranges with warm-up frames too.
      for (const threads of [1, 3]) {
        const got = await separate(x, options, threads);
        expectSameBits(reference.stems, got.stems);
        expect(got.writes).toBe(reference.writes);
        expect(got.pool?.counts.get('stft')).toBeGreaterThan(0);
        expect(got.pool?.counts.get('synth')).toBeGreaterThan(0);
        expect(got.pool?.outstanding.size).toBe(0); // every shared plane handed back
      }
    },
    120_000,
  );

  it('cancels between batches with JOB_CANCELED, closes the source and leaves no model call running', async () => {
    const x = mixture(3 * SEGMENT);
    const model = new FakeSegmentModel({ delayMs: 5 });
    let running = 0;
    const run = model.run.bind(model);
    model.run = async (input, S, signal) => {
      running++;
      try {
        return await run(input, S, signal);
      } finally {
        running--;
      }
    };
    const controller = new AbortController();
    const probe: SourceProbe = { pulled: 0, closed: 0, opened: 0 };
    const sink = collectingSink();
    const pool = new InThreadDspPool(2);
    const promise = new SpleeterSeparator(model, {}, pool).separate(bufferSource(x, 50000, 1, probe), sink, {
      signal: controller.signal,
      totalSamples: 3 * SEGMENT,
      onProgress: () => controller.abort(),
    });
    await expect(promise).rejects.toBeInstanceOf(SeparationError);
    await expect(promise).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED });
    expect(sink.writes).toBe(1);
    expect(model.calls.length).toBe(2);
    expect(running).toBe(0);
    expect(probe.closed).toBe(1);
    expect(pool.outstanding.size).toBe(0);
  });

  it("a pool's failure rejects the separation with its SpleeterError; a failing source with the source's error", async () => {
    const x = mixture(2 * SEGMENT);
    const failing = new InThreadDspPool(2);
    const run = failing.run.bind(failing);
    failing.run = (tasks: readonly DspTask[]) =>
      tasks[0].kind === 'synth'
        ? Promise.reject(new AudioProcessingError(ErrorCodes.INTERNAL, 'DSP thread crashed: test'))
        : run(tasks);
    await expect(
      new SpleeterSeparator(new FakeSegmentModel(), {}, failing).separate(
        bufferSource(x, 60000),
        collectingSink(),
      ),
    ).rejects.toMatchObject({ code: ErrorCodes.INTERNAL, message: 'DSP thread crashed: test' });
    expect(failing.outstanding.size).toBe(0);

    const broken = () => ({
      async *[Symbol.asyncIterator]() {
        yield x.subarray(0, 2 * (SEGMENT + 300000));
        throw new Error('decoder died');
      },
    });
    const pool = new InThreadDspPool(2);
    await expect(
      new SpleeterSeparator(new FakeSegmentModel(), {}, pool).separate(broken, collectingSink()),
    ).rejects.toThrow('decoder died');
    expect(pool.outstanding.size).toBe(0);
  });

  it('skips silent segments the same way and crosses several batches bit-identically', async () => {
    // 3.5 segments: silence, tones, silence, tones (4 batches; two are not sent to the model).
    const x = mixture(Math.round(3.5 * SEGMENT));
    x.fill(0, 0, 2 * (SEGMENT + 8192));
    x.fill(0, 2 * 2 * SEGMENT, 2 * (3 * SEGMENT - 8192));
    const reference = await separate(x, {}, null, ['vocals', 'accompaniment']);
    const got = await separate(x, {}, 3, ['vocals', 'accompaniment']);
    expectSameBits(reference.stems, got.stems);
    expect(reference.writes).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
