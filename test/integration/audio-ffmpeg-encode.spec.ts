/**
 * Writing outputs with the real ffmpeg (the OS package on PATH) and reading them back.
 *
 * Lengths after a round trip: WAV and FLAC exact; MP3 exact too, because ffmpeg writes the LAME tag
 * with encoder delay/padding and trims it on decode (the MP3 frame grid otherwise pads up to 1152
 * frames); Vorbis comes back up to one block (≤ 2048 frames) longer, ffmpeg 4.1 not trimming the
 * end from the last granule position.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { createAudioOutput } from '../../src/core/audio/audio-output';
import { openAudioInput } from '../../src/core/audio/audio-input';
import { WavFileReader } from '../../src/core/audio/wav-file';
import { AudioProcessingError, ErrorCodes } from '../../src/core/errors';
import { Ffmpeg } from '../../src/infra/ffmpeg';
import {
  FFMPEG_MISSING_FOR_TESTS,
  channel,
  collect,
  firstMismatch,
  leftoverFiles,
  makeTempDir,
  noise,
  snrDb,
  tone,
  toneAmplitude,
} from '../factories/audio';

// Each case starts several ffmpeg processes; the OS build is dynamically linked (~0.2 s CPU per
// start), which a loaded 2-core machine stretches past jest's 5 s default.
jest.setTimeout(30_000);

describe('audio output through ffmpeg (integration)', () => {
  let ffmpeg: Ffmpeg;
  let dir: string;
  const signal = tone({ seconds: 2, channels: 2, frequency: 1000, channelSpread: 1 });
  const N = 88_200;

  beforeAll(async () => {
    const located = await Ffmpeg.locate();
    if (!located) throw new Error(FFMPEG_MISSING_FOR_TESTS);
    ffmpeg = located;
  });
  beforeEach(async () => {
    dir = await makeTempDir('audio-encode-int-');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function encode(name: string, options: Parameters<typeof createAudioOutput>[1], data = signal.data) {
    const target = path.join(dir, name);
    const sut = await createAudioOutput(target, { ffmpeg, ...options });
    for (let i = 0; i < data.length; i += 8192) await sut.write(data.subarray(i, i + 8192));
    await sut.close();
    return target;
  }

  it('has the encoders the output codecs need', async () => {
    expect(await ffmpeg.encoderSupport()).toEqual({
      libmp3lame: true,
      libvorbis: true,
      vorbis: true,
      flac: true,
    });
  });

  it.each([
    ['flac', 'flac', 0, 0],
    ['mp3', 'mp3', 0, 0],
    ['ogg', 'vorbis', 0, 2048],
  ] as const)(
    '%s: writes a file that decodes back to the right length and tones',
    async (codec, decodedCodec, minExtra, maxExtra) => {
      const file = await encode(`out.${codec}`, { codec });
      expect(await leftoverFiles(dir)).toEqual([`out.${codec}`]);
      const input = await openAudioInput(file, { ffmpeg });
      expect(input.info).toMatchObject({ codec: decodedCodec, sampleRate: 44100, channels: 2 });
      const back = await collect(input.stream());
      expect(back.length / 2 - N).toBeGreaterThanOrEqual(minExtra);
      expect(back.length / 2 - N).toBeLessThanOrEqual(maxExtra);
      const [from, to] = [4410, 4410 + 441 * 150];
      expect(
        Math.abs(20 * Math.log10(toneAmplitude(channel(back, 2, 0), 1000, 44100, from, to) / 0.5)),
      ).toBeLessThan(0.2);
      expect(
        Math.abs(20 * Math.log10(toneAmplitude(channel(back, 2, 1), 2000, 44100, from, to) / 0.5)),
      ).toBeLessThan(0.2);
      expect(snrDb(channel(signal.data, 2, 0), channel(back, 2, 0), 4410)).toBeGreaterThan(
        codec === 'flac' ? 90 : 30,
      );
    },
  );

  it('FLAC stores 16 or 24 bits as asked (32 becomes 24)', async () => {
    for (const bitDepth of [16, 24, 32] as const) {
      const file = await encode(`d${bitDepth}.flac`, { codec: 'flac', bitDepth });
      expect((await ffmpeg.probe(file, { format: 'flac' })).bitDepth).toBe(bitDepth === 16 ? 16 : 24);
    }
  });

  it('converts the output rate with -ar (FLAC at 48 kHz, MP3 at 22.05 kHz)', async () => {
    const flac = await openAudioInput(await encode('48k.flac', { codec: 'flac', sampleRate: 48000 }), {
      ffmpeg,
      targetSampleRate: 48000,
    });
    expect(flac.info.sampleRate).toBe(48000);
    const frames48 = (await collect(flac.stream())).length / 2;
    expect(Math.abs(frames48 - 96_000)).toBeLessThanOrEqual(64);
    const mp3 = await openAudioInput(
      await encode('22k.mp3', { codec: 'mp3', sampleRate: 22050, bitrateKbps: 96 }),
      { ffmpeg },
    );
    expect(mp3.info).toMatchObject({ sampleRate: 22050, bitRate: 96000 });
  });

  it('WAV through ffmpeg and WAV written natively carry the same samples', async () => {
    const data = noise({ seconds: 1, channels: 2, seed: 12 }).data.map(
      (x) => Math.round(x * 32768) / 32768 + 0,
    );
    const native = await encode('native.wav', { codec: 'wav', bitDepth: 24 }, data);
    const fromFfmpeg = path.join(dir, 'ffmpeg.wav');
    const sink = await ffmpeg.createEncoder(fromFfmpeg, {
      codec: 'wav',
      bitDepth: 24,
      inputSampleRate: 44100,
      outputSampleRate: 44100,
      channels: 2,
    });
    await sink.write(data);
    await sink.close();
    const a = await collect((await WavFileReader.open(native)).frames());
    const b = await collect((await WavFileReader.open(fromFfmpeg)).frames());
    expect(firstMismatch(a, data)).toBe(-1);
    expect(firstMismatch(b, data)).toBe(-1);
  });

  it('a native WAV round trip is bit-exact at 16, 24 and 32 bits', async () => {
    const src = noise({ seconds: 1, channels: 2, seed: 2 });
    for (const bitDepth of [16, 24, 32] as const) {
      const scale = 2 ** (bitDepth === 32 ? 23 : bitDepth - 1);
      const data = src.data.map((x) => Math.round(x * scale) / scale + 0);
      const file = await encode(`rt${bitDepth}.wav`, { codec: 'wav', bitDepth }, data);
      const back = await collect((await openAudioInput(file, { ffmpeg: null })).stream());
      expect(firstMismatch(back, data)).toBe(-1);
    }
  });

  it('abort() kills ffmpeg and leaves no file; a signal does the same', async () => {
    const sut = await createAudioOutput(path.join(dir, 'aborted.flac'), { codec: 'flac', ffmpeg });
    await sut.write(signal.data);
    await sut.abort();
    await sut.abort();
    await expect(sut.write(signal.data)).rejects.toMatchObject({ code: ErrorCodes.ENCODE_FAILED });
    const controller = new AbortController();
    const viaSignal = await createAudioOutput(path.join(dir, 'signal.mp3'), {
      codec: 'mp3',
      ffmpeg,
      signal: controller.signal,
    });
    await viaSignal.write(signal.data);
    controller.abort(new Error('canceled'));
    await expect(viaSignal.close()).rejects.toThrow('canceled');
    await viaSignal.abort();
    expect(await leftoverFiles(dir)).toEqual([]);
  });

  it('an encoder that cannot write fails with ENCODE_FAILED, ffmpeg message attached, nothing left', async () => {
    const missingDir = path.join(dir, 'does-not-exist');
    const sut = await createAudioOutput(path.join(missingDir, 'x.flac'), { codec: 'flac', ffmpeg });
    const err = await (async () => {
      for (let i = 0; i < 50; i++) await sut.write(signal.data);
      await sut.close();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioProcessingError);
    expect((err as AudioProcessingError).code).toBe(ErrorCodes.ENCODE_FAILED);
    expect(String((err as AudioProcessingError).context.ffmpegMessage)).toMatch(/No such file or directory/);
    expect(await leftoverFiles(dir)).toEqual([]);
  });

  it('replaces an existing file atomically only when the encode succeeded', async () => {
    const target = path.join(dir, 'keep.mp3');
    await fs.writeFile(target, 'previous');
    const sut = await createAudioOutput(target, { codec: 'mp3', ffmpeg });
    await sut.write(signal.data);
    expect(await fs.readFile(target, 'utf8')).toBe('previous');
    await sut.abort();
    expect(await fs.readFile(target, 'utf8')).toBe('previous');
    await encode('keep.mp3', { codec: 'mp3' });
    expect((await openAudioInput(target, { ffmpeg })).info.codec).toBe('mp3');
    expect(await leftoverFiles(dir)).toEqual(['keep.mp3']);
  });
});
