import { ErrorCodes, ModelError, SeparationError, ValidationError } from '../errors';
import { computeStft } from '../dsp/stft';
import { firstDifference, snrDb, tones, whiteNoise } from '../../../test/support/signals';
import { SpleeterSeparator } from './separator';
import { FakeSegmentModel } from '../../../test/support/fake-segment-model';
import {
  analyzeWholeFile,
  bandLimited,
  referenceRatioSeparation,
} from '../../../test/support/reference-separation';
import { bufferSource, collectingSink, SourceProbe } from '../../../test/support/stream-helpers';
import { SegmentModel } from './types';

const SEGMENT_SAMPLES = 512 * 1024;

/** Music-like test input: tones across the band plus noise, different per channel. */
function mixture(samples: number, seed = 1): Float32Array {
  const t = tones(samples, 2, [82, 440, 2500, 9000, 14000]);
  const n = whiteNoise(samples, 2, seed, 0.1);
  for (let i = 0; i < t.length; i++) t[i] += n[i];
  return t;
}

function bandEnergy(x: Float32Array, fromBin: number, toBin: number): number {
  const spec = computeStft(x, 2);
  let e = 0;
  for (let c = 0; c < 2; c++) {
    for (let t = 0; t < spec.frames; t++) {
      for (let k = fromBin; k < toBin; k++)
        e += spec.re[c][t * 2049 + k] ** 2 + spec.im[c][t * 2049 + k] ** 2;
    }
  }
  return e;
}

describe(SpleeterSeparator.name, () => {
  it.each([2, 4])(
    'with an identity model and %i instruments yields the band-limited mixture / n for every stem',
    async (n) => {
      const instruments = ['vocals', 'drums', 'bass', 'other'].slice(0, n);
      const model = new FakeSegmentModel({ kind: 'identity', instruments });
      const sut = new SpleeterSeparator(model);
      const x = mixture(70000);
      const sink = collectingSink();
      const stats = await sut.separate(bufferSource(x, -9000), sink);
      const expected = bandLimited(x, 1024, 1 / n);
      expect([...sink.chunks.keys()]).toEqual(instruments);
      for (const name of instruments) {
        const y = sink.stem(name);
        expect(y.length).toBe(x.length);
        expect(snrDb(expected, y)).toBeGreaterThan(120);
      }
      // band-limiting really happened: the 14 kHz tone is gone (up to STFT leakage, -60 dB)
      expect(bandEnergy(sink.stem(instruments[0]), 1100, 2049)).toBeLessThan(
        1e-6 * bandEnergy(x, 1100, 2049),
      );
      expect(stats).toMatchObject({
        samples: 70000,
        frames: Math.ceil((70000 + 4096) / 1024),
        segments: 1,
        modelCalls: 1,
        passes: 1,
      });
    },
  );

  it.each([
    0,
    1,
    2,
    4095,
    4096,
    4097,
    44100,
    12347,
    508 * 1024 - 1,
    508 * 1024,
    508 * 1024 + 1,
    SEGMENT_SAMPLES - 1,
    SEGMENT_SAMPLES + 1,
  ])('writes exactly N = %i sample frames per stem', async (samples) => {
    const model = new FakeSegmentModel({ kind: 'scaled', gains: [1, 3] });
    const sut = new SpleeterSeparator(model, { batchSegments: 1 });
    const x = whiteNoise(samples, 2, samples + 17, 0.3);
    const sink = collectingSink();
    const stats = await sut.separate(bufferSource(x, 30000), sink);
    const frames = samples === 0 ? 0 : Math.ceil((samples + 4096) / 1024);
    const segments = Math.ceil(frames / 512);
    expect(stats).toMatchObject({ samples, frames, segments });
    // 508·1024 + 1 samples: the last segment's one frame starts on the last sample, which the
    // window's zero first tap removes: an all-zero spectrum the model is not asked about.
    expect(stats.skippedSegments).toBe(samples === 508 * 1024 + 1 ? 1 : 0);
    expect(stats.modelCalls).toBe(segments - stats.skippedSegments);
    expect(model.calls).toEqual(new Array(stats.modelCalls).fill(1));
    for (const name of ['vocals', 'accompaniment']) expect(sink.stem(name).length).toBe(2 * samples);
    if (samples > 0) {
      // scaled model: masks 1/10 and 9/10 → stems sum to the band-limited mixture
      const v = sink.stem('vocals');
      const a = sink.stem('accompaniment');
      const sum = v.map((s, i) => s + a[i]);
      expect(snrDb(bandLimited(x, 1024, 1), sum)).toBeGreaterThan(110);
    }
  });

  it('is bit-identical for any chunking and any batchSegments, and equals the whole-file computation', async () => {
    const samples = 2 * SEGMENT_SAMPLES + 7000; // 3 segments
    const x = mixture(samples, 5);
    const model = new FakeSegmentModel({
      kind: 'random',
      instruments: ['vocals', 'drums', 'other'],
      seed: 9,
    });
    const whole = await analyzeWholeFile(x, model);
    const expected = [0, 1, 2].map((i) => referenceRatioSeparation(whole, 1024, samples, i));
    const runs: Array<[number, number]> = [
      [1, -20000],
      [4, -3000],
      [2, 0],
    ];
    for (const [batchSegments, chunking] of runs) {
      model.calls.length = 0;
      const sut = new SpleeterSeparator(model, { batchSegments });
      const sink = collectingSink();
      await sut.separate(bufferSource(x, chunking, batchSegments), sink);
      expect(model.calls).toEqual(batchSegments === 1 ? [1, 1, 1] : batchSegments === 2 ? [2, 1] : [3]);
      ['vocals', 'drums', 'other'].forEach((name, i) =>
        expect(firstDifference(sink.stem(name), expected[i])).toBe(-1),
      );
    }
  });

  it('refills the same arrays for a sink that consumes its chunks, with the same samples as fresh ones', async () => {
    const samples = 3 * SEGMENT_SAMPLES + 5000; // 4 batches of one segment
    const x = mixture(samples, 7);
    const model = new FakeSegmentModel({ kind: 'random', instruments: ['vocals', 'accompaniment'], seed: 3 });
    const fresh = collectingSink();
    await new SpleeterSeparator(model).separate(bufferSource(x, 30000), fresh);
    // A consuming sink copies what it needs before its write settles.
    const seen: Float32Array[] = [];
    const copied = collectingSink();
    const consuming = {
      consumesChunks: true,
      async write(stems: ReadonlyMap<string, Float32Array>) {
        seen.push(stems.get('vocals')!);
        await copied.write(new Map([...stems].map(([k, v]) => [k, v.slice()])));
      },
    };
    await new SpleeterSeparator(model).separate(bufferSource(x, 30000), consuming);
    for (const name of ['vocals', 'accompaniment'])
      expect(firstDifference(copied.stem(name), fresh.stem(name))).toBe(-1);
    // Full batches write into one buffer; a sink that keeps chunks gets a new array every time.
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen[2].buffer).toBe(seen[1].buffer);
    const kept = fresh.chunks.get('vocals')!;
    expect(new Set(kept.map((a) => a.buffer)).size).toBe(kept.length);
  });

  it('emits only the requested stems, identical to the same stems of a full run', async () => {
    const x = mixture(50000, 3);
    const model = new FakeSegmentModel({ kind: 'random', instruments: ['vocals', 'drums', 'bass', 'other'] });
    const full = collectingSink();
    await new SpleeterSeparator(model).separate(bufferSource(x), full);
    const subset = collectingSink();
    const sut = new SpleeterSeparator(model, { stems: ['other', 'vocals', 'other'] });
    expect(sut.stems).toEqual(['other', 'vocals']);
    const stats = await sut.separate(bufferSource(x, 4000), subset);
    expect([...subset.chunks.keys()]).toEqual(['other', 'vocals']);
    expect(stats.stems).toEqual(['other', 'vocals']);
    for (const name of ['other', 'vocals'])
      expect(firstDifference(subset.stem(name), full.stem(name))).toBe(-1);
  });

  it("with bandwidth 'full' keeps energy above F and masks that still sum to 1", async () => {
    const x = mixture(60000, 4);
    const instruments = ['vocals', 'drums', 'bass', 'other'];
    const model = new FakeSegmentModel({ kind: 'random', instruments, seed: 3 });
    const run = async (bandwidth: 'model' | 'full') => {
      const sink = collectingSink();
      await new SpleeterSeparator(model, { bandwidth }).separate(bufferSource(x), sink);
      return instruments.map((s) => sink.stem(s));
    };
    const limited = await run('model');
    const full = await run('full');
    const sum = (stems: Float32Array[]) => stems[0].map((_, i) => stems.reduce((acc, s) => acc + s[i], 0));
    // masks sum to 1 in every bin: the stems add up to the full-band mixture
    expect(snrDb(x, sum(full))).toBeGreaterThan(100);
    expect(snrDb(bandLimited(x, 1024, 1), sum(limited))).toBeGreaterThan(100);
    const highMix = bandEnergy(x, 1100, 2049);
    expect(bandEnergy(limited[1], 1100, 2049)).toBeLessThan(1e-6 * highMix);
    expect(bandEnergy(full[1], 1100, 2049)).toBeGreaterThan(1e-3 * highMix);
    // below F both modes agree
    const whole = await analyzeWholeFile(x, model);
    expect(firstDifference(full[2], referenceRatioSeparation(whole, 1024, 60000, 2, true))).toBe(-1);
  });

  it('streams: the first stems are written after two batches of input (one handled, one queued in the model), long before the source ends', async () => {
    const samples = 5 * SEGMENT_SAMPLES;
    const x = whiteNoise(samples, 2, 8, 0.2);
    const probe: SourceProbe = { pulled: 0, closed: 0, opened: 0 };
    let pulledAtFirstWrite = -1;
    const sink = collectingSink(() => {
      if (pulledAtFirstWrite < 0) pulledAtFirstWrite = probe.pulled;
    });
    const sut = new SpleeterSeparator(new FakeSegmentModel({ kind: 'identity' }), { batchSegments: 1 });
    await sut.separate(bufferSource(x, 10000, 1, probe), sink);
    expect(pulledAtFirstWrite).toBeGreaterThan(0);
    expect(pulledAtFirstWrite).toBeLessThanOrEqual(2 * SEGMENT_SAMPLES + 10000);
    expect(pulledAtFirstWrite).toBeLessThan(samples / 2);
    expect(sink.writes).toBeGreaterThanOrEqual(5);
    expect(probe.opened).toBe(1);
  });

  it('counts inference as wall time with a model call in flight: overlapping calls never exceed the wall time', async () => {
    const samples = 3 * SEGMENT_SAMPLES;
    const x = whiteNoise(samples, 2, 5, 0.2);
    // Slow calls, so the next batch's call starts while the previous one is still running.
    const model = new FakeSegmentModel({ kind: 'identity', delayMs: 1500 });
    const sut = new SpleeterSeparator(model, { batchSegments: 1 });
    const stats = await sut.separate(bufferSource(x), collectingSink());
    expect(model.calls.length).toBeGreaterThanOrEqual(3);
    expect(stats.inferenceMs).toBeLessThanOrEqual(stats.wallMs);
    expect(stats.dspMs).toBeLessThanOrEqual(stats.wallMs);
    // Still the time spent waiting on the model, not zero: at least one call's latency.
    expect(stats.inferenceMs).toBeGreaterThanOrEqual(1490);
  }, 60_000);

  it('reports progress per batch when the length is known, ending at 1', async () => {
    const samples = 2 * SEGMENT_SAMPLES;
    const x = whiteNoise(samples, 2, 2, 0.2);
    const progress: Array<[number, string]> = [];
    const sut = new SpleeterSeparator(new FakeSegmentModel(), { batchSegments: 1 });
    await sut.separate(bufferSource(x), collectingSink(), {
      totalSamples: samples,
      onProgress: (f, s) => progress.push([f, s]),
    });
    expect(progress.length).toBe(4); // 3 batches + final
    expect(progress.map((p) => p[1])).toEqual(['separate', 'separate', 'separate', 'separate']);
    const fractions = progress.map((p) => p[0]);
    expect(fractions[0]).toBeCloseTo(512 / Math.ceil((samples + 4096) / 1024), 10);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
    expect(fractions[fractions.length - 1]).toBe(1);
  });

  it('cancels between batches with JOB_CANCELED and closes the source', async () => {
    const x = whiteNoise(3 * SEGMENT_SAMPLES, 2, 2, 0.2);
    const model = new FakeSegmentModel();
    const controller = new AbortController();
    const probe: SourceProbe = { pulled: 0, closed: 0, opened: 0 };
    const sut = new SpleeterSeparator(model, { batchSegments: 1 });
    const sink = collectingSink();
    const promise = sut.separate(bufferSource(x, 50000, 1, probe), sink, {
      signal: controller.signal,
      totalSamples: 3 * SEGMENT_SAMPLES,
      onProgress: () => controller.abort(),
    });
    await expect(promise).rejects.toBeInstanceOf(SeparationError);
    await expect(promise).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED });
    // the first batch and the one queued behind it; the third is never read
    expect(model.calls.length).toBe(2);
    expect(sink.writes).toBe(1);
    expect(probe.closed).toBe(1);

    const before = new AbortController();
    before.abort();
    model.calls.length = 0;
    await expect(
      sut.separate(bufferSource(x), collectingSink(), { signal: before.signal }),
    ).rejects.toMatchObject({
      code: ErrorCodes.JOB_CANCELED,
    });
    expect(model.calls.length).toBe(0);
  });

  it('rejects invalid options, stems and chunks', async () => {
    const model = new FakeSegmentModel();
    expect(() => new SpleeterSeparator(model, { stems: ['piano'] })).toThrow(
      expect.objectContaining({ code: ErrorCodes.UNKNOWN_STEM }),
    );
    expect(() => new SpleeterSeparator(model, { stems: [] })).toThrow(ValidationError);
    expect(() => new SpleeterSeparator(model, { batchSegments: 0 })).toThrow(ValidationError);
    expect(() => new SpleeterSeparator(model, { batchSegments: 1.5 })).toThrow(ValidationError);
    const sut = new SpleeterSeparator(model);
    await expect(sut.separate(bufferSource(new Float32Array(3)), collectingSink())).rejects.toMatchObject({
      code: ErrorCodes.VALIDATION_FAILED,
    });
  });

  it('turns model failures and malformed outputs into ModelError', async () => {
    const x = whiteNoise(5000, 2, 1);
    const broken: SegmentModel = {
      instruments: ['a', 'b'],
      F: 1024,
      executionProvider: 'fake',
      run: async (input) => [input.slice()],
      dispose: async () => undefined,
    };
    await expect(
      new SpleeterSeparator(broken).separate(bufferSource(x), collectingSink()),
    ).rejects.toBeInstanceOf(ModelError);
    const failing: SegmentModel = { ...broken, run: async () => Promise.reject(new Error('boom')) };
    await expect(
      new SpleeterSeparator(failing).separate(bufferSource(x), collectingSink()),
    ).rejects.toMatchObject({
      code: ErrorCodes.MODEL_INFERENCE_FAILED,
    });
  });
});
