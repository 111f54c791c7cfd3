import { SpleeterSeparator } from './separator';
import { isDigitalSilence, segmentSampleSpan } from './silent-segments';
import { tones, whiteNoise } from '../../../test/support/signals';
import { FakeSegmentModel } from '../../../test/support/fake-segment-model';
import { bufferSource, collectingSink } from '../../../test/support/stream-helpers';
import type { SpleeterSeparationOptions } from './types';

const SEGMENT = 512 * 1024;
const INSTRUMENTS = ['vocals', 'drums', 'bass', 'other'];

/** 4 segments of music-like input with segments 1 and 3 digital silence (50 %). */
function halfSilent(): { x: Float32Array; frames: number } {
  const frames = 4 * SEGMENT - 5000;
  const x = tones(frames, 2, [82, 440, 2500, 9000, 14000]);
  const n = whiteNoise(frames, 2, 4, 0.1);
  for (let i = 0; i < x.length; i++) x[i] += n[i];
  for (const s of [1, 3]) {
    const { start, end } = segmentSampleSpan(s);
    x.fill(0, start * 2, Math.min(frames, end) * 2);
  }
  return { x, frames };
}

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

async function separate(x: Float32Array, options: SpleeterSeparationOptions) {
  const model = new FakeSegmentModel({ kind: 'random', instruments: INSTRUMENTS, seed: 5 });
  const sink = collectingSink();
  const stats = await new SpleeterSeparator(model, options).separate(bufferSource(x, -70000, 2), sink);
  return { stats, calls: [...model.calls], stems: INSTRUMENTS.map((s) => sink.stem(s)) };
}

describe('skipping segments of digital silence', () => {
  const { x } = halfSilent();

  it('segmentSampleSpan covers exactly the samples a segment reads', () => {
    expect(segmentSampleSpan(0)).toEqual({ start: 0, end: 511 * 1024 });
    expect(segmentSampleSpan(1)).toEqual({ start: SEGMENT - 4096, end: 2 * SEGMENT - 1024 });
    expect(isDigitalSilence(x, 2, segmentSampleSpan(1).start, segmentSampleSpan(1).end)).toBe(true);
    expect(isDigitalSilence(x, 2, segmentSampleSpan(1).start - 1, segmentSampleSpan(1).end)).toBe(false);
  });

  it.each([
    ['ratio masks, one segment per call', { batchSegments: 1 }],
    ['ratio masks, batches of 3 (a smaller batch for the non-silent ones)', { batchSegments: 3 }],
    ["ratio masks, bandwidth 'full'", { batchSegments: 2, bandwidth: 'full' }],
    ['multichannel Wiener filter', { batchSegments: 1, mwf: true }],
  ] as Array<[string, SpleeterSeparationOptions]>)(
    '%s: stems byte-identical with and without the skip, half the model work',
    async (_name, options) => {
      const skipped = await separate(x, options);
      const full = await separate(x, { ...options, skipSilentSegments: false });
      for (let k = 0; k < INSTRUMENTS.length; k++) {
        expect(skipped.stems[k].length).toBe(x.length);
        expect(bytes(skipped.stems[k]).equals(bytes(full.stems[k]))).toBe(true);
      }
      const passes = options.mwf ? 2 : 1; // model passes
      expect(full.stats.skippedSegments).toBe(0);
      expect(skipped.stats.skippedSegments).toBe(2 * passes);
      const sent = (calls: number[]) => calls.reduce((a, b) => a + b, 0);
      expect(sent(full.calls)).toBe(4 * passes);
      expect(sent(skipped.calls)).toBe(2 * passes);
      // The silent stretches of the stems are exact zeros, as they are without the skip.
      const mid = (segmentSampleSpan(1).start + 10000) * 2;
      expect(skipped.stems[0].subarray(mid, mid + 2000).every((v) => Object.is(v, 0))).toBe(true);
    },
  );

  it('a segment with one non-zero sample inside its span is not skipped', async () => {
    const y = Float32Array.from(x);
    const { start } = segmentSampleSpan(3);
    y[(start + 5000) * 2 + 1] = 1e-30;
    const { stats } = await separate(y, { batchSegments: 1 });
    expect(stats.skippedSegments).toBe(1);
  });
});
