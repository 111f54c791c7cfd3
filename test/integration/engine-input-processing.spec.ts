/**
 * What the engine does before the network (issue 11): DC removal (`preprocess`), loudness
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
import { makeTempDir, tone, writeWav, type TestSignal } from '../factories/audio';

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
    expect(plain.processing).toEqual({ preprocess: false, loudness: null });
    const plainSum = await stemSum(plain);
    expect(meanOf(plainSum, plainSum.length / 2)).toBeCloseTo(0.1, 2);

    const filtered = await separate({ preprocess: true });
    expect(filtered.processing?.preprocess).toBe(true);
    const sum = await stemSum(filtered);
    // The 5 Hz DC blocker settles within ~0.1 s; judged on the second half.
    expect(Math.abs(meanOf(sum, sum.length / 2))).toBeLessThan(1e-3);
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
      expect(overridden.processing).toEqual({ preprocess: false, loudness: null });
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
        estimateMb: 450,
        limitMb: 100,
      });
      await expect(
        engine.separate({
          audioPath: input,
          outputDir: path.join(dir, 'limited'),
          modelName: 'builtin:center',
        }),
      ).rejects.toMatchObject({ code: ErrorCodes.MEMORY_LIMIT, context: { estimateMb: 450, limitMb: 100 } });
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
