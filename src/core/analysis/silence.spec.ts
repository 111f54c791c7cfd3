import { detectSilence, SilenceDetector } from './silence';
import { musicLike, pinkNoise, randomChunks, withGap } from '../../../test/support/analysis-signals';

const RATE = 44100;

/** 20 s of music-like material with exact-zero gaps at known places. */
const GAPS: Array<[number, number]> = [
  [0, 1.2],
  [4, 4.8],
  [9.5, 9.9], // 400 ms: below the 500 ms minimum
  [12, 15.25],
  [18.5, 20],
];

function withGaps(channels: number, noiseDb?: number) {
  let sig = musicLike(RATE, channels, [[20, 0]], 4);
  for (const [a, b] of GAPS) sig = withGap(sig, a, b);
  if (noiseDb !== undefined) {
    const n = pinkNoise(RATE, channels, 20, noiseDb, 9);
    for (let i = 0; i < sig.data.length; i++) sig.data[i] += n.data[i];
  }
  return sig;
}

describe(SilenceDetector.name, () => {
  it.each([
    ['stereo, digital silence', 2, undefined],
    ['mono, noise floor at −75 dBFS', 1, -75],
    ['5.1, noise floor at −70 dBFS', 6, -70],
  ])('finds the gaps of %s within 20 ms', (_name, channels, noise) => {
    const sig = withGaps(channels, noise);
    const sut = new SilenceDetector({ sampleRate: RATE, channels });
    for (const c of randomChunks(sig.data, channels, 5)) sut.push(c);
    const r = sut.result();
    const expected = GAPS.filter(([a, b]) => b - a >= 0.5);
    expect(r.ranges).toHaveLength(expected.length);
    r.ranges.forEach((range, i) => {
      expect(Math.abs(range.startSec - expected[i][0])).toBeLessThanOrEqual(0.02);
      expect(Math.abs(range.endSec - expected[i][1])).toBeLessThanOrEqual(0.02);
    });
    const total = expected.reduce((s, [a, b]) => s + b - a, 0);
    expect(Math.abs(r.silentSec - total)).toBeLessThan(0.1);
    expect(r.silentFraction).toBeCloseTo(total / 20, 2);
    expect(r.empty).toBe(false);
  });

  it("in 'peak' mode finds digital gaps to the sample, and splits on a single noise peak", () => {
    const sig = withGaps(2);
    const r = detectSilence(sig.data, { sampleRate: RATE, channels: 2, mode: 'peak' });
    expect(r.mode).toBe('peak');
    const expected = GAPS.filter(([a, b]) => b - a >= 0.5);
    r.ranges.forEach((range, i) => {
      // The music fades through zero crossings: the first quiet sample is at most a few samples early.
      expect(Math.abs(range.startSec - expected[i][0])).toBeLessThanOrEqual(0.001);
      expect(Math.abs(range.endSec - expected[i][1])).toBeLessThanOrEqual(0.001);
    });
    const spiked = Float32Array.from(sig.data);
    spiked[Math.round(13 * RATE) * 2] = 0.01; // −40 dBFS click in the 12–15.25 s gap
    const split = detectSilence(spiked, { sampleRate: RATE, channels: 2, mode: 'peak' });
    expect(split.ranges).toHaveLength(expected.length + 1);
    // In the default 'rms' mode the 10 ms block with the click reads −66 dBFS: still quiet.
    expect(detectSilence(spiked, { sampleRate: RATE, channels: 2 }).ranges).toHaveLength(expected.length);
  });

  it('honours the threshold and the minimum duration', () => {
    const sig = withGaps(2, -50);
    // A −50 dBFS floor is "sound" at −60 dBFS, silence at −40 dBFS.
    expect(detectSilence(sig.data, { sampleRate: RATE, channels: 2 }).ranges).toHaveLength(0);
    const r = detectSilence(sig.data, {
      sampleRate: RATE,
      channels: 2,
      thresholdDbfs: -40,
      minDurationSec: 0.3,
    });
    expect(r.ranges.map((x) => Math.round(x.startSec * 10) / 10)).toEqual([0, 4, 9.5, 12, 18.5]);
  });

  it('flags a signal with nothing above the threshold as empty, and a digital-silence input as one range', () => {
    const quiet = pinkNoise(RATE, 2, 3, -80);
    const r = detectSilence(quiet.data, { sampleRate: RATE, channels: 2 });
    expect(r.empty).toBe(true);
    expect(r.ranges).toEqual([{ startSec: 0, endSec: 3, startFrame: 0, endFrame: 3 * RATE }]);
    expect(r.silentFraction).toBe(1);
    const zero = detectSilence(new Float32Array(2000), { sampleRate: RATE, channels: 2 });
    expect(zero).toMatchObject({ empty: true, peakDbfs: null });
    expect(detectSilence(new Float32Array(0), { sampleRate: RATE, channels: 2 })).toMatchObject({
      empty: true,
      ranges: [],
      silentFraction: 0,
    });
  });

  it('gives the same ranges for planar input and keeps at most maxRanges', () => {
    const sig = withGaps(2);
    const n = sig.data.length / 2;
    const l = new Float32Array(n);
    const rr = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      l[i] = sig.data[2 * i];
      rr[i] = sig.data[2 * i + 1];
    }
    const planar = new SilenceDetector({ sampleRate: RATE, channels: 2 });
    planar.pushPlanar([l, rr]);
    expect(planar.result()).toEqual(detectSilence(sig.data, { sampleRate: RATE, channels: 2 }));
    const capped = detectSilence(sig.data, { sampleRate: RATE, channels: 2, maxRanges: 2 });
    expect(capped.ranges).toHaveLength(2);
    expect(capped.truncated).toBe(true);
  });

  it('rejects a positive threshold or a negative duration', () => {
    expect(() => new SilenceDetector({ sampleRate: RATE, channels: 2, thresholdDbfs: 3 })).toThrow(
      /thresholdDbfs/,
    );
    expect(() => new SilenceDetector({ sampleRate: RATE, channels: 2, minDurationSec: -1 })).toThrow(
      /minDurationSec/,
    );
  });
});
