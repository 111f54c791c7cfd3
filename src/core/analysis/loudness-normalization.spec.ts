import { measureLoudness } from './loudness';
import {
  applyGain,
  gainStream,
  limitStream,
  normalizationGainDb,
  planLoudnessNormalization,
  TruePeakLimiter,
} from './loudness-normalization';
import { clickTrack, musicLike, randomChunks, toneSequence } from '../../../test/support/analysis-signals';

function limitAll(sut: TruePeakLimiter, data: Float32Array, seed = 3): Float32Array {
  const parts: Float32Array[] = [];
  for (const c of randomChunks(data, sut.channels, seed, 5000)) parts.push(sut.process(c));
  parts.push(sut.flush());
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('loudness normalisation maths', () => {
  it('computes the gain to the target, capped, and 0 for unmeasurable input', () => {
    expect(normalizationGainDb(-23)).toBe(9);
    expect(normalizationGainDb(-10, -16)).toBe(-6);
    expect(normalizationGainDb(-80, -14, 40)).toBe(40);
    expect(normalizationGainDb(null)).toBe(0);
  });

  it("plans 'restore' so that the stems' gain undoes the input gain exactly", () => {
    const plan = planLoudnessNormalization(-26);
    expect(plan).toMatchObject({ mode: 'restore', inputGainDb: 12, stemCeilingDbtp: null });
    expect(plan.inputGain * plan.stemGain).toBeCloseTo(1, 12);
    // Stems that sum to the scaled mixture sum to the original once rescaled.
    const mix = toneSequence(44100, 2, [[1, -30]]).data;
    const scaled = applyGain(Float32Array.from(mix), plan.inputGain);
    const a = scaled.map((v) => 0.3 * v);
    const b = scaled.map((v, i) => v - a[i]);
    const sum = a.map((v, i) => v * plan.stemGain + b[i] * plan.stemGain);
    let err = 0;
    for (let i = 0; i < mix.length; i++) err = Math.max(err, Math.abs(sum[i] - mix[i]));
    expect(err).toBeLessThan(1e-6);
  });

  it("plans 'normalized' with stems left at the target and limited to the ceiling", () => {
    const plan = planLoudnessNormalization(-20, { mode: 'normalized', targetLufs: -16, ceilingDbtp: -2 });
    expect(plan).toMatchObject({ inputGainDb: 4, stemGain: 1, stemCeilingDbtp: -2 });
    expect(() => planLoudnessNormalization(-20, { ceilingDbtp: 1 })).toThrow(/ceilingDbtp/);
  });
});

describe(TruePeakLimiter.name, () => {
  it('returns exactly as many frames as it got, whatever the chunking, identically', () => {
    const sig = musicLike(44100, 2, [[3, 6]]);
    const a = limitAll(new TruePeakLimiter({ sampleRate: 44100, channels: 2 }), sig.data, 1);
    const b = limitAll(new TruePeakLimiter({ sampleRate: 44100, channels: 2 }), sig.data, 2);
    expect(a.length).toBe(sig.data.length);
    expect(b).toEqual(a);
  });

  it('passes a signal under the ceiling through bit for bit (aligned, no delay)', () => {
    const sig = musicLike(48000, 2, [[2, -10]]);
    const out = limitAll(new TruePeakLimiter({ sampleRate: 48000, channels: 2 }), sig.data);
    expect(out).toEqual(sig.data);
  });

  it.each([
    [44100, 2, 6],
    [48000, 1, 12],
    [96000, 2, 9],
    [44100, 6, 6],
  ])('keeps the true peak under −1 dBTP (+0.1 dB): %i Hz, %i ch, peaks %i dB over', (rate, ch, over) => {
    const sig = musicLike(rate, ch, [[4, over]]);
    const before = measureLoudness(sig.data, { sampleRate: rate, channels: ch });
    expect(before.truePeakDbtp!).toBeGreaterThan(0);
    const sut = new TruePeakLimiter({ sampleRate: rate, channels: ch });
    const out = limitAll(sut, sig.data);
    const after = measureLoudness(out, { sampleRate: rate, channels: ch });
    expect(after.truePeakDbtp!).toBeLessThanOrEqual(-1 + 0.1);
    expect(after.truePeakDbtp!).toBeGreaterThan(-1.5);
    expect(sut.maxReductionDb).toBeLessThan(0);
  });

  it('limits a drum track with a pre-gain, and leaves the quiet parts between hits at that gain', () => {
    const sig = clickTrack(120, 4, 44100);
    const sut = new TruePeakLimiter({ sampleRate: 44100, channels: 2, gain: 2 });
    const out = limitAll(sut, sig.data);
    expect(measureLoudness(out, { sampleRate: 44100, channels: 2 }).truePeakDbtp!).toBeLessThanOrEqual(-0.9);
    // The off-beat hi-hat (under the ceiling at this gain) 260 ms after the limited kick (release
    // 100 ms, from about −5 dB) is back at the gain of 2, within 0.5 dB.
    const rms = (x: Float32Array) => {
      let s = 0;
      for (let i = Math.round(0.26 * 44100) * 2; i < Math.round(0.28 * 44100) * 2; i++) s += x[i] * x[i];
      return Math.sqrt(s);
    };
    expect(sut.maxReductionDb).toBeLessThan(-0.5);
    expect(rms(out) / rms(sig.data)).toBeGreaterThan(2 * 10 ** (-0.5 / 20));
    expect(rms(out) / rms(sig.data)).toBeLessThanOrEqual(2);
  });
});

describe('stream wrappers', () => {
  it('gainStream scales into new arrays; limitStream keeps the length and equals the limiter', async () => {
    const sig = musicLike(44100, 2, [[2, 6]]);
    async function* source() {
      yield* randomChunks(sig.data, 2, 7);
    }
    const copy = Float32Array.from(sig.data);
    const scaled: Float32Array[] = [];
    for await (const c of gainStream(source(), 0.5)) scaled.push(c);
    expect(sig.data).toEqual(copy);
    expect(scaled.reduce((n, c) => n + c.length, 0)).toBe(sig.data.length);
    expect(scaled[0][1]).toBe(Math.fround(sig.data[1] * 0.5));
    const limited: Float32Array[] = [];
    for await (const c of limitStream(source(), { sampleRate: 44100, channels: 2 })) limited.push(c);
    const joined = new Float32Array(sig.data.length);
    let o = 0;
    for (const c of limited) {
      joined.set(c, o);
      o += c.length;
    }
    expect(o).toBe(sig.data.length);
    expect(joined).toEqual(limitAll(new TruePeakLimiter({ sampleRate: 44100, channels: 2 }), sig.data));
  });
});

describe('normalising a programme to a target', () => {
  it.each([
    [
      'music-like material at −30 LUFS to −14 LUFS',
      musicLike(44100, 2, [
        [3, -18],
        [3, -14],
      ]),
      -14,
    ],
    ['loud music-like material (peaks over 0 dBFS) to −16 LUFS', musicLike(48000, 2, [[6, 6]]), -16],
    ['a 1 kHz tone to −23 LUFS', toneSequence(48000, 2, [[5, -6]]), -23],
  ])('%s: measures within 0.2 LU of the target, true peak ≤ ceiling + 0.1 dB', (_name, sig, target) => {
    const opts = { sampleRate: sig.sampleRate, channels: sig.channels };
    const plan = planLoudnessNormalization(measureLoudness(sig.data, opts), {
      mode: 'normalized',
      targetLufs: target,
    });
    const sut = new TruePeakLimiter({ ...opts, gain: plan.inputGain, ceilingDbtp: plan.stemCeilingDbtp! });
    const after = measureLoudness(limitAll(sut, sig.data), opts);
    expect(Math.abs(after.integratedLufs! - target)).toBeLessThanOrEqual(0.2);
    expect(after.truePeakDbtp!).toBeLessThanOrEqual(-1 + 0.1);
  });
});
