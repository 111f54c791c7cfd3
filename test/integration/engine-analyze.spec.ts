/**
 * SpleeterEngine.analyze (the library face of POST /v1/analyses and `analyze`): the file is read at
 * its own rate and channel count, and the numbers are those of the analysers run on the samples.
 */
import * as fs from 'fs';
import * as path from 'path';
import { measureLoudness } from '../../src/core/analysis/loudness';
import { ErrorCodes } from '../../src/core/errors';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import { makeTempDir, tone, writeTextFile, writeWav } from '../factories/audio';

jest.setTimeout(60_000);

describe('SpleeterEngine.analyze', () => {
  let dir: string;
  let sut: SpleeterEngine;
  beforeAll(async () => {
    dir = await makeTempDir('engine-analyze-');
    sut = new SpleeterEngine({ modelsDir: path.join(dir, 'models'), codec: null });
  });
  afterAll(async () => {
    await sut.dispose();
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('reads a 48 kHz mono file as it is: rate, channels, duration, loudness of the samples', async () => {
    // 1 kHz at −20 dBFS peak for 3 s, then 1 s of digital silence.
    const signal = tone({
      sampleRate: 48000,
      channels: 1,
      frames: 48000 * 4,
      amplitude: 0.1,
      frequency: 1000,
    });
    signal.data.fill(0, 48000 * 3);
    const file = path.join(dir, 'mono48.wav');
    await writeWav(file, signal, { encoding: 'f32' });

    const result = await sut.analyze(file);
    expect(result.audioPath).toBe(file);
    expect(result.technical).toEqual({
      format: 'wav',
      codec: 'pcm_f32le',
      sampleRate: 48000,
      channels: 1,
      bitDepth: 32,
      durationSec: 4,
      bitRate: 48000 * 4 * 8,
      decoder: 'native-wav',
    });
    expect(result.tags).toEqual({});
    const a = result.analysis;
    expect(a.sampleRate).toBe(48000);
    expect(a.channels).toBe(1);
    expect(a.durationSec).toBe(4);
    const reference = measureLoudness(signal.data, { sampleRate: 48000, channels: 1 });
    expect(a.loudness!.integratedLufs).toBeCloseTo(reference.integratedLufs!, 6);
    expect(a.loudness!.samplePeakDbfs).toBeCloseTo(-20, 1);
    expect(a.silence!.ranges).toEqual([expect.objectContaining({ startSec: 3, endSec: 4 })]);
    expect(a.tempo).toBeDefined();
    expect(a.key).toBeDefined();
  });

  it('refuses what is not audio with UNSUPPORTED_AUDIO', async () => {
    const file = await writeTextFile(path.join(dir, 'notes.wav'), 'hello');
    await expect(sut.analyze(file)).rejects.toMatchObject({ code: ErrorCodes.UNSUPPORTED_AUDIO });
  });

  it('stops when aborted', async () => {
    const file = path.join(dir, 'stereo.wav');
    await writeWav(file, tone({ sampleRate: 44100, channels: 2, frames: 44100 * 2 }), { encoding: 's16' });
    const controller = new AbortController();
    controller.abort();
    await expect(sut.analyze(file, { signal: controller.signal })).rejects.toBeDefined();
  });
});
