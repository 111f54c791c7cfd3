import { promises as fs } from 'fs';
import * as path from 'path';
import {
  channel,
  collect,
  firstMismatch,
  makeTempDir,
  noise,
  quantize,
  silence,
  snrDb,
  tone,
  toneAmplitude,
  writeEmptyFile,
  writeHlsPlaylist,
  writeRandomBytes,
  writeTextFile,
  writeWav,
} from '../../../test/factories/audio';
import { AudioProcessingError, ErrorCodes, ValidationError } from '../errors';
import type { ExternalAudioCodec, ExternalDecodeOptions, ProbedAudio } from './audio-codec';
import { openAudioInput } from './audio-input';

/** A few valid MPEG-1 layer III frame headers: enough for the sniffer to call it MP3. */
function mp3LikeBytes(): Buffer {
  const frame = Buffer.alloc(417);
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return Buffer.concat([frame, frame, frame, frame]);
}

/** Strict fake: only probe/decode are expected; it records what it was asked. */
class FakeCodec implements ExternalAudioCodec {
  readonly description = 'fake';
  readonly decodeCalls: ExternalDecodeOptions[] = [];
  constructor(
    private readonly probed: ProbedAudio,
    private readonly chunks: Float32Array[],
    private readonly warnings: string[] = [],
  ) {}
  async probe(): Promise<ProbedAudio> {
    return this.probed;
  }
  async *decode(_path: string, options: ExternalDecodeOptions = {}): AsyncGenerator<Float32Array> {
    this.decodeCalls.push(options);
    for (const w of this.warnings) options.onWarning?.(w);
    for (const c of this.chunks) yield c;
  }
  createEncoder(): never {
    throw new Error('unexpected createEncoder');
  }
}

const probed = (over: Partial<ProbedAudio> = {}): ProbedAudio => ({
  format: 'mp3',
  codec: 'mp3',
  sampleRate: 44100,
  channels: 2,
  durationSec: 1,
  durationIsEstimate: false,
  bitRate: 192000,
  ...over,
});

async function errorOf(promise: Promise<unknown>): Promise<AudioProcessingError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AudioProcessingError);
  return err as AudioProcessingError;
}

describe('openAudioInput', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('audio-input-');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe('native WAV (no ffmpeg at all)', () => {
    it('streams 44.1 kHz stereo unchanged, describes it, and can stream it again', async () => {
      const signal = noise({ frames: 40_000, channels: 2, seed: 3 });
      const file = await writeWav(path.join(dir, 'in.wav'), signal, { encoding: 's24' });
      const sut = await openAudioInput(file, { ffmpeg: null });
      expect(sut.info).toMatchObject({
        format: 'wav',
        codec: 'pcm_s24le',
        sampleRate: 44100,
        channels: 2,
        bitDepth: 24,
        frames: 40_000,
        expectedFrames: 40_000,
        decoder: 'native-wav',
      });
      expect(sut.info.durationSec).toBeCloseTo(40_000 / 44100, 12);
      const expected = quantize(signal.data, 's24');
      expect(firstMismatch(await collect(sut.stream()), expected)).toBe(-1);
      expect(firstMismatch(await collect(sut.stream()), expected)).toBe(-1);
    });

    it('resamples 48 kHz mono to 44.1 kHz stereo with the exact length and both channels equal', async () => {
      const file = await writeWav(
        path.join(dir, 'm.wav'),
        tone({ frames: 48_000, channels: 1, sampleRate: 48000, frequency: 1000 }),
        {
          encoding: 'f32',
        },
      );
      const sut = await openAudioInput(file);
      const out = await collect(sut.stream());
      expect(out.length / 2).toBe(44_100);
      expect(sut.info.expectedFrames).toBe(44_100);
      const left = channel(out, 2, 0);
      expect(firstMismatch(left, channel(out, 2, 1))).toBe(-1);
      expect(snrDb(tone({ frames: 44_100, channels: 1, frequency: 1000 }).data, left, 2000)).toBeGreaterThan(
        90,
      );
    });

    it('keeps the first two channels of a 6-channel 96 kHz file', async () => {
      // Channel c carries 500·(1+c) Hz; the analysis window holds whole periods of every tone.
      const six = tone({ frames: 48_000, channels: 6, sampleRate: 96000, frequency: 500, channelSpread: 1 });
      const file = await writeWav(path.join(dir, 'six.wav'), six, { encoding: 's16', extensible: true });
      const out = await collect((await openAudioInput(file)).stream());
      expect(out.length / 2).toBe(22_050);
      const [l, r] = [channel(out, 2, 0), channel(out, 2, 1)];
      expect(toneAmplitude(l, 500, 44100, 882, 20727)).toBeCloseTo(0.5, 3);
      expect(toneAmplitude(r, 1000, 44100, 882, 20727)).toBeCloseTo(0.5, 3);
      expect(toneAmplitude(l, 1500, 44100, 882, 20727)).toBeLessThan(1e-5);
    });

    it('selects offset/duration by exact sample positions', async () => {
      const signal = noise({ frames: 44_100, channels: 2, seed: 4 });
      const file = await writeWav(path.join(dir, 'sel.wav'), signal, { encoding: 'f32' });
      const sut = await openAudioInput(file, { offsetSec: 0.5, durationSec: 0.25 });
      expect(sut.info.expectedFrames).toBe(11_025);
      const out = await collect(sut.stream());
      expect(firstMismatch(out, signal.data.subarray(22_050 * 2, 33_075 * 2))).toBe(-1);
      // A duration past the end is clamped to the end.
      const tail = await collect((await openAudioInput(file, { offsetSec: 0.9, durationSec: 5 })).stream());
      expect(tail.length / 2).toBe(44_100 - 39_690);
    });

    it('rejects an offset at or beyond the end as EMPTY_AUDIO', async () => {
      const file = await writeWav(path.join(dir, 'short.wav'), tone({ frames: 4410 }));
      expect((await errorOf(openAudioInput(file, { offsetSec: 0.1 }))).code).toBe(ErrorCodes.EMPTY_AUDIO);
    });

    it('rejects a file over maxDurationSec with DURATION_LIMIT', async () => {
      const file = await writeWav(path.join(dir, 'long.wav'), silence({ frames: 44_100 * 3, channels: 1 }));
      const err = await errorOf(openAudioInput(file, { maxDurationSec: 2 }));
      expect(err.code).toBe(ErrorCodes.DURATION_LIMIT);
      expect(err.context).toMatchObject({ durationSec: 3, maxDurationSec: 2 });
    });

    it('rejects a WAV without samples as EMPTY_AUDIO and a truncated one as CORRUPT_AUDIO', async () => {
      const empty = await writeWav(path.join(dir, 'e.wav'), silence({ frames: 0 }));
      expect((await errorOf(openAudioInput(empty))).code).toBe(ErrorCodes.EMPTY_AUDIO);
      const full = await writeWav(path.join(dir, 'full.wav'), tone({ frames: 10_000 }));
      await fs.truncate(full, 20_000);
      expect((await errorOf(openAudioInput(full))).code).toBe(ErrorCodes.CORRUPT_AUDIO);
    });
  });

  describe('validation and content sniffing', () => {
    it.each([
      ['a missing file', (d: string) => Promise.resolve(path.join(d, 'nope.wav')), ErrorCodes.FILE_NOT_FOUND],
      ['a directory', (d: string) => Promise.resolve(d), ErrorCodes.FILE_NOT_FOUND],
      ['an empty file', (d: string) => writeEmptyFile(path.join(d, 'empty.wav')), ErrorCodes.EMPTY_AUDIO],
      [
        'a text file named .wav',
        (d: string) => writeTextFile(path.join(d, 'text.wav')),
        ErrorCodes.UNSUPPORTED_AUDIO,
      ],
      [
        'random bytes named .mp3',
        (d: string) => writeRandomBytes(path.join(d, 'noise.mp3')),
        ErrorCodes.UNSUPPORTED_AUDIO,
      ],
      [
        'an HLS playlist named .mp3',
        (d: string) => writeHlsPlaylist(path.join(d, 'list.mp3')),
        ErrorCodes.UNSUPPORTED_AUDIO,
      ],
    ])('rejects %s', async (_name, make, code) => {
      const file = await make(dir);
      expect((await errorOf(openAudioInput(file))).code).toBe(code);
    });

    it('asks for ffmpeg (DECODER_UNAVAILABLE, with install hints) for non-WAV content, even named .wav', async () => {
      const file = path.join(dir, 'actually-mp3.wav');
      await fs.writeFile(file, mp3LikeBytes());
      const err = await errorOf(openAudioInput(file, { ffmpeg: null }));
      expect(err.code).toBe(ErrorCodes.DECODER_UNAVAILABLE);
      expect(err.message).toMatch(/apt-get install ffmpeg/);
      expect(err.message).toMatch(/SPLEETER_FFMPEG_PATH/);
      expect(err.context).toMatchObject({ format: 'mp3' });
    });

    it('routes WAV codecs it cannot decode natively (ADPCM) to ffmpeg', async () => {
      const file = await writeWav(path.join(dir, 'adpcm.wav'), tone({ frames: 1000 }), { formatTag: 2 });
      expect((await errorOf(openAudioInput(file))).code).toBe(ErrorCodes.DECODER_UNAVAILABLE);
      const codec = new FakeCodec(probed({ codec: 'adpcm_ms', durationSec: 1000 / 44100 }), [
        new Float32Array(2000),
      ]);
      const sut = await openAudioInput(file, { ffmpeg: codec });
      expect(sut.info).toMatchObject({ format: 'wav', codec: 'adpcm_ms', decoder: 'external' });
      expect((await collect(sut.stream())).length).toBe(2000);
      expect(codec.decodeCalls[0]).toMatchObject({ format: 'wav', sampleRate: 44100, channels: 2 });
    });

    it('rejects bad options with a ValidationError', async () => {
      const file = await writeWav(path.join(dir, 'ok.wav'), tone({ frames: 100 }));
      for (const options of [
        { offsetSec: -1 },
        { durationSec: 0 },
        { targetSampleRate: 44100.5 },
        { targetChannels: 0 },
      ]) {
        await expect(openAudioInput(file, options)).rejects.toBeInstanceOf(ValidationError);
      }
    });
  });

  describe('external decoder results', () => {
    let mp3: string;
    beforeEach(async () => {
      mp3 = path.join(dir, 'x.mp3');
      await fs.writeFile(mp3, mp3LikeBytes());
    });

    it('maps channels and resamples what the decoder returns (mono 22.05 kHz → stereo 44.1 kHz)', async () => {
      const src = tone({ frames: 22_050, channels: 1, sampleRate: 22050, frequency: 1000 });
      const codec = new FakeCodec(probed({ sampleRate: 22050, channels: 1 }), [
        src.data.subarray(0, 1001),
        src.data.subarray(1001),
      ]);
      const out = await collect((await openAudioInput(mp3, { ffmpeg: codec })).stream());
      expect(out.length).toBe(44_100 * 2);
      expect(
        snrDb(tone({ frames: 44_100, channels: 1, frequency: 1000 }).data, channel(out, 2, 1), 2000),
      ).toBeGreaterThan(90);
      // The decoder is pinned to the probed rate/channels so deinterleaving cannot go wrong.
      expect(codec.decodeCalls[0]).toMatchObject({ format: 'mp3', sampleRate: 22050, channels: 1 });
    });

    it('expects the probed duration in frames at the output rate, after offset/duration selection', async () => {
      const open = (over: Partial<ProbedAudio>, sel: { offsetSec?: number; durationSec?: number } = {}) =>
        openAudioInput(mp3, { ffmpeg: new FakeCodec(probed(over), []), ...sel }).then(
          (i) => i.info.expectedFrames,
        );
      expect(await open({ durationSec: 10, sampleRate: 22050 })).toBe(441_000);
      expect(await open({ durationSec: 10, sampleRate: 48000 }, { offsetSec: 4 })).toBe(264_600);
      expect(await open({ durationSec: 10 }, { offsetSec: 4, durationSec: 2.5 })).toBe(110_250);
      expect(await open({ durationSec: 10 }, { offsetSec: 9, durationSec: 5 })).toBe(44_100);
      // An estimate (VBR MP3 without a Xing header) is still good enough for progress.
      expect(await open({ durationSec: 3, durationIsEstimate: true })).toBe(132_300);
      expect(await open({ durationSec: null })).toBeNull();
    });

    it('ends with CORRUPT_AUDIO when a full decode is far shorter than the declared duration', async () => {
      const codec = new FakeCodec(probed({ durationSec: 10 }), [new Float32Array(44_100 * 2 * 5)]);
      const sut = await openAudioInput(mp3, { ffmpeg: codec });
      const err = await errorOf(collect(sut.stream()));
      expect(err.code).toBe(ErrorCodes.CORRUPT_AUDIO);
      expect(err.context).toMatchObject({ declaredSec: 10, decodedSec: 5 });
    });

    it('accepts the short decode when the duration was an estimate, when a range was asked, or when strict is off', async () => {
      const chunk = () => [new Float32Array(44_100 * 2 * 5)];
      for (const [over, options] of [
        [{ durationSec: 10, durationIsEstimate: true }, {}],
        [{ durationSec: 10 }, { offsetSec: 1 }],
        [{ durationSec: 10 }, { strict: false }],
      ] as const) {
        const sut = await openAudioInput(mp3, { ffmpeg: new FakeCodec(probed(over), chunk()), ...options });
        expect((await collect(sut.stream())).length).toBe(44_100 * 2 * 5);
      }
    });

    it('tolerates codec padding (a few tens of ms) without calling it truncation', async () => {
      const codec = new FakeCodec(probed({ durationSec: 10.04 }), [new Float32Array(441_000 * 2)]);
      expect((await collect((await openAudioInput(mp3, { ffmpeg: codec })).stream())).length).toBe(882_000);
    });

    it('reports zero decoded frames as CORRUPT_AUDIO with decoder warnings, EMPTY_AUDIO without', async () => {
      const warned: string[] = [];
      const bad = new FakeCodec(probed(), [], ['[mp3float] Header missing']);
      const err = await errorOf(
        collect((await openAudioInput(mp3, { ffmpeg: bad, onWarning: (w) => warned.push(w) })).stream()),
      );
      expect(err.code).toBe(ErrorCodes.CORRUPT_AUDIO);
      expect(warned).toEqual(['[mp3float] Header missing']);
      const empty = new FakeCodec(probed({ durationSec: null }), []);
      expect((await errorOf(collect((await openAudioInput(mp3, { ffmpeg: empty })).stream()))).code).toBe(
        ErrorCodes.EMPTY_AUDIO,
      );
    });

    it('enforces maxDurationSec on decoded length when the container under-reports it', async () => {
      const codec = new FakeCodec(probed({ durationSec: 1 }), [new Float32Array(44_100 * 2 * 3)]);
      const sut = await openAudioInput(mp3, { ffmpeg: codec, maxDurationSec: 2 });
      expect((await errorOf(collect(sut.stream()))).code).toBe(ErrorCodes.DURATION_LIMIT);
    });

    it('rejects an unusable probed sample rate as UNSUPPORTED_AUDIO', async () => {
      const codec = new FakeCodec(probed({ sampleRate: 500 }), []);
      expect((await errorOf(openAudioInput(mp3, { ffmpeg: codec }))).code).toBe(ErrorCodes.UNSUPPORTED_AUDIO);
    });
  });
});
