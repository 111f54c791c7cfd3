/**
 * The real 11 s clip from the shared fixtures (Spleeter's audio_example.mp3, stereo and mono).
 * Skipped, with a message, when ../shared is not there.
 */
import { existsSync, promises as fs } from 'fs';
import * as path from 'path';
import { createAudioOutput } from '../../src/core/audio/audio-output';
import { openAudioInput } from '../../src/core/audio/audio-input';
import { Ffmpeg } from '../../src/infra/ffmpeg';
import {
  channel,
  collect,
  FFMPEG_MISSING_FOR_TESTS,
  firstMismatch,
  makeTempDir,
  rms,
  snrDb,
} from '../factories/audio';

const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared');
const STEREO = path.join(SHARED, 'fixtures', 'audio', 'audio_example.mp3');
const MONO = path.join(SHARED, 'fixtures', 'audio', 'audio_example_mono.mp3');
const available = existsSync(STEREO) && existsSync(MONO);
if (!available) {
  console.warn(`Skipping real-clip audio tests: ${STEREO} not found (the shared fixtures live in ../shared)`);
}
const describeIfShared = available ? describe : describe.skip;

// ffmpeg's MP3 decoder drops the LAME encoder delay/padding: 479 832 frames, 10.88 s (the
// container's 10.92 s includes the padding).
const CLIP_FRAMES = 479_832;

// Several ffmpeg runs per test (the OS build is dynamically linked: slower to start than a static one).
jest.setTimeout(30_000);

describeIfShared('real clip audio_example.mp3 (integration)', () => {
  let ffmpeg: Ffmpeg;
  let stereo: Float32Array;

  beforeAll(async () => {
    const located = await Ffmpeg.locate();
    if (!located) throw new Error(FFMPEG_MISSING_FOR_TESTS);
    ffmpeg = located;
    stereo = await collect((await openAudioInput(STEREO, { ffmpeg })).stream());
  });

  it('is probed as 44.1 kHz stereo MP3 of about 11 s and decodes to 10.88 s of real music', async () => {
    const sut = await openAudioInput(STEREO, { ffmpeg });
    expect(sut.info).toMatchObject({
      format: 'mp3',
      codec: 'mp3',
      sampleRate: 44100,
      channels: 2,
      bitRate: 192000,
    });
    expect(sut.info.durationSec).toBeCloseTo(10.92, 2);
    expect(stereo.length / 2).toBe(CLIP_FRAMES);
    expect(rms(stereo)).toBeGreaterThan(0.1);
    // Not dual mono: the two channels differ.
    expect(snrDb(channel(stereo, 2, 0), channel(stereo, 2, 1))).toBeLessThan(20);
  });

  it('streams identically on a second pass', async () => {
    const sut = await openAudioInput(STEREO, { ffmpeg });
    expect(firstMismatch(await collect(sut.stream()), stereo)).toBe(-1);
  });

  it('offset 2 s + duration 3 s returns exactly those samples (after the decoder settles)', async () => {
    const part = await collect(
      (await openAudioInput(STEREO, { ffmpeg, offsetSec: 2, durationSec: 3 })).stream(),
    );
    expect(part.length / 2).toBe(132_300);
    const ref = stereo.subarray(2 * 88_200, 2 * (88_200 + 132_300));
    // The first ~0.1 s after a seek is decoded without the previous frames' overlap.
    expect(snrDb(ref.subarray(2 * 4410), part.subarray(2 * 4410))).toBeGreaterThan(100);
  });

  it('the mono version becomes two equal channels of the same music', async () => {
    const sut = await openAudioInput(MONO, { ffmpeg });
    expect(sut.info.channels).toBe(1);
    const out = await collect(sut.stream());
    expect(out.length / 2).toBe(CLIP_FRAMES);
    const left = channel(out, 2, 0);
    expect(firstMismatch(left, channel(out, 2, 1))).toBe(-1);
    const average = channel(stereo, 2, 0).map((l, i) => 0.5 * (l + stereo[2 * i + 1]));
    expect(snrDb(average, left)).toBeGreaterThan(12);
  });

  it('resamples to 48 kHz with the exact length', async () => {
    const out = await collect((await openAudioInput(STEREO, { ffmpeg, targetSampleRate: 48000 })).stream());
    expect(out.length / 2).toBe(Math.round((CLIP_FRAMES * 48000) / 44100));
  });

  it('survives an encode/decode round trip through FLAC and WAV at full length', async () => {
    const dir = await makeTempDir('real-clip-');
    try {
      for (const codec of ['flac', 'wav'] as const) {
        const target = path.join(dir, `clip.${codec}`);
        const sink = await createAudioOutput(target, { codec, bitDepth: 24, ffmpeg });
        for (let i = 0; i < stereo.length; i += 16384) await sink.write(stereo.subarray(i, i + 16384));
        await sink.close();
        const back = await collect((await openAudioInput(target, { ffmpeg })).stream());
        expect(back.length).toBe(stereo.length);
        // 24-bit storage of a signal that peaks above full scale: clipping is the only loss.
        expect(snrDb(stereo, back)).toBeGreaterThan(40);
      }
      expect((await fs.readdir(dir)).sort()).toEqual(['clip.flac', 'clip.wav']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
