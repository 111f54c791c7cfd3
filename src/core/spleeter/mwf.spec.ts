import { snrDb, tones, whiteNoise } from '../../../test/support/signals';
import { MultichannelWienerFilter } from './mwf';
import { SpleeterSeparator } from './separator';
import { FakeSegmentModel } from '../../../test/support/fake-segment-model';
import {
  analyzeWholeFile,
  referenceMwf,
  referenceRatioSeparation,
} from '../../../test/support/reference-separation';
import { bufferSource, collectingSink, SourceProbe } from '../../../test/support/stream-helpers';

/** Loud tones (so norbert's max|x|/10 scaling is active) plus noise, different per channel. */
function loudMixture(samples: number, seed: number): Float32Array {
  const x = tones(samples, 2, [60, 220, 700, 1500]);
  const n = whiteNoise(samples, 2, seed, 0.2);
  for (let i = 0; i < x.length; i++) x[i] = 1.2 * x[i] + n[i];
  return x;
}

/** max |a - b| relative to max |b|. */
function relMaxError(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    ref = Math.max(ref, Math.abs(b[i]));
  }
  return err / ref;
}

describe(MultichannelWienerFilter.name, () => {
  it('matches a whole-file in-memory norbert-style MWF across several batches (3 passes over the source)', async () => {
    const F = 64;
    const samples = 515 * 1024; // 519 frames: 2 segments, one batch each
    const instruments = ['vocals', 'drums', 'other'];
    const model = new FakeSegmentModel({ kind: 'random', instruments, F, seed: 4 });
    const x = loudMixture(samples, 1);
    const whole = await analyzeWholeFile(x, model);
    const expected = referenceMwf(whole, F, samples);
    model.calls.length = 0;
    const probe: SourceProbe = { pulled: 0, closed: 0, opened: 0 };
    const progress: string[] = [];
    const sink = collectingSink();
    const sut = new SpleeterSeparator(model, { mwf: true, batchSegments: 1 });
    const stats = await sut.separate(bufferSource(x, -30000, 2, probe), sink, {
      onProgress: (_f, stage) => progress.push(stage),
    });
    expect(probe.opened).toBe(3);
    expect(model.calls).toEqual([1, 1, 1, 1]); // passes 2 and 3
    expect(stats).toMatchObject({ samples, segments: 2, modelCalls: 4, passes: 3 });
    expect([...new Set(progress)]).toEqual(['mwf-statistics', 'mwf-apply']); // scan has no known length
    const errors: number[] = [];
    instruments.forEach((name, j) => {
      const y = sink.stem(name);
      expect(y.length).toBe(2 * samples);
      errors.push(relMaxError(y, expected[j]));
    });
    expect(Math.max(...errors)).toBeLessThan(1e-5);
    console.log(
      `MWF streaming vs whole-file reference, max relative error per stem: ${errors.map((e) => e.toExponential(1)).join(', ')}`,
    );
    // the filter really differs from plain ratio masks
    const ratio = referenceRatioSeparation(whole, F, samples, 0);
    expect(snrDb(ratio, sink.stem('vocals'))).toBeLessThan(40);
  });

  it("matches the reference with bandwidth 'full' and with a stems subset", async () => {
    const F = 64;
    const samples = 40000;
    const model = new FakeSegmentModel({
      kind: 'random',
      instruments: ['vocals', 'accompaniment'],
      F,
      seed: 7,
    });
    const x = loudMixture(samples, 3);
    const whole = await analyzeWholeFile(x, model);
    const expected = referenceMwf(whole, F, samples, true);
    const sink = collectingSink();
    await new SpleeterSeparator(model, { mwf: true, bandwidth: 'full', stems: ['accompaniment'] }).separate(
      bufferSource(x, 7000),
      sink,
    );
    expect([...sink.chunks.keys()]).toEqual(['accompaniment']);
    expect(relMaxError(sink.stem('accompaniment'), expected[1])).toBeLessThan(1e-5);
  });

  it('handles empty and one-sample inputs', async () => {
    const model = new FakeSegmentModel({ kind: 'random', F: 32 });
    const sut = new SpleeterSeparator(model, { mwf: true });
    const empty = collectingSink();
    const s0 = await sut.separate(bufferSource(new Float32Array(0)), empty);
    expect(s0).toMatchObject({ samples: 0, modelCalls: 0 });
    expect(empty.writes).toBe(0);
    const one = collectingSink();
    await sut.separate(bufferSource(new Float32Array([0.5, -0.25])), one);
    expect(one.stem('vocals').length).toBe(2);
    expect(one.stem('accompaniment').length).toBe(2);
  });

  it('fails when the source yields a different length on a later pass', async () => {
    const model = new FakeSegmentModel({ F: 32 });
    let call = 0;
    const open = () => bufferSource(whiteNoise(5000 + 100 * call++, 2, 1))();
    await expect(
      new SpleeterSeparator(model, { mwf: true }).separate(open, collectingSink()),
    ).rejects.toMatchObject({ code: 'CORRUPT_AUDIO' });
  });
});
