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

  it('computes silence inside the loudness loop (stereo) with the same results as each analyzer alone', () => {
    // Planar input (stride 1), no true peak (the sample peaks then come from the shared loop), a
    // silence block (7 ms = 309 frames) that does not divide the 100 ms sub-block (4,410 frames),
    // uneven chunks, and a -12 dBFS threshold so that the gaps between the drum hits count as well.
    const n = sig.data.length / 2;
    const planes = [new Float32Array(n), new Float32Array(n)];
    for (let i = 0; i < n; i++) {
      planes[0][i] = sig.data[2 * i];
      planes[1][i] = sig.data[2 * i + 1] * 0.5;
    }
    const loudness = { truePeak: false };
    const silence = { thresholdDbfs: -12, minDurationSec: 0.05, blockMs: 7 };
    const sut = new AudioAnalyzer({
      sampleRate: rate,
      channels: 2,
      loudness,
      silence,
      tempo: false,
      key: false,
    });
    const alone = new AudioAnalyzer({
      sampleRate: rate,
      channels: 2,
      loudness,
      silence: false,
      tempo: false,
      key: false,
    });
    const silenceAlone = new AudioAnalyzer({
      sampleRate: rate,
      channels: 2,
      loudness: false,
      silence,
      tempo: false,
      key: false,
    });
    for (let at = 0, run = 1000; at < n; at += run, run = (run * 7) % 9001 || 1) {
      const end = Math.min(n, at + run);
      const part = planes.map((p) => p.subarray(at, end));
      for (const a of [sut, alone, silenceAlone]) a.pushPlanar(part);
    }
    const r = sut.result();
    expect(r.loudness).toEqual(alone.result().loudness);
    expect(r.silence).toEqual(silenceAlone.result().silence);
    expect(r.silence!.ranges.length).toBeGreaterThan(3);
    const [left, right] = r.loudness!.channelSamplePeaksDbfs;
    expect(right! - left!).toBeCloseTo(-6.02, 1);
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
