import { ErrorCodes, ModelError, SeparationError } from '../errors';
import { whiteNoise } from '../../../test/support/signals';
import { PassCounters, PassOptions, SegmentBatch, SegmentPipeline } from './segment-pipeline';
import { bufferSource, SourceProbe } from '../../../test/support/stream-helpers';
import { SegmentModel, SPLEETER_T } from './types';

const F = 32;
/** 3 full segments + 9 frames: batches of 512, 512, 512 and 9 frames with batchSegments = 1. */
const SAMPLES = 3 * SPLEETER_T * 1024 + 5000;
const x = whiteNoise(SAMPLES, 2, 5, 0.3);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A model whose calls take `delayMs`, recording calls and how many run at once. */
class ProbeModel implements SegmentModel {
  readonly instruments = ['a', 'b'];
  readonly F = F;
  readonly executionProvider = 'probe';
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    private readonly events: string[],
    private readonly delayMs = 15,
    private readonly failOnCall = -1,
  ) {}

  async run(input: Float32Array): Promise<Float32Array[]> {
    const k = this.calls++;
    this.events.push(`run ${k}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await sleep(this.delayMs);
    this.inFlight--;
    this.events.push(`done ${k}`);
    if (k === this.failOnCall) throw new Error('boom');
    return [input.slice(), input.slice()];
  }

  async dispose(): Promise<void> {}
}

function counters(): PassCounters {
  return { modelCalls: 0, inferenceMs: 0, inferenceWaitMs: 0, dspMs: 0, sinkMs: 0, skippedSegments: 0 };
}

function options(extra: Partial<PassOptions> = {}): PassOptions {
  return { withModel: true, stage: 'test', progressFrom: 0, progressTo: 1, expectedFrames: null, ...extra };
}

describe(SegmentPipeline.name, () => {
  it('runs batch k+1 in the model while batch k is handled, in order, with at most two batch buffers', async () => {
    const events: string[] = [];
    const model = new ProbeModel(events);
    const stats = counters();
    const sut = new SegmentPipeline(model, 1, stats);
    const seen: SegmentBatch[] = [];
    const planes = new Set<Float32Array>();
    const result = await sut.run(bufferSource(x, 20000)(), options(), async (b) => {
      const k = seen.length;
      events.push(`handle ${k}`);
      seen.push({ ...b });
      planes.add(b.specRe[0]);
      // the model input was built from this batch: output = |X| of bin 3 of the first frame
      const outputs = b.outputs as Float32Array[];
      expect(outputs[0].length).toBe(2 * b.segments * SPLEETER_T * F);
      const r = b.specRe[1][3];
      const i = b.specIm[1][3];
      expect(outputs[1][b.segments * SPLEETER_T * F + 3]).toBe(Math.fround(Math.sqrt(r * r + i * i)));
      await sleep(5);
      events.push(`handled ${k}`);
    });
    expect(result).toEqual({ samples: SAMPLES, frames: 1545, segments: 4 });
    expect(seen.map((b) => [b.firstFrame, b.frames, b.segments])).toEqual([
      [0, 512, 1],
      [512, 512, 1],
      [1024, 512, 1],
      [1536, 9, 1],
    ]);
    expect(seen[3].totalSamples).toBe(SAMPLES);
    const at = (e: string) => events.indexOf(e);
    // each next batch is queued in the model before the current one is handled, so the model
    // never waits for the handler (the probe runs calls at once; workers take them in turn)
    for (const k of [0, 1, 2]) expect(at(`run ${k + 1}`)).toBeLessThan(at(`handle ${k}`));
    for (const k of [0, 1, 2])
      expect(at(`run ${k + 2}`) === -1 || at(`run ${k + 2}`) > at(`handled ${k}`)).toBe(true);
    expect(model.maxInFlight).toBeLessThanOrEqual(2);
    expect(planes.size).toBe(2);
    expect(stats.modelCalls).toBe(4);
    expect(stats.inferenceWaitMs).toBeLessThanOrEqual(stats.inferenceMs + 1);
  });

  it('without the model handles batches one after the other in one buffer', async () => {
    const events: string[] = [];
    const model = new ProbeModel(events);
    const sut = new SegmentPipeline(model, 2, counters());
    const planes = new Set<Float32Array>();
    const progress: number[] = [];
    const result = await sut.run(
      bufferSource(x, 30000)(),
      options({ withModel: false, expectedFrames: 1545, onProgress: (f) => progress.push(f) }),
      (b) => {
        expect(b.outputs).toBeNull();
        expect(b.storedBins).toBe(2049);
        planes.add(b.specRe[0]);
      },
    );
    expect(result.segments).toBe(4); // 2 + 2 (the last batch is 521 frames)
    expect(model.calls).toBe(0);
    expect(planes.size).toBe(1);
    expect(progress).toEqual([1024 / 1545, 1]);
  });

  it('on cancellation while the next batch is in the model, waits for that call, then rejects and closes the source', async () => {
    const events: string[] = [];
    const model = new ProbeModel(events, 30);
    const sut = new SegmentPipeline(model, 1, counters());
    const controller = new AbortController();
    const probe: SourceProbe = { pulled: 0, closed: 0, opened: 0 };
    let handled = 0;
    const promise = sut.run(
      bufferSource(x, 20000, 1, probe)(),
      options({ signal: controller.signal }),
      () => {
        if (++handled === 2) controller.abort();
      },
    );
    await expect(promise).rejects.toBeInstanceOf(SeparationError);
    await expect(promise).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED });
    expect(model.calls).toBe(3); // batch 2 was already in the model...
    expect(model.inFlight).toBe(0); // ...and had finished when the pass rejected
    expect(handled).toBe(2);
    expect(probe.closed).toBe(1);
  });

  it('a failing handler rejects with its error once the in-flight inference has settled', async () => {
    const events: string[] = [];
    const model = new ProbeModel(events, 30);
    const sut = new SegmentPipeline(model, 1, counters());
    const failure = new Error('sink full');
    const promise = sut.run(bufferSource(x, 20000)(), options(), (b) => {
      if (b.firstFrame === 512) throw failure;
    });
    await expect(promise).rejects.toBe(failure);
    expect(model.calls).toBe(3);
    expect(model.inFlight).toBe(0);
  });

  it('a model failure on the batch read ahead surfaces as ModelError after the current batch, never as an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const events: string[] = [];
      const model = new ProbeModel(events, 5, 2);
      const sut = new SegmentPipeline(model, 1, counters());
      const handled: number[] = [];
      const promise = sut.run(bufferSource(x, 20000)(), options(), async (b) => {
        await sleep(40); // batch 2's call fails meanwhile
        handled.push(b.firstFrame);
      });
      await expect(promise).rejects.toBeInstanceOf(ModelError);
      await expect(promise).rejects.toMatchObject({ code: ErrorCodes.MODEL_INFERENCE_FAILED });
      expect(handled).toEqual([0, 512]);
      await sleep(10);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
