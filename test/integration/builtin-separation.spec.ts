import { existsSync } from 'fs';
import * as path from 'path';
import { createBuiltinSeparator } from '../../src/core/builtin/builtin-models';
import type { StemSink } from '../../src/core/separation/types';
import { decodeStereo44k, snrDb } from '../factories/audio';

const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared');
const CLIP = path.join(SHARED, 'fixtures', 'audio', 'audio_example.mp3');
const haveClip = existsSync(CLIP);
if (!haveClip) console.warn(`[skip] real audio clip not found at ${CLIP} (../shared absent)`);

(haveClip ? describe : describe.skip)('built-in separators on the real clip', () => {
  let mix: Float32Array;
  beforeAll(async () => {
    mix = await decodeStereo44k(CLIP);
  });

  it.each([
    ['builtin:hpss', ['harmonic', 'percussive']],
    ['builtin:center', ['center', 'sides']],
  ])(
    '%s: exact length, stems sum back to the mixture',
    async (id, stems) => {
      const sut = createBuiltinSeparator(id);
      expect(sut.stems).toEqual(stems);
      const N = mix.length / 2;
      const outs = stems.map(() => new Float32Array(mix.length));
      let at = 0;
      const sink: StemSink = {
        write(m) {
          const len = m.get(stems[0])!.length;
          stems.forEach((s, i) => {
            expect(m.get(s)!.length).toBe(len);
            outs[i].set(m.get(s)!, at);
          });
          at += len;
        },
      };
      const t0 = performance.now();
      // Feed in odd-sized chunks, as a decoder pipe would.
      const stats = await sut.separate(async function* () {
        for (let i = 0; i < mix.length; i += 2 * 12_345)
          yield mix.subarray(i, Math.min(mix.length, i + 2 * 12_345));
      }, sink);
      const ms = performance.now() - t0;
      expect(at).toBe(mix.length);
      expect(stats.samples).toBe(N);
      const sum = outs[0].map((v, i) => v + outs[1][i]);
      const snr = snrDb(mix, sum);
      const share = outs.map(
        (o) => 10 * Math.log10(o.reduce((a, v) => a + v * v, 0) / mix.reduce((a, v) => a + v * v, 0)),
      );
      console.log(
        `${id} on real clip (${(N / 44100).toFixed(2)} s): sum SNR ${snr.toFixed(1)} dB, stem energies ${share.map((s) => s.toFixed(1)).join(' / ')} dB, ${ms.toFixed(0)} ms`,
      );
      expect(snr).toBeGreaterThan(60);
      // Both stems carry real content on music (neither is ~all or ~nothing).
      for (const s of share) expect(s).toBeGreaterThan(-20);
    },
    120_000,
  );
});
