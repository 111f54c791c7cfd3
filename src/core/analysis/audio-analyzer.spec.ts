import { analyzeStream, AudioAnalyzer, STEM_ANALYSIS } from './audio-analyzer';
import { estimateKey } from './key';
import { measureLoudness } from './loudness';
import { detectSilence } from './silence';
import { estimateTempo } from './tempo';
import { chordProgression, drumTrack, randomChunks, withGap } from '../../../test/support/analysis-signals';

describe(AudioAnalyzer.name, () => {
  // Chords over drums at 96 BPM in D major, with 2 s of digital silence in the middle.
  const rate = 44100;
  const chords = chordProgression(2, 'major', { sampleRate: rate, repeats: 3 });
  const drums = drumTrack(96, chords.data.length / 2 / rate, 'rock', rate);
  for (let i = 0; i < chords.data.length; i++) chords.data[i] += drums.data[i];
  const sig = withGap(chords, 5, 7);

  it('gives each analysis exactly what the analyzer alone gives, in one pass over any chunking', async () => {
    async function* source() {
      yield* randomChunks(sig.data, 2, 4);
    }
    const r = await analyzeStream(source(), { sampleRate: rate, channels: 2 });
    const opts = { sampleRate: rate, channels: 2 };
    expect(r.durationSec).toBeCloseTo(sig.data.length / 2 / rate, 9);
    expect(r.loudness).toEqual(measureLoudness(sig.data, opts));
    expect(r.silence).toEqual(detectSilence(sig.data, opts));
    expect(r.tempo).toEqual(estimateTempo(sig.data, opts));
    expect(r.key).toEqual(estimateKey(sig.data, opts));
    expect(r.key?.key).toBe('D major');
    expect(Math.abs(r.tempo!.bpm! / 96 - 1)).toBeLessThan(0.01);
    expect(r.silence!.ranges).toHaveLength(1);
    expect(r.silence!.ranges[0].startSec).toBeCloseTo(5, 1);
  });

  it('runs only what it is asked for (stems: loudness and silence), planar input too', () => {
    const sut = new AudioAnalyzer({ sampleRate: rate, channels: 2, ...STEM_ANALYSIS });
    const n = sig.data.length / 2;
    const l = new Float32Array(n);
    const rr = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      l[i] = sig.data[2 * i];
      rr[i] = sig.data[2 * i + 1];
    }
    sut.pushPlanar([l, rr]);
    const r = sut.result();
    expect(Object.keys(r).sort()).toEqual(['channels', 'durationSec', 'loudness', 'sampleRate', 'silence']);
    expect(sut.result()).toBe(r);
    expect(() => sut.push(new Float32Array(2))).toThrow(/after result/);
  });
});
