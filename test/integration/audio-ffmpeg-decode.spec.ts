/**
 * Decoding through the real ffmpeg (the OS package on PATH): every format the factory can make, content-over-name,
 * errors with their codes, abort and early stop killing the child process.
 *
 * Decoded lengths: FLAC/AIFF/Matroska-FLAC/Opus and LAME MP3 (gapless info in the Xing/LAME tag)
 * come back with exactly the encoded number of frames. Codecs without end-trimming information in
 * ffmpeg 4.1 come back longer by up to one codec block: Vorbis, AAC in MP4/ADTS, WMA, MS ADPCM
 * (≤ 2112 frames here). Start alignment is exact for all of them except raw ADTS and WMA.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { openAudioInput } from '../../src/core/audio/audio-input';
import { AudioProcessingError, ErrorCodes } from '../../src/core/errors';
import { Ffmpeg } from '../../src/infra/ffmpeg';
import {
  FFMPEG_MISSING_FOR_TESTS,
  channel,
  collect,
  copyAs,
  encodeWithFfmpeg,
  makeTempDir,
  noise,
  quantize,
  snrDb,
  tone,
  toneAmplitude,
  writeCorrupted,
  writeTextFile,
  writeTruncated,
  writeWav,
  runFfmpeg,
  type EncodedKind,
} from '../factories/audio';

async function errorOf(promise: Promise<unknown>): Promise<AudioProcessingError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AudioProcessingError);
  return err as AudioProcessingError;
}

/** PIDs of running ffmpeg processes whose command line mentions `needle`. */
async function ffmpegProcessesWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8');
      const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8');
      if (cmdline.includes('ffmpeg') && cmdline.includes(needle) && !/\) Z /.test(stat))
        pids.push(Number(entry));
    } catch {
      // process ended meanwhile
    }
  }
  return pids;
}

async function expectNoFfmpegFor(needle: string) {
  for (let i = 0; i < 50 && (await ffmpegProcessesWith(needle)).length > 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  expect(await ffmpegProcessesWith(needle)).toEqual([]);
}

// Each case starts several ffmpeg processes; the OS build is dynamically linked (~0.2 s CPU per
// start), which a loaded 2-core machine stretches past jest's 5 s default.
jest.setTimeout(30_000);

describe('audio input through ffmpeg (integration)', () => {
  let ffmpeg: Ffmpeg;
  let dir: string;
  // Left 1 kHz, right 2 kHz: lets every test see that channels stay in place.
  const signal = tone({ seconds: 2, channels: 2, frequency: 1000, channelSpread: 1 });
  const N = 88_200;

  beforeAll(async () => {
    const located = await Ffmpeg.locate();
    if (!located) throw new Error(FFMPEG_MISSING_FOR_TESTS);
    ffmpeg = located;
    dir = await makeTempDir('audio-decode-int-');
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  interface Expect {
    rate: number;
    /** Exactly N frames back (gapless); otherwise N..N+2112 (N-2047.. with `mayDropTail`). */
    exact: boolean;
    /** ffmpeg ≥ 5's WMA encoder drops the last partial 2048-sample block instead of padding it. */
    mayDropTail?: boolean;
    /** Starts on the first encoded sample. */
    aligned: boolean;
    /** Lossless: compare with the samples quantised as the encoder stored them. */
    stored?: 's16' | 's24';
  }
  // ffmpeg hands float input to its FLAC encoder as s32, i.e. 24-bit FLAC; AIFF here is s16be.
  const CASES: Array<[EncodedKind, string, string, Expect]> = [
    ['flac', 'flac', 'flac', { rate: 44100, exact: true, aligned: true, stored: 's24' }],
    ['aiff', 'aiff', 'pcm_s16be', { rate: 44100, exact: true, aligned: true, stored: 's16' }],
    ['mka', 'matroska', 'flac', { rate: 44100, exact: true, aligned: true, stored: 's24' }],
    ['mp3', 'mp3', 'mp3', { rate: 44100, exact: true, aligned: true }],
    ['opus', 'ogg', 'opus', { rate: 48000, exact: true, aligned: true }],
    ['ogg', 'ogg', 'vorbis', { rate: 44100, exact: false, aligned: true }],
    ['m4a', 'mp4', 'aac', { rate: 44100, exact: false, aligned: true }],
    ['mp4-video', 'mp4', 'aac', { rate: 44100, exact: false, aligned: true }],
    ['aac', 'aac', 'aac', { rate: 44100, exact: false, aligned: false }],
    ['wma', 'asf', 'wmav2', { rate: 44100, exact: false, aligned: false, mayDropTail: true }],
    ['wav-adpcm', 'wav', 'adpcm_ms', { rate: 44100, exact: false, aligned: true }],
  ];

  it.each(CASES)(
    'decodes %s (%s/%s) to 44.1 kHz stereo with channels in place',
    async (kind, format, codec, expectations) => {
      const file = await encodeWithFfmpeg(signal, path.join(dir, `in.${kind}`), kind);
      const sut = await openAudioInput(file, { ffmpeg });
      expect(sut.info).toMatchObject({
        format,
        codec,
        sampleRate: expectations.rate,
        channels: 2,
        decoder: 'external',
      });
      expect(sut.info.durationSec).toBeGreaterThan(1.9);
      const out = await collect(sut.stream());
      const frames = out.length / 2;
      if (expectations.exact) {
        expect(frames).toBe(N);
      } else {
        expect(frames - N).toBeGreaterThanOrEqual(expectations.mayDropTail ? -2047 : 0);
        expect(frames - N).toBeLessThanOrEqual(2112);
      }

      const [l, r] = [channel(out, 2, 0), channel(out, 2, 1)];
      // 441-sample windows hold whole periods of both tones.
      const [from, to] = [4410, 4410 + 441 * 150];
      expect(Math.abs(20 * Math.log10(toneAmplitude(l, 1000, 44100, from, to) / 0.5))).toBeLessThan(0.5);
      expect(Math.abs(20 * Math.log10(toneAmplitude(r, 2000, 44100, from, to) / 0.5))).toBeLessThan(0.5);
      expect(toneAmplitude(l, 2000, 44100, from, to)).toBeLessThan(0.001);
      // > 120 dB: ffmpeg truncates s32 to 24 bits where the reference rounds, worth ~1 LSB at 24 bits.
      if (expectations.stored)
        expect(snrDb(quantize(signal.data, expectations.stored), out)).toBeGreaterThan(120);
      else if (expectations.aligned) expect(snrDb(channel(signal.data, 2, 0), l, 4410)).toBeGreaterThan(20);
    },
  );

  it('decodes an MP3 named .wav: the content decides, not the name', async () => {
    const mp3 = await encodeWithFfmpeg(signal, path.join(dir, 'x.mp3'), 'mp3');
    const disguised = await copyAs(mp3, path.join(dir, 'disguised.wav'));
    const sut = await openAudioInput(disguised, { ffmpeg });
    expect(sut.info.format).toBe('mp3');
    expect((await collect(sut.stream())).length).toBe(2 * N);
  });

  it('resamples a 48 kHz mono FLAC to 44.1 kHz stereo with the exact length', async () => {
    const mono48 = tone({ seconds: 1, channels: 1, sampleRate: 48000, frequency: 1000 });
    const file = await encodeWithFfmpeg(mono48, path.join(dir, 'mono48.flac'), 'flac');
    const sut = await openAudioInput(file, { ffmpeg });
    expect(sut.info).toMatchObject({ sampleRate: 48000, channels: 1 });
    const out = await collect(sut.stream());
    expect(out.length).toBe(2 * 44_100);
    expect(
      snrDb(tone({ seconds: 1, channels: 1, frequency: 1000 }).data, channel(out, 2, 1), 2000),
    ).toBeGreaterThan(85);
  });

  it('takes the first two channels of a 6-channel FLAC', async () => {
    const six = tone({ seconds: 1, channels: 6, frequency: 500, channelSpread: 1 });
    const file = await encodeWithFfmpeg(six, path.join(dir, 'six.flac'), 'flac');
    const sut = await openAudioInput(file, { ffmpeg });
    expect(sut.info.channels).toBe(6);
    const out = await collect(sut.stream());
    expect(toneAmplitude(channel(out, 2, 0), 500, 44100, 882, 882 + 441 * 90)).toBeCloseTo(0.5, 3);
    expect(toneAmplitude(channel(out, 2, 1), 1000, 44100, 882, 882 + 441 * 90)).toBeCloseTo(0.5, 3);
  });

  it('selects offset/duration sample-accurately in compressed input', async () => {
    const src = noise({ seconds: 3, channels: 2, amplitude: 0.3, seed: 21 });
    const file = await encodeWithFfmpeg(src, path.join(dir, 'sel.flac'), 'flac');
    const out = await collect(
      (await openAudioInput(file, { ffmpeg, offsetSec: 1.25, durationSec: 0.5 })).stream(),
    );
    expect(out.length).toBe(2 * 22_050);
    const expected = quantize(src.data, 's24').subarray(2 * 55_125, 2 * (55_125 + 22_050));
    expect(snrDb(expected, out)).toBeGreaterThan(120);
  });

  it('the native WAV reader and ffmpeg agree on WAV files in every layout', async () => {
    for (const [name, options] of [
      ['s24-ext-6ch', { encoding: 's24', extensible: true }],
      ['u8', { encoding: 'u8' }],
      ['f64', { encoding: 'f64' }],
      ['rf64', { encoding: 'f32', rf64: true }],
    ] as const) {
      const src = noise({ frames: 10_001, channels: name.includes('6ch') ? 6 : 2, seed: 5 });
      const file = await writeWav(path.join(dir, `${name}.wav`), src, options);
      const native = await collect((await openAudioInput(file, { targetChannels: src.channels })).stream());
      const viaFfmpeg = await collect(
        ffmpeg.decode(file, {
          format: name === 'rf64' ? 'rf64' : 'wav',
          channels: src.channels,
          sampleRate: 44100,
        }),
      );
      expect(snrDb(viaFfmpeg, native)).toBeGreaterThan(name === 'u8' ? 200 : 140);
      expect(native.length).toBe(viaFfmpeg.length);
    }
  });

  describe('errors', () => {
    it('truncated FLAC, MP3 and M4A end in CORRUPT_AUDIO', async () => {
      for (const kind of ['flac', 'mp3', 'm4a'] as const) {
        const long = await encodeWithFfmpeg(
          tone({ seconds: 6, channels: 2 }),
          path.join(dir, `long.${kind}`),
          kind,
        );
        const cut = await writeTruncated(long, path.join(dir, `cut.${kind}`), 0.5);
        const err = await errorOf(openAudioInput(cut, { ffmpeg }).then((input) => collect(input.stream())));
        expect({ kind, code: err.code }).toEqual({ kind, code: ErrorCodes.CORRUPT_AUDIO });
        expect(
          typeof err.context.ffmpegMessage === 'string' || typeof err.context.declaredSec === 'number',
        ).toBe(true);
      }
    });

    it('a truncated Ogg decodes what exists (Ogg measures its duration from the last page)', async () => {
      const long = await encodeWithFfmpeg(
        tone({ seconds: 6, channels: 2 }),
        path.join(dir, 'long.ogg'),
        'ogg',
      );
      const cut = await writeTruncated(long, path.join(dir, 'cut.ogg'), 0.6);
      const out = await collect((await openAudioInput(cut, { ffmpeg })).stream());
      expect(out.length / 2).toBeGreaterThan(44_100);
      expect(out.length / 2).toBeLessThan(6 * 44_100);
    });

    it('an M4A whose body is garbage is CORRUPT_AUDIO with the ffmpeg message in the context', async () => {
      const good = await encodeWithFfmpeg(tone({ seconds: 3 }), path.join(dir, 'good.m4a'), 'm4a');
      const bad = await writeCorrupted(good, path.join(dir, 'bad.m4a'), { at: 0.02, length: 1_000_000 });
      const err = await errorOf(openAudioInput(bad, { ffmpeg }).then((input) => collect(input.stream())));
      expect(err.code).toBe(ErrorCodes.CORRUPT_AUDIO);
      expect(String(err.context.ffmpegMessage)).not.toBe('');
    });

    it('a text file named .wav is UNSUPPORTED_AUDIO before ffmpeg is ever run', async () => {
      const text = await writeTextFile(path.join(dir, 'text.wav'));
      const spy = jest.spyOn(ffmpeg, 'probe');
      expect((await errorOf(openAudioInput(text, { ffmpeg }))).code).toBe(ErrorCodes.UNSUPPORTED_AUDIO);
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    });

    it('a video without an audio track is UNSUPPORTED_AUDIO', async () => {
      const file = path.join(dir, 'silent-video.mp4');
      await runFfmpeg([
        '-f',
        'lavfi',
        '-i',
        'color=c=black:s=64x64:r=10:d=1',
        '-c:v',
        'mpeg4',
        '-f',
        'mp4',
        '-y',
        file,
      ]);
      const err = await errorOf(openAudioInput(file, { ffmpeg }));
      expect(err.code).toBe(ErrorCodes.UNSUPPORTED_AUDIO);
    });
  });

  describe('process lifetime', () => {
    it('kills ffmpeg when the consumer stops early', async () => {
      const file = await encodeWithFfmpeg(
        tone({ seconds: 10, channels: 2 }),
        path.join(dir, 'early-stop.flac'),
        'flac',
      );
      const sut = await openAudioInput(file, { ffmpeg });
      for await (const chunk of sut.stream()) {
        expect(chunk.length).toBeGreaterThan(0);
        break;
      }
      await expectNoFfmpegFor('early-stop.flac');
    });

    it('kills ffmpeg and rejects with the reason on abort', async () => {
      const file = await encodeWithFfmpeg(
        tone({ seconds: 10, channels: 2 }),
        path.join(dir, 'aborted.flac'),
        'flac',
      );
      const controller = new AbortController();
      const sut = await openAudioInput(file, { ffmpeg, signal: controller.signal });
      const reason = new Error('job canceled');
      let chunks = 0;
      const run = (async () => {
        for await (const _ of sut.stream()) {
          if (++chunks === 2) controller.abort(reason);
        }
      })();
      await expect(run).rejects.toBe(reason);
      await expectNoFfmpegFor('aborted.flac');
    });
  });
});
