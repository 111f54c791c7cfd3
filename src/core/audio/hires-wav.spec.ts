/**
 * 192 kHz and 32-bit end to end through the native WAV path: integer and float input decoded
 * exactly, at the file's own rate or resampled for the engine; integer and float output written at
 * 192 kHz, from 192 kHz audio or resampled from the engine's 44.1 kHz.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import {
  channel,
  collect,
  encodeWav,
  firstMismatch,
  makeTempDir,
  noise,
  quantize,
  tone,
  toneAmplitude,
} from '../../../test/factories/audio';
import { openAudioInput } from './audio-input';
import { createAudioOutput } from './audio-output';
import { resampledLength } from './resample';
import { WavFileReader } from './wav-file';

const HI = 192000;

describe('192 kHz / 32-bit WAV', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('hires-');
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['s32', false],
    ['s32', true],
    ['f32', false],
    ['f32', true],
  ] as const)('decodes %s input at 192 kHz exactly (extensible header: %s)', async (encoding, extensible) => {
    // Full-scale extremes included: −1 and the largest positive code.
    const signal = noise({ sampleRate: HI, channels: 2, frames: 50_000, amplitude: 0.9, seed: 3 });
    signal.data[0] = -1;
    signal.data[1] = 1;
    const file = path.join(dir, `in-${encoding}-${extensible}.wav`);
    await fs.writeFile(file, encodeWav(signal, { encoding, extensible }));
    const sut = await openAudioInput(file, { targetSampleRate: HI });
    expect(sut.info).toMatchObject({
      sampleRate: HI,
      channels: 2,
      bitDepth: 32,
      codec: encoding === 's32' ? 'pcm_s32le' : 'pcm_f32le',
      decoder: 'native-wav',
      expectedFrames: 50_000,
    });
    const got = await collect(sut.stream());
    expect(firstMismatch(got, quantize(signal.data, encoding))).toBe(-1);
  });

  it('resamples 192 kHz 32-bit input to the 44.1 kHz the engine runs at, tone intact', async () => {
    const signal = tone({ sampleRate: HI, channels: 2, seconds: 1, frequency: 1000, amplitude: 0.5 });
    const file = path.join(dir, 'tone.wav');
    await fs.writeFile(file, encodeWav(signal, { encoding: 's32' }));
    const sut = await openAudioInput(file);
    const got = await collect(sut.stream());
    expect(got.length / 2).toBe(resampledLength(HI, HI, 44100));
    expect(toneAmplitude(channel(got, 2, 0), 1000, 44100, 2000, 40000)).toBeCloseTo(0.5, 3);
  });

  it.each([
    ['int', 'pcm 32-bit integer'],
    ['float', 'IEEE float'],
  ] as const)(
    'writes 192 kHz 32-bit %s WAV (%s) that reads back bit-exact',
    async (wavSampleFormat, _kind) => {
      // A 24-bit grid is exact in float32 and in int32.
      const data = noise({ sampleRate: HI, channels: 2, frames: 40_000, seed: 9 }).data.map(
        (x) => Math.round(x * 2 ** 23) / 2 ** 23 + 0,
      );
      const file = path.join(dir, `out-${wavSampleFormat}.wav`);
      const sut = await createAudioOutput(file, {
        codec: 'wav',
        bitDepth: 32,
        wavSampleFormat,
        inputSampleRate: HI,
      });
      for (let i = 0; i < data.length; i += 10_000) await sut.write(data.subarray(i, i + 10_000));
      await sut.close();
      const reader = await WavFileReader.open(file);
      expect(reader.info).toMatchObject({
        sampleRate: HI,
        bitsPerSample: 32,
        sampleFormat: wavSampleFormat,
        formatTag: wavSampleFormat === 'int' ? 1 : 3,
        frames: 40_000,
        blockAlign: 8,
      });
      expect(firstMismatch(await collect(reader.frames()), data)).toBe(-1);
    },
  );

  it('clips full scale to the 32-bit integer range instead of wrapping around', async () => {
    const file = path.join(dir, 'clip.wav');
    const sut = await createAudioOutput(file, {
      codec: 'wav',
      bitDepth: 32,
      wavSampleFormat: 'int',
      inputSampleRate: HI,
    });
    await sut.write(new Float32Array([1, -1, 2, -2]));
    await sut.close();
    const bytes = await fs.readFile(file);
    const reader = await WavFileReader.open(file);
    const view = new DataView(bytes.buffer, bytes.byteOffset + reader.info.dataOffset, 16);
    expect([0, 4, 8, 12].map((o) => view.getInt32(o, true))).toEqual([
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31 - 1,
      -(2 ** 31),
    ]);
  });

  it('writes 192 kHz 32-bit output from 44.1 kHz engine audio (resampled on the way out)', async () => {
    const engine = tone({ sampleRate: 44100, channels: 2, seconds: 1, frequency: 3000, amplitude: 0.4 });
    const file = path.join(dir, 'up.wav');
    const sut = await createAudioOutput(file, {
      codec: 'wav',
      bitDepth: 32,
      wavSampleFormat: 'int',
      sampleRate: HI,
    });
    await sut.write(engine.data);
    await sut.close();
    const reader = await WavFileReader.open(file);
    expect(reader.info).toMatchObject({ sampleRate: HI, sampleFormat: 'int', bitsPerSample: 32 });
    expect(reader.info.frames).toBe(resampledLength(44100, 44100, HI));
    const got = await collect(reader.frames());
    expect(toneAmplitude(channel(got, 2, 1), 3000, HI, 10_000, 180_000)).toBeCloseTo(0.4, 3);
  });
});
