/**
 * Analysis, tags and 192 kHz / 32-bit on real files through the real (located) ffmpeg: tags written
 * by our encoders read back by our probe, cover-art detection, hi-res WAV that ffmpeg decodes to
 * the same samples, and the analyzers on generated files decoded from FLAC and MP3 (silent gaps
 * within 20 ms, tempo within 1 %, key). Skipped with a message when no ffmpeg can be found.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { analyzeStream } from '../../src/core/analysis/audio-analyzer';
import { chordProgression, drumTrack, musicLike, withGap, type Signal } from '../support/analysis-signals';
import { openAudioInput } from '../../src/core/audio/audio-input';
import { createAudioOutput } from '../../src/core/audio/audio-output';
import { stemTags, type AudioTags } from '../../src/core/audio/audio-tags';
import type { OutputCodec } from '../../src/core/audio/audio-codec';
import { Ffmpeg } from '../../src/infra/ffmpeg';
import { collect, firstMismatch, makeTempDir, noise, runFfmpeg } from '../factories/audio';

jest.setTimeout(300_000);

const INPUT_TAGS: AudioTags = {
  title: 'Sång ett',
  artist: 'The Artist',
  album: 'An Album',
  date: '2021-05-04',
  genre: 'Rock',
  track: '3/12',
  isrc: 'GBAYE0601498',
};

describe('analysis, tags and hi-res audio on files (integration)', () => {
  let ffmpeg: Ffmpeg | null;
  let dir: string;

  beforeAll(async () => {
    ffmpeg = await Ffmpeg.locate();
    if (!ffmpeg) console.warn('Skipping file analysis/tag checks: no working ffmpeg was found');
    dir = await makeTempDir('analysis-files-');
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function write(sig: Signal, name: string, codec: OutputCodec, extra: object = {}): Promise<string> {
    const file = path.join(dir, name);
    const sink = await createAudioOutput(file, {
      codec,
      ffmpeg,
      channels: sig.channels,
      inputSampleRate: sig.sampleRate,
      bitDepth: 24,
      ...extra,
    });
    await sink.write(sig.data);
    await sink.close();
    return file;
  }

  it.each(['mp3', 'flac', 'ogg', 'wav'] as const)(
    'writes the stem tags into %s and reads them back',
    async (codec) => {
      if (!ffmpeg) return;
      const sig = musicLike(44100, 2, [[1, -6]]);
      const file = await write(sig, `tagged.${codec}`, codec, { tags: stemTags(INPUT_TAGS, 'vocals') });
      const input = await openAudioInput(file, { ffmpeg });
      // RIFF INFO has no ISRC field: WAV keeps everything else.
      const { isrc: _isrc, ...withoutIsrc } = INPUT_TAGS;
      expect(input.info.tags).toEqual({
        ...(codec === 'wav' ? withoutIsrc : INPUT_TAGS),
        title: 'Sång ett (vocals)',
      });
      expect(input.info.hasCoverArt).toBe(false);
      if (codec === 'wav') {
        // ffmpeg itself finds our INFO chunk.
        expect((await ffmpeg.probe(file)).tags).toMatchObject({
          title: 'Sång ett (vocals)',
          artist: 'The Artist',
        });
      }
    },
  );

  it('sees embedded cover art', async () => {
    if (!ffmpeg) return;
    const audio = await write(musicLike(44100, 2, [[1, -6]]), 'plain.mp3', 'mp3');
    const cover = path.join(dir, 'cover.png');
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=32x32:d=1', '-frames:v', '1', '-y', cover]);
    const withCover = path.join(dir, 'cover.mp3');
    await runFfmpeg([
      '-i',
      audio,
      '-i',
      cover,
      '-map',
      '0:a',
      '-map',
      '1:v',
      '-c',
      'copy',
      '-disposition:v',
      'attached_pic',
      '-y',
      withCover,
    ]);
    expect((await openAudioInput(withCover, { ffmpeg })).info.hasCoverArt).toBe(true);
    expect((await openAudioInput(audio, { ffmpeg })).info.hasCoverArt).toBe(false);
  });

  it.each(['int', 'float'] as const)(
    '192 kHz 32-bit %s WAV we write: ffmpeg probes and decodes the same samples',
    async (fmt) => {
      if (!ffmpeg) return;
      const data = noise({ sampleRate: 192000, channels: 2, frames: 96_000, seed: 2 }).data.map(
        (x) => Math.round(x * 2 ** 23) / 2 ** 23 + 0,
      );
      const file = await write({ sampleRate: 192000, channels: 2, data }, `hi-${fmt}.wav`, 'wav', {
        bitDepth: 32,
        wavSampleFormat: fmt,
      });
      const probe = await ffmpeg.probe(file);
      expect(probe).toMatchObject({
        sampleRate: 192000,
        channels: 2,
        codec: fmt === 'int' ? 'pcm_s32le' : 'pcm_f32le',
        bitDepth: 32,
      });
      expect(firstMismatch(await collect(ffmpeg.decode(file)), data)).toBe(-1);
    },
  );

  it('192 kHz 24-bit FLAC through the ffmpeg encoder keeps its rate and depth', async () => {
    if (!ffmpeg) return;
    const file = await write(musicLike(192000, 2, [[1, -6]]), 'hi.flac', 'flac', { sampleRate: 192000 });
    expect(await ffmpeg.probe(file)).toMatchObject({ codec: 'flac', sampleRate: 192000, bitDepth: 24 });
  });

  it.each(['flac', 'mp3'] as const)('finds the silent gaps of a %s file within 20 ms', async (codec) => {
    if (!ffmpeg) return;
    let sig = musicLike(44100, 2, [[12, 0]], 5);
    const gaps: Array<[number, number]> = [
      [2, 3.5],
      [6, 6.75],
      [10, 12],
    ];
    for (const [a, b] of gaps) sig = withGap(sig, a, b);
    const file = await write(sig, `gaps.${codec}`, codec);
    const input = await openAudioInput(file, { ffmpeg });
    const r = await analyzeStream(input.stream(), {
      sampleRate: 44100,
      channels: 2,
      tempo: false,
      key: false,
    });
    expect(r.silence!.ranges).toHaveLength(gaps.length);
    r.silence!.ranges.forEach((range, i) => {
      expect(Math.abs(range.startSec - gaps[i][0])).toBeLessThanOrEqual(0.02);
      expect(Math.abs(range.endSec - gaps[i][1])).toBeLessThanOrEqual(0.02);
    });
  });

  it('estimates tempo and key of a drums-and-chords MP3 at 48 kHz', async () => {
    if (!ffmpeg) return;
    const chords = chordProgression(7, 'minor', { sampleRate: 48000, repeats: 3 });
    const drums = drumTrack(104, chords.data.length / 2 / 48000, 'rock', 48000);
    for (let i = 0; i < chords.data.length; i++) chords.data[i] += drums.data[i];
    const file = await write(chords, 'song.mp3', 'mp3', { sampleRate: 48000 });
    const input = await openAudioInput(file, { ffmpeg, targetSampleRate: 48000 });
    const r = await analyzeStream(input.stream(), { sampleRate: 48000, channels: 2 });
    expect(Math.abs(r.tempo!.bpm! / 104 - 1)).toBeLessThan(0.01);
    expect(r.key!.key).toBe('G minor');
    expect(r.loudness!.integratedLufs).not.toBeNull();
  });
});
