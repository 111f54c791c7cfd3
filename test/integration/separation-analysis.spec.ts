/**
 * SpleeterEngine.separate's analysis (issue 11): loudness and silence of the input mixture and of
 * every stem, measured on the chunks as they flow. Checked against a known silent gap, an empty
 * stem (builtin:center on a mono signal leaves nothing in `sides`), and analyzeStream run on the
 * written stem files afterwards.
 */
import * as fs from 'fs';
import * as path from 'path';
import { analyzeStream } from '../../src/core/analysis/audio-analyzer';
import { openAudioInput } from '../../src/core/audio/audio-input';
import { ValidationError } from '../../src/core/errors';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import { concat, makeTempDir, silence, tone, writeWav } from '../factories/audio';
import { testModelDir } from '../factories/models';

jest.setTimeout(120_000);

/** Loudness of a written file as a separate analysis pass sees it (44.1 kHz stereo). */
async function fileLoudness(file: string): Promise<number | null> {
  const input = await openAudioInput(file, { targetSampleRate: 44100, targetChannels: 2 });
  const a = await analyzeStream(input.stream(), {
    sampleRate: 44100,
    channels: 2,
    silence: false,
    tempo: false,
    key: false,
  });
  return a.loudness!.integratedLufs;
}

describe('SpleeterEngine.separate analysis', () => {
  let dir: string;
  let sut: SpleeterEngine;
  let input: string;

  beforeAll(async () => {
    dir = await makeTempDir('sep-analysis-');
    sut = new SpleeterEngine({ modelsDir: path.join(dir, 'models'), ortCacheDir: null });
    // Mono: 2 s of a chord, 1.5 s of digital silence (2.0–3.5 s), 2.5 s of the chord at −6 dB.
    const shape = { sampleRate: 44100, channels: 1 };
    const chord = (seconds: number, amplitude: number) => {
      const a = tone({ ...shape, seconds, frequency: 220, amplitude });
      const b = tone({ ...shape, seconds, frequency: 330, amplitude: amplitude / 2 });
      return { ...a, data: a.data.map((x, i) => x + b.data[i]) };
    };
    input = await writeWav(
      path.join(dir, 'gap.wav'),
      concat(chord(2, 0.3), silence({ ...shape, seconds: 1.5 }), chord(2.5, 0.15)),
    );
  });

  afterAll(async () => {
    await sut.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports loudness, silent ranges and empty stems of the input and every stem', async () => {
    const result = await sut.separate({
      audioPath: input,
      modelName: 'builtin:center',
      outputDir: path.join(dir, 'center'),
      analysisTruePeak: true,
    });
    const a = result.analysis!;
    expect(a).toBeDefined();
    expect(Object.keys(a.stems).sort()).toEqual(['center', 'sides']);

    // The input: measured on the decoded stereo mixture, 6 s, one gap at 2.0–3.5 s.
    expect(a.input.sampleRate).toBe(44100);
    expect(a.input.channels).toBe(2);
    expect(a.input.durationSec).toBeCloseTo(6, 3);
    expect(a.input.empty).toBe(false);
    expect(a.input.silence.thresholdDbfs).toBe(-60);
    expect(a.input.silence.minDurationSec).toBe(0.5);
    expect(a.input.silence.ranges).toHaveLength(1);
    expect(Math.abs(a.input.silence.ranges[0].startSec - 2)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(a.input.silence.ranges[0].endSec - 3.5)).toBeLessThanOrEqual(0.02);
    expect(a.input.loudness.integratedLufs).not.toBeNull();
    expect(a.input.loudness.truePeakDbtp).not.toBeNull();
    expect(a.input.loudness.samplePeakDbfs!).toBeLessThan(0);

    // The centre stem is the whole mono signal: same gap, same loudness as the input.
    const center = a.stems.center;
    expect(center.empty).toBe(false);
    expect(center.durationSec).toBeCloseTo(6, 3);
    expect(center.silence.ranges).toHaveLength(1);
    expect(Math.abs(center.silence.ranges[0].startSec - 2)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(center.silence.ranges[0].endSec - 3.5)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(center.loudness.integratedLufs! - a.input.loudness.integratedLufs!)).toBeLessThan(0.1);

    // Nothing differs between the channels: `sides` is empty, silent from start to end.
    const sides = a.stems.sides;
    expect(sides.empty).toBe(true);
    expect(sides.silence.silentFraction).toBeGreaterThan(0.99);
    expect(sides.loudness.integratedLufs).toBeNull();

    // The same figures as a separate pass over the written files (16-bit WAV).
    const written = await fileLoudness(result.outputs.center);
    expect(Math.abs(written! - center.loudness.integratedLufs!)).toBeLessThanOrEqual(0.05);
    expect(await fileLoudness(result.outputs.sides)).toBeNull();
  });

  it('uses the silence settings of the request, and leaves the analysis out when asked', async () => {
    const tuned = await sut.separate({
      audioPath: input,
      modelName: 'builtin:center',
      outputDir: path.join(dir, 'tuned'),
      silenceThresholdDbfs: -40,
      silenceMinDurationSec: 2,
    });
    // By default without the true peak (its most expensive part); the rest is there.
    expect(tuned.analysis!.input.loudness.truePeakDbtp).toBeNull();
    expect(tuned.analysis!.input.loudness.samplePeakDbfs).not.toBeNull();
    // The 1.5 s gap is shorter than 2 s: no range.
    expect(tuned.analysis!.input.silence).toMatchObject({
      thresholdDbfs: -40,
      minDurationSec: 2,
      ranges: [],
    });

    const bare = await sut.separate({
      audioPath: input,
      modelName: 'builtin:center',
      outputDir: path.join(dir, 'bare'),
      analysis: false,
    });
    expect(bare.analysis).toBeUndefined();

    await expect(
      sut.separate({
        audioPath: input,
        modelName: 'builtin:center',
        outputDir: path.join(dir, 'bad'),
        silenceThresholdDbfs: 3,
      }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('measures the input once when the model reads it several times (Wiener filter, normalisation)', async () => {
    const model = await testModelDir('identity', { config: '2stems' });
    const result = await sut.separate({
      audioPath: input,
      modelName: model,
      outputDir: path.join(dir, 'mwf'),
      mwf: true,
      normalizeLoudness: true,
    });
    const a = result.analysis!;
    // Three Wiener passes and one loudness pass: still 6 s of input, one gap.
    expect(a.input.durationSec).toBeCloseTo(6, 3);
    expect(a.input.silence.ranges).toHaveLength(1);
    for (const stem of Object.values(a.stems)) expect(stem.durationSec).toBeCloseTo(6, 3);
    // Before normalisation: the input's own loudness, as normalisation measured it.
    expect(
      Math.abs(a.input.loudness.integratedLufs! - result.processing!.loudness!.measuredLufs!),
    ).toBeLessThan(0.05);
  });
});
