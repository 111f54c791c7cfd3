import { promises as fs } from 'fs';
import * as path from 'path';
import {
  channel,
  collect,
  firstMismatch,
  leftoverFiles,
  makeTempDir,
  noise,
  snrDb,
  tone,
} from '../../../test/factories/audio';
import { AudioProcessingError, ErrorCodes, ValidationError } from '../errors';
import { createAudioOutput, type AudioOutputOptions } from './audio-output';
import { WavFileReader } from './wav-file';

describe('createAudioOutput', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('audio-output-');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it.each([
    [16, 'int'],
    [24, 'int'],
    [32, 'float'],
  ] as const)('writes %i-bit WAV (%s) that reads back exactly', async (bitDepth, sampleFormat) => {
    const scale = 2 ** 15; // 16-bit grid: exact in every format
    const signal = noise({ frames: 30_000, channels: 2, seed: bitDepth });
    const data = signal.data.map((x) => Math.round(x * scale) / scale + 0);
    const target = path.join(dir, `out-${bitDepth}.wav`);
    const sut = await createAudioOutput(target, { codec: 'wav', bitDepth });
    expect(sut.path).toBe(target);
    for (let i = 0; i < data.length; i += 8192) await sut.write(data.subarray(i, i + 8192));
    await sut.close();
    const reader = await WavFileReader.open(target);
    expect(reader.info).toMatchObject({
      sampleFormat,
      bitsPerSample: bitDepth,
      sampleRate: 44100,
      channels: 2,
      frames: 30_000,
    });
    expect(firstMismatch(await collect(reader.frames()), data)).toBe(-1);
    expect(await leftoverFiles(dir)).toEqual([`out-${bitDepth}.wav`]);
  });

  it('resamples 44.1 kHz input to a 48 kHz WAV with the exact length', async () => {
    const target = path.join(dir, '48k.wav');
    const sut = await createAudioOutput(target, { codec: 'wav', bitDepth: 32, sampleRate: 48000 });
    const signal = tone({ frames: 44_100, channels: 2, frequency: 1000 });
    for (let i = 0; i < signal.data.length; i += 5000) await sut.write(signal.data.subarray(i, i + 5000));
    await sut.close();
    const reader = await WavFileReader.open(target);
    expect(reader.info.sampleRate).toBe(48000);
    expect(reader.info.frames).toBe(48_000);
    const left = channel(await collect(reader.frames()), 2, 0);
    expect(
      snrDb(tone({ frames: 48_000, channels: 1, sampleRate: 48000, frequency: 1000 }).data, left, 2000),
    ).toBeGreaterThan(90);
  });

  it('abort() leaves nothing behind, also when resampling', async () => {
    for (const sampleRate of [44100, 22050]) {
      const sut = await createAudioOutput(path.join(dir, 'x.wav'), { codec: 'wav', sampleRate });
      await sut.write(tone({ frames: 10_000 }).data);
      await sut.abort();
    }
    expect(await leftoverFiles(dir)).toEqual([]);
  });

  it.each(['flac', 'mp3', 'ogg'] as const)(
    'needs ffmpeg for %s (DECODER_UNAVAILABLE) and creates no file',
    async (codec) => {
      const err = await createAudioOutput(path.join(dir, `x.${codec}`), { codec, ffmpeg: null }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AudioProcessingError);
      expect((err as AudioProcessingError).code).toBe(ErrorCodes.DECODER_UNAVAILABLE);
      expect((err as AudioProcessingError).message).toMatch(/ffmpeg/);
      expect(await leftoverFiles(dir)).toEqual([]);
    },
  );

  it.each<[string, AudioOutputOptions]>([
    ['an unknown codec', { codec: 'aac' as never }],
    ['a 20-bit depth', { codec: 'wav', bitDepth: 20 as never }],
    ['MP3 at 96 kHz', { codec: 'mp3', sampleRate: 96000 }],
    ['MP3 with 6 channels', { codec: 'mp3', channels: 6 }],
    ['a fractional rate', { codec: 'wav', sampleRate: 44100.5 }],
    ['an absurd bitrate', { codec: 'ogg', bitrateKbps: 5000 }],
  ])('rejects %s with a ValidationError', async (_name, options) => {
    await expect(createAudioOutput(path.join(dir, 'x'), options)).rejects.toBeInstanceOf(ValidationError);
  });
});
