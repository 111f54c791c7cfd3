import { estimateKey, KeyEstimator, keyFromChroma } from './key';
import {
  chordProgression,
  drumTrack,
  pitchClassName,
  randomChunks,
} from '../../../test/support/analysis-signals';

const PROGRESSIONS: Record<string, number[]> = {
  'I-IV-V-I': [0, 3, 4, 0],
  'I-vi-IV-V': [0, 5, 3, 4],
  'ii-V-I-I': [1, 4, 0, 0],
  'I-V-vi-IV': [0, 4, 5, 3],
};
const TIMBRES: Array<[string, number, number]> = [
  ['6 harmonics 1/h', 6, 1],
  ['sine', 1, 1],
  ['10 harmonics 1/√h', 10, 0.5],
];

describe(KeyEstimator.name, () => {
  it('names the key of generated progressions in all 24 keys (accuracy counted per profile set)', () => {
    const tally: Record<string, { ok: number; total: number; misses: string[] }> = {
      temperley: { ok: 0, total: 0, misses: [] },
      krumhansl: { ok: 0, total: 0, misses: [] },
    };
    for (const [timbre, harmonics, harmonicDecay] of TIMBRES) {
      for (const [name, degrees] of Object.entries(PROGRESSIONS)) {
        for (const mode of ['major', 'minor'] as const) {
          for (let tonic = 0; tonic < 12; tonic++) {
            const sig = chordProgression(tonic, mode, {
              degrees,
              harmonics,
              harmonicDecay,
              sampleRate: 22050,
              chordSeconds: 0.75,
              repeats: 1,
            });
            const { chroma } = estimateKey(sig.data, { sampleRate: 22050, channels: 2 });
            const want = `${pitchClassName(tonic)} ${mode}`;
            for (const profiles of ['temperley', 'krumhansl'] as const) {
              const got = keyFromChroma(chroma, profiles).key;
              const t = tally[profiles];
              t.total++;
              if (got === want) t.ok++;
              else t.misses.push(`${timbre} ${name} ${want} → ${got}`);
            }
          }
        }
      }
    }
    for (const [p, t] of Object.entries(tally))
      console.log(
        `key (${p}): ${t.ok}/${t.total}${t.misses.length ? `; e.g. ${t.misses.slice(0, 3).join('; ')}` : ''}`,
      );
    // Measured: Temperley 288/288, Krumhansl–Kessler 250/288 (misses: the dominant key).
    expect(tally.temperley.ok).toBe(tally.temperley.total);
    expect(tally.krumhansl.ok / tally.krumhansl.total).toBeGreaterThan(0.8);
  });

  it.each([
    [44100, 9, 'minor'],
    [96000, 2, 'major'],
  ] as const)('works at %i Hz with drums over the chords (%i %s)', (rate, tonic, mode) => {
    const sig = chordProgression(tonic, mode, { sampleRate: rate, repeats: 3 });
    const drums = drumTrack(100, sig.data.length / 2 / rate, 'rock', rate);
    for (let i = 0; i < sig.data.length; i++) sig.data[i] += drums.data[i];
    const r = estimateKey(sig.data, { sampleRate: rate, channels: 2 });
    expect(r).toMatchObject({ tonic: pitchClassName(tonic), mode });
    expect(r.confidence).toBeGreaterThan(0);
    expect(r.chroma).toHaveLength(12);
  });

  it('streams: the same key and chroma for any chunking; none for silence', () => {
    const sig = chordProgression(4, 'major', { sampleRate: 22050 });
    const sut = new KeyEstimator({ sampleRate: 22050, channels: 2 });
    for (const c of randomChunks(sig.data, 2, 6, 4000)) sut.push(c);
    expect(sut.result()).toEqual(estimateKey(sig.data, { sampleRate: 22050, channels: 2 }));
    expect(estimateKey(new Float32Array(22050 * 4), { sampleRate: 22050, channels: 2 }).key).toBeNull();
  });
});
