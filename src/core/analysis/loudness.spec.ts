import { cascadeMagnitude, kWeighting, kWeightingHighPass, kWeightingShelf } from './biquad';
import { defaultChannelWeights, LoudnessMeter, measureLoudness } from './loudness';
import { randomChunks, toneSequence, pinkNoise } from '../../../test/support/analysis-signals';
import { designInterpolator, interpolatorResponse, TruePeakMeter } from './true-peak';

const RATES = [44100, 48000, 96000, 192000];

describe('K-weighting', () => {
  it('reproduces the BS.1770-4 48 kHz coefficient table', () => {
    const shelf = kWeightingShelf(48000);
    expect(shelf.b0).toBeCloseTo(1.53512485958697, 7);
    expect(shelf.b1).toBeCloseTo(-2.69169618940638, 7);
    expect(shelf.b2).toBeCloseTo(1.19839281085285, 7);
    expect(shelf.a1).toBeCloseTo(-1.69065929318241, 7);
    expect(shelf.a2).toBeCloseTo(0.73248077421585, 7);
    const rlb = kWeightingHighPass(48000);
    expect([rlb.b0, rlb.b1, rlb.b2]).toEqual([1, -2, 1]);
    expect(rlb.a1).toBeCloseTo(-1.99004745483398, 7);
    expect(rlb.a2).toBeCloseTo(0.99007225036621, 7);
  });

  it.each(RATES)('has the 48 kHz response at %i Hz (within 0.02 dB from 20 Hz to 16 kHz)', (rate) => {
    const ref = kWeighting(48000);
    const sut = kWeighting(rate);
    for (const f of [20, 38, 100, 500, 1000, 1682, 4000, 10000, 16000]) {
      const db = (s: typeof ref, r: number) => 20 * Math.log10(cascadeMagnitude(s, f, r));
      expect(Math.abs(db(sut, rate) - db(ref, 48000))).toBeLessThan(0.02);
    }
  });
});

describe(LoudnessMeter.name, () => {
  it.each(RATES)('reads a 1 kHz stereo sine at −23 dBFS as −23.0 LUFS at %i Hz', (rate) => {
    const sig = toneSequence(rate, 2, [[10, -23]]);
    const r = measureLoudness(sig.data, { sampleRate: rate, channels: 2 });
    expect(Math.abs(r.integratedLufs! + 23)).toBeLessThan(0.02);
    expect(r.loudnessRangeLu).toBeCloseTo(0, 3);
    expect(r.truePeakDbtp!).toBeCloseTo(-23, 1);
    expect(r.samplePeakDbfs!).toBeCloseTo(-23, 1);
    expect(r.maxMomentaryLufs!).toBeCloseTo(-23, 1);
    expect(r.maxShortTermLufs!).toBeCloseTo(-23, 1);
  });

  // EBU Tech 3341 (V4) minimum requirements, cases 1–5 (expected −23.0 ± 0.1 LUFS unless noted).
  it.each([
    ['case 1: −23 dBFS', [[20, -23]], -23],
    ['case 2: −33 dBFS', [[20, -33]], -33],
    [
      'case 3: −36/−23/−36 dBFS (relative gate)',
      [
        [10, -36],
        [60, -23],
        [10, -36],
      ],
      -23,
    ],
    [
      'case 4: −72/−36/−23/−36/−72 dBFS (absolute gate)',
      [
        [10, -72],
        [10, -36],
        [60, -23],
        [10, -36],
        [10, -72],
      ],
      -23,
    ],
    [
      'case 5: −26/−20/−26 dBFS',
      [
        [20, -26],
        [20.1, -20],
        [20, -26],
      ],
      -23,
    ],
  ] as const)('Tech 3341 %s', (_name, segments, expected) => {
    const sig = toneSequence(48000, 2, segments as never);
    const r = measureLoudness(sig.data, { sampleRate: 48000, channels: 2, truePeak: false });
    expect(Math.abs(r.integratedLufs! - expected)).toBeLessThan(0.1);
  });

  it('Tech 3341 case 6: 5.0/5.1 levels per channel (L R −28, C −24, Ls Rs −30 dBFS) read −23.0', () => {
    const five = toneSequence(48000, 5, [[20, [-28, -28, -24, -30, -30]]]);
    expect(
      measureLoudness(five.data, { sampleRate: 48000, channels: 5, truePeak: false }).integratedLufs!,
    ).toBeCloseTo(-23, 1);
    // 5.1 with a loud LFE: the LFE is not measured.
    const six = toneSequence(48000, 6, [[20, [-28, -28, -24, -3, -30, -30]]]);
    expect(
      measureLoudness(six.data, { sampleRate: 48000, channels: 6, truePeak: false }).integratedLufs!,
    ).toBeCloseTo(-23, 1);
  });

  it('weighs surround channels +1.5 dB (1.41) and front channels 1.0', () => {
    expect(defaultChannelWeights(6)).toEqual([1, 1, 1, 0, 1.41, 1.41]);
    const front = toneSequence(48000, 6, [[5, [-20, null, null, null, null, null]]]);
    const surround = toneSequence(48000, 6, [[5, [null, null, null, null, -20, null]]]);
    const f = measureLoudness(front.data, { sampleRate: 48000, channels: 6, truePeak: false });
    const s = measureLoudness(surround.data, { sampleRate: 48000, channels: 6, truePeak: false });
    expect(s.integratedLufs! - f.integratedLufs!).toBeCloseTo(10 * Math.log10(1.41), 3);
  });

  it('reads mono 3 dB lower than the same signal on both stereo channels', () => {
    const mono = toneSequence(44100, 1, [[5, -20]]);
    const stereo = toneSequence(44100, 2, [[5, -20]]);
    const m = measureLoudness(mono.data, { sampleRate: 44100, channels: 1, truePeak: false });
    const s = measureLoudness(stereo.data, { sampleRate: 44100, channels: 2, truePeak: false });
    expect(s.integratedLufs! - m.integratedLufs!).toBeCloseTo(10 * Math.log10(2), 3);
  });

  // EBU Tech 3342 LRA cases 1–4 (expected ± 1 LU; we are within 0.1).
  it.each([
    [
      'case 1: −20 then −30 dBFS',
      [
        [20, -20],
        [20, -30],
      ],
      10,
    ],
    [
      'case 2: −20 then −15 dBFS',
      [
        [20, -20],
        [20, -15],
      ],
      5,
    ],
    [
      'case 3: −40 then −20 dBFS',
      [
        [20, -40],
        [20, -20],
      ],
      20,
    ],
    [
      'case 4: −50/−35/−20/−35/−50 dBFS',
      [
        [20, -50],
        [20, -35],
        [20, -20],
        [20, -35],
        [20, -50],
      ],
      15,
    ],
  ] as const)('Tech 3342 %s', (_name, segments, expected) => {
    const sig = toneSequence(48000, 2, segments as never);
    const r = measureLoudness(sig.data, { sampleRate: 48000, channels: 2, truePeak: false });
    expect(Math.abs(r.loudnessRangeLu! - expected)).toBeLessThan(0.1);
  });

  it('gives the same result however the stream is chunked, interleaved or planar', () => {
    const sig = pinkNoise(44100, 2, 8, -20, 5);
    const whole = measureLoudness(sig.data, { sampleRate: 44100, channels: 2 });
    const chunked = new LoudnessMeter({ sampleRate: 44100, channels: 2 });
    for (const c of randomChunks(sig.data, 2)) chunked.push(c);
    const planar = new LoudnessMeter({ sampleRate: 44100, channels: 2 });
    for (const c of randomChunks(sig.data, 2, 9, 3000)) {
      const n = c.length / 2;
      const l = new Float32Array(n);
      const r = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        l[i] = c[2 * i];
        r[i] = c[2 * i + 1];
      }
      planar.pushPlanar([l, r]);
    }
    expect(chunked.result()).toEqual(whole);
    expect(planar.result()).toEqual(whole);
  });

  it('has no integrated loudness for digital silence or input shorter than one 400 ms block', () => {
    const silent = measureLoudness(new Float32Array(2 * 48000), { sampleRate: 48000, channels: 2 });
    expect(silent).toMatchObject({
      integratedLufs: null,
      loudnessRangeLu: null,
      samplePeakDbfs: null,
      truePeakDbtp: null,
      maxMomentaryLufs: null,
    });
    const short = toneSequence(48000, 2, [[0.39, -10]]);
    const r = measureLoudness(short.data, { sampleRate: 48000, channels: 2 });
    expect(r.integratedLufs).toBeNull();
    expect(r.samplePeakDbfs!).toBeCloseTo(-10, 1);
    // 2 s: integrated loudness, but no 3 s short-term window for a loudness range.
    const two = toneSequence(48000, 2, [[2, -10]]);
    const r2 = measureLoudness(two.data, { sampleRate: 48000, channels: 2 });
    expect(r2.integratedLufs!).toBeCloseTo(-10, 1);
    expect(r2.loudnessRangeLu).toBeNull();
  });

  it('reports momentary and short-term loudness while streaming', () => {
    const sut = new LoudnessMeter({ sampleRate: 48000, channels: 2 });
    expect(sut.momentaryLufs).toBeNull();
    sut.push(toneSequence(48000, 2, [[3, -30]]).data);
    expect(sut.momentaryLufs!).toBeCloseTo(-30, 1);
    expect(sut.shortTermLufs!).toBeCloseTo(-30, 1);
    sut.push(toneSequence(48000, 2, [[0.5, -10]]).data);
    expect(sut.momentaryLufs!).toBeCloseTo(-10, 1);
    expect(sut.shortTermLufs!).toBeGreaterThan(-30);
    expect(sut.shortTermLufs!).toBeLessThan(-10);
  });

  it('rejects bad options with a RangeError naming the problem', () => {
    expect(() => new LoudnessMeter({ sampleRate: 0, channels: 2 })).toThrow(/sampleRate/);
    expect(() => new LoudnessMeter({ sampleRate: 48000, channels: 0 })).toThrow(/channels/);
    expect(() => new LoudnessMeter({ sampleRate: 48000, channels: 2, channelWeights: [1] })).toThrow(
      /channelWeights/,
    );
    expect(() => new LoudnessMeter({ sampleRate: 48000, channels: 2 }).push(new Float32Array(3))).toThrow(
      /multiple of 2/,
    );
  });
});

describe(TruePeakMeter.name, () => {
  it('interpolates flat to 0.4 × fs (±0.01 dB) and rejects images beyond 0.55 × fs by 40 dB', () => {
    for (const factor of [2, 4]) {
      const phases = designInterpolator(factor);
      for (const f of [0.01, 0.1, 0.2, 0.3, 0.4])
        expect(Math.abs(20 * Math.log10(interpolatorResponse(phases, f)))).toBeLessThan(0.01);
      for (const f of [0.55, 0.7, 1, 1.3].filter((x) => x < factor / 2))
        expect(20 * Math.log10(interpolatorResponse(phases, f))).toBeLessThan(-40);
    }
  });

  it.each([
    [48000, 12000, Math.PI / 4],
    [44100, 11025, Math.PI / 4],
    [48000, 8000, 0],
    [96000, 24000, Math.PI / 4],
  ])('finds the peak between samples: %i Hz, %i Hz tone, phase %f', (rate, freq, phase) => {
    // Samples of a full-scale fs/4 tone at 45° sit at ±0.707: sample peak −3 dB, true peak 0 dB.
    const n = rate;
    const x = new Float32Array(n);
    // A 10 ms fade-in: an abrupt start is not band-limited and really does overshoot.
    const fade = rate / 100;
    for (let i = 0; i < n; i++)
      x[i] = 0.5 * Math.min(1, i / fade) * Math.sin((2 * Math.PI * freq * i) / rate + phase);
    const sut = new TruePeakMeter(1, rate);
    sut.process([x], [0], 1, n);
    expect(20 * Math.log10(sut.samplePeak)).toBeLessThan(-6.02 - 0.5);
    expect(Math.abs(20 * Math.log10(sut.truePeak) + 6.02)).toBeLessThan(0.1);
  });

  it('never reads below the sample peak, and tracks channels separately', () => {
    const x = new Float32Array([0, 0.9, 0, 0, -0.2, 0, 0, 0]);
    const sut = new TruePeakMeter(2, 48000);
    sut.process([x, x], [0, 1], 2, 4);
    // Channel 0 is [0, 0, −0.2, 0], channel 1 [0.9, 0, 0, 0].
    expect(sut.samplePeaks[0]).toBeCloseTo(0.2, 6);
    expect(sut.truePeaks[0]).toBeLessThan(0.5);
    expect(Math.max(sut.truePeaks[1], sut.samplePeaks[1])).toBeGreaterThanOrEqual(Math.fround(0.9));
    expect(sut.truePeak).toBeGreaterThanOrEqual(Math.fround(0.9));
  });
});
