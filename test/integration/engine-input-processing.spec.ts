/**
 * What the engine does before the network (issue 11): DC removal (`preprocess`), a Butterworth
 * high-pass (`highpassHz`), spectral-gating noise reduction (`noiseReduction`), loudness
 * normalisation of the input with the stems scaled back (`normalizeLoudness`, `targetLufs`), the
 * default output rate, the memory admission limit and the design's option names. Real WAV files,
 * the built-in center/sides model (scale-invariant masks, so normalising and scaling back must give
 * the stems of the unnormalised run).
 */
import * as fs from 'fs';
import * as path from 'path';
import { openAudioInput } from '../../src/core/audio/audio-input';
import { ErrorCodes } from '../../src/core/errors';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import type { SeparationResult } from '../../src/engine/types';
import { concat, makeTempDir, noise, tone, writeWav, type TestSignal } from '../factories/audio';

jest.setTimeout(60_000);

async function readStereo(file: string): Promise<{ data: Float32Array; sampleRate: number }> {
  const input = await openAudioInput(file, { codec: null } as never);
  const parts: Float32Array[] = [];
  for await (const c of input.stream()) parts.push(c);
  const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return { data, sampleRate: input.info.sampleRate };
}

/** Sample-wise sum of every stem (the model's reconstruction of the mixture). */
async function stemSum(result: SeparationResult): Promise<Float32Array> {
  let sum: Float32Array | null = null;
  for (const file of Object.values(result.outputs)) {
    const { data } = await readStereo(file);
    if (!sum) sum = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) sum[i] += data[i];
  }
  return sum!;
}

function meanOf(data: Float32Array, from: number): number {
  let s = 0;
  for (let i = from; i < data.length; i++) s += data[i];
  return s / (data.length - from);
}

/** Goertzel amplitude of `hz` in channel 0 of interleaved stereo, frames [from, to). */
function toneAmplitude(data: Float32Array, sampleRate: number, hz: number, from: number, to: number): number {
  const w = (2 * Math.PI * hz) / sampleRate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = data[2 * i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(power, 0))) / (to - from);
}

/** RMS of interleaved samples of frames [from, to), dBFS. */
function rmsDb(data: Float32Array, channels: number, from: number, to: number): number {
  let s = 0;
  for (let i = from * channels; i < to * channels; i++) s += data[i] * data[i];
  return 10 * Math.log10(s / ((to - from) * channels));
}

function mix(...signals: TestSignal[]): TestSignal {
  const data = new Float32Array(signals[0].data.length);
  for (const sig of signals) for (let i = 0; i < data.length; i++) data[i] += sig.data[i];
  return { ...signals[0], data };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('SpleeterEngine input processing', () => {
  let dir: string;
  let input: string;
  let sut: SpleeterEngine;
  let run = 0;
  const separate = (extra: Partial<Parameters<SpleeterEngine['separate']>[0]> = {}) =>
    sut.separate({
      audioPath: input,
      outputDir: path.join(dir, `out-${run++}`),
      modelName: 'builtin:center',
      codec: 'wav',
      bitDepth: 32,
      ...extra,
    });

  beforeAll(async () => {
    dir = await makeTempDir('engine-input-processing-');
    // A quiet stereo tone riding on a DC offset of 0.1.
    const signal: TestSignal = tone({
      sampleRate: 44100,
      channels: 2,
      frames: 44100 * 2,
      amplitude: 0.05,
      channelSpread: 0.5,
    });
    for (let i = 0; i < signal.data.length; i++) signal.data[i] += 0.1;
    input = path.join(dir, 'dc-tone.wav');
    await writeWav(input, signal, { encoding: 'f32' });
    sut = new SpleeterEngine({ modelsDir: path.join(dir, 'models'), codec: null });
  });

  afterAll(async () => {
    await sut.dispose();
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('preprocess removes the DC offset before the network', async () => {
    const plain = await separate();
    expect(plain.processing).toEqual({
      preprocess: false,
      highpassHz: null,
      noiseReduction: false,
      loudness: null,
    });
    const plainSum = await stemSum(plain);
    expect(meanOf(plainSum, plainSum.length / 2)).toBeCloseTo(0.1, 2);

    const filtered = await separate({ preprocess: true });
    expect(filtered.processing?.preprocess).toBe(true);
    const sum = await stemSum(filtered);
    // The 5 Hz DC blocker settles within ~0.1 s; judged on the second half.
    expect(Math.abs(meanOf(sum, sum.length / 2))).toBeLessThan(1e-3);
  });

  it('highpassHz attenuates a 30 Hz rumble and keeps the tones (and brings DC removal)', async () => {
    const rate = 44100;
    const shape = { sampleRate: rate, channels: 2, frames: rate * 2 };
    const rumbly = path.join(dir, 'rumble-tones.wav');
    await writeWav(
      rumbly,
      mix(
        tone({ ...shape, frequency: 30, amplitude: 0.2 }),
        tone({ ...shape, frequency: 440, amplitude: 0.1, channelSpread: 0.5 }),
        tone({ ...shape, frequency: 1000, amplitude: 0.1 }),
      ),
      { encoding: 'f32' },
    );
    const plain = await separate({ audioPath: rumbly });
    const filtered = await separate({ audioPath: rumbly, highpassHz: 80 });
    expect(filtered.processing).toEqual({
      preprocess: true,
      highpassHz: 80,
      noiseReduction: false,
      loudness: null,
    });
    // Judged on the second second (integer periods of every tone), after the filter has settled.
    const measure = async (r: SeparationResult) => {
      const sum = await stemSum(r);
      return {
        rumble: toneAmplitude(sum, rate, 30, rate, 2 * rate),
        tone: toneAmplitude(sum, rate, 1000, rate, 2 * rate),
      };
    };
    const before = await measure(plain);
    const after = await measure(filtered);
    expect(before.rumble).toBeGreaterThan(0.15);
    const rumbleDropDb = 20 * Math.log10(before.rumble / after.rumble);
    // A 4th-order Butterworth at 80 Hz: ~34 dB down at 30 Hz, ~0 dB at 1 kHz.
    expect(rumbleDropDb).toBeGreaterThan(25);
    expect(Math.abs(20 * Math.log10(after.tone / before.tone))).toBeLessThan(0.1);
  });

  it('noiseReduction gates the noise-only passages by 10 dB or more', async () => {
    const rate = 44100;
    const shape = (seconds: number) => ({ sampleRate: rate, channels: 2, frames: rate * seconds });
    const hiss = (seconds: number, seed: number) => noise({ ...shape(seconds), amplitude: 0.02, seed });
    const music = (seconds: number, seed: number) =>
      mix(
        tone({ ...shape(seconds), frequency: 440, amplitude: 0.3, channelSpread: 0.5 }),
        hiss(seconds, seed),
      );
    const noisy = path.join(dir, 'tone-noise.wav');
    // Tone + noise, 2 s of noise alone, tone + noise.
    await writeWav(noisy, concat(music(2, 1), hiss(2, 2), music(2, 3)), { encoding: 'f32' });
    const plain = await separate({ audioPath: noisy });
    const denoised = await separate({ audioPath: noisy, noiseReduction: true });
    expect(denoised.processing).toEqual({
      preprocess: true,
      highpassHz: null,
      noiseReduction: true,
      loudness: null,
    });
    // The middle of the noise-only passage, clear of the gate's attack and release.
    const [plainSum, denoisedSum] = [await stemSum(plain), await stemSum(denoised)];
    const from = Math.round(2.5 * rate);
    const to = Math.round(3.5 * rate);
    const dropDb = rmsDb(plainSum, 2, from, to) - rmsDb(denoisedSum, 2, from, to);
    expect(dropDb).toBeGreaterThanOrEqual(10);
    // The tone passes (the gate is open there).
    const toneRatioDb =
      20 *
      Math.log10(
        toneAmplitude(denoisedSum, rate, 440, rate, 2 * rate) /
          toneAmplitude(plainSum, rate, 440, rate, 2 * rate),
      );
    expect(Math.abs(toneRatioDb)).toBeLessThan(0.5);
  });

  it('refuses a highpassHz outside 10…500', async () => {
    await expect(separate({ highpassHz: 5 })).rejects.toMatchObject({ code: ErrorCodes.VALIDATION_FAILED });
    await expect(separate({ highpassHz: Number.NaN })).rejects.toMatchObject({
      code: ErrorCodes.VALIDATION_FAILED,
    });
  });

  it('normalizeLoudness brings the input to the target and scales the stems back to the mixture', async () => {
    const plainSum = await stemSum(await separate());
    for (const targetLufs of [-14, -30]) {
      const result = await separate({ normalizeLoudness: true, targetLufs });
      const l = result.processing!.loudness!;
      expect(l.targetLufs).toBe(targetLufs);
      expect(l.measuredLufs).not.toBeNull();
      expect(l.inputGainDb).toBeCloseTo(targetLufs - l.measuredLufs!, 6);
      expect(l.stemGain).toBeCloseTo(10 ** (-l.inputGainDb / 20), 9);
      // Float32 rounding of the gain and its inverse only.
      expect(maxAbsDiff(await stemSum(result), plainSum)).toBeLessThan(1e-5);
    }
  });

  it('the engine defaults apply when a request says nothing; a request overrides them', async () => {
    const engine = new SpleeterEngine({
      modelsDir: path.join(dir, 'models'),
      codec: null,
      enablePreprocessing: true,
      normalizeLoudness: true,
      targetLufs: -20,
      defaultSampleRate: 22050,
    });
    try {
      const base = { audioPath: input, modelName: 'builtin:center', codec: 'wav' as const };
      const byDefault = await engine.separate({ ...base, outputDir: path.join(dir, 'defaults') });
      expect(byDefault.processing?.preprocess).toBe(true);
      expect(byDefault.processing?.loudness?.targetLufs).toBe(-20);
      for (const f of Object.values(byDefault.outputs)) expect((await readStereo(f)).sampleRate).toBe(22050);

      const overridden = await engine.separate({
        ...base,
        outputDir: path.join(dir, 'overridden'),
        preprocess: false,
        normalizeLoudness: false,
        sampleRate: 44100,
      });
      expect(overridden.processing).toEqual({
        preprocess: false,
        highpassHz: null,
        noiseReduction: false,
        loudness: null,
      });
      for (const f of Object.values(overridden.outputs)) expect((await readStereo(f)).sampleRate).toBe(44100);
    } finally {
      await engine.dispose();
    }
  });

  it('refuses a targetLufs outside −70…0', async () => {
    await expect(separate({ normalizeLoudness: true, targetLufs: 5 })).rejects.toMatchObject({
      code: ErrorCodes.VALIDATION_FAILED,
    });
  });

  it('memoryLimitMb: refuses a separation whose estimate exceeds it, with MEMORY_LIMIT', async () => {
    const engine = new SpleeterEngine({
      modelsDir: path.join(dir, 'models'),
      codec: null,
      memoryLimitMb: 100,
    });
    try {
      await expect(engine.estimateMemory('builtin:center')).resolves.toEqual({
        estimateMb: 350,
        limitMb: 100,
      });
      await expect(
        engine.separate({
          audioPath: input,
          outputDir: path.join(dir, 'limited'),
          modelName: 'builtin:center',
        }),
      ).rejects.toMatchObject({ code: ErrorCodes.MEMORY_LIMIT, context: { estimateMb: 350, limitMb: 100 } });
      expect(fs.existsSync(path.join(dir, 'limited'))).toBe(false);
    } finally {
      await engine.dispose();
    }
  });

  it("accepts the design's option names: batchSize and workerThreads alias batchSegments and intraOpThreads", () => {
    expect(
      () => new SpleeterEngine({ batchSize: 4, workerThreads: 2, cacheEnabled: true, redisUrl: null }),
    ).not.toThrow();
    expect(() => new SpleeterEngine({ batchSize: 4, batchSegments: 4 })).not.toThrow();
    expect(() => new SpleeterEngine({ batchSize: 4, batchSegments: 2 })).toThrow(
      /batchSize \(4\) and batchSegments \(2\)/,
    );
    expect(() => new SpleeterEngine({ workerThreads: 4, intraOpThreads: 1 })).toThrow(/workerThreads/);
  });
});
