/**
 * Tags and cover art carried from the input into every stem, through the library API with the
 * real ffmpeg and the builtin:center model: the title gets the stem name, the other tags stay,
 * MP3/FLAC stems carry the input's attached picture (copied, not re-encoded), Ogg and WAV none;
 * WAV stems hold a RIFF INFO chunk. Read back with ffprobe itself, not with our own probe.
 */
import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { readWavInfo } from '../../src/core/audio/wav-info';
import { Ffmpeg } from '../../src/infra/ffmpeg/ffmpeg';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import type { OutputCodec } from '../../src/engine/types';
import { makeTempDir, runFfmpeg, tone, writeWav } from '../factories/audio';

jest.setTimeout(180_000);

const TAGS = {
  title: 'Sång ett',
  artist: 'The Artist',
  album: 'An Album',
  date: '2021',
  genre: 'Rock',
  track: '3',
};
const MODEL = 'builtin:center';

interface ProbedFile {
  tags: Record<string, string>;
  streams: Array<{ codec_type: string; codec_name: string; disposition?: { attached_pic?: number } }>;
}

describe('stem tags and cover art (integration)', () => {
  let dir: string;
  let sut: SpleeterEngine;
  let ffprobe: string;
  /** Inputs: MP3 with a JPEG cover, FLAC with a PNG cover, WAV with INFO tags, untagged WAV. */
  const inputs: Record<'mp3' | 'flac' | 'wav' | 'bare', string> = { mp3: '', flac: '', wav: '', bare: '' };

  beforeAll(async () => {
    dir = await makeTempDir('stem-tags-');
    const ffmpeg = await Ffmpeg.locate();
    if (!ffmpeg?.binaries.ffprobePath) throw new Error('These checks need ffmpeg and ffprobe');
    ffprobe = ffmpeg.binaries.ffprobePath;
    sut = new SpleeterEngine({ modelsDir: path.join(dir, 'models'), intraOpThreads: 1 });
    await sut.initialize();

    const source = await writeWav(
      path.join(dir, 'source.wav'),
      tone({ seconds: 1.5, frequency: 440, amplitude: 0.3, channels: 2 }),
    );
    const metadata = Object.entries(TAGS).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]);
    const cover = ['-f', 'lavfi', '-i', 'color=c=red:s=32x32:d=1', '-frames:v', '1'];
    const withCover = (codec: string[], picture: string) => [
      '-i',
      source,
      ...cover,
      '-map',
      '0:a',
      '-map',
      '1:v',
      ...codec,
      '-c:v',
      picture,
      '-disposition:v',
      'attached_pic',
      ...metadata,
    ];
    inputs.mp3 = path.join(dir, 'tagged.mp3');
    await runFfmpeg([...withCover(['-c:a', 'libmp3lame', '-b:a', '128k'], 'mjpeg'), '-y', inputs.mp3]);
    inputs.flac = path.join(dir, 'tagged.flac');
    await runFfmpeg([...withCover(['-c:a', 'flac'], 'png'), '-y', inputs.flac]);
    inputs.wav = path.join(dir, 'tagged.wav');
    await runFfmpeg(['-i', source, ...metadata, '-c:a', 'pcm_s16le', '-y', inputs.wav]);
    inputs.bare = path.join(dir, 'My Tune.wav');
    await fs.copyFile(source, inputs.bare);
  });
  afterAll(async () => {
    await sut?.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function probe(file: string): Promise<ProbedFile> {
    const { stdout } = await promisify(execFile)(ffprobe, [
      '-v',
      'error',
      '-print_format',
      'json',
      '-show_format',
      '-show_streams',
      file,
    ]);
    const json = JSON.parse(stdout) as {
      format: { tags?: Record<string, string> };
      streams: Array<ProbedFile['streams'][number] & { tags?: Record<string, string> }>;
    };
    // Vorbis comments live on the stream, ID3/FLAC/INFO tags on the container; keys in lower case.
    const tags: Record<string, string> = {};
    for (const source of [json.format.tags ?? {}, ...json.streams.map((s) => s.tags ?? {})]) {
      for (const [k, v] of Object.entries(source)) tags[k.toLowerCase()] ??= v;
    }
    return { tags, streams: json.streams };
  }

  const covers = (p: ProbedFile) =>
    p.streams.filter((s) => s.codec_type === 'video' && s.disposition?.attached_pic === 1);

  async function separate(
    input: string,
    codec: OutputCodec,
    name: string,
    extra: { tags?: boolean; fallbackTitle?: string | null } = {},
  ) {
    return sut.separate({
      audioPath: input,
      modelName: MODEL,
      outputDir: path.join(dir, name),
      codec,
      ...extra,
    });
  }

  it.each(['wav', 'flac', 'mp3', 'ogg'] as const)(
    'MP3 input with a cover → %s stems: title with the stem name, other tags kept, cover where the format holds one',
    async (codec) => {
      const result = await separate(inputs.mp3, codec, `mp3-to-${codec}`);
      expect(result.input.tags).toMatchObject(TAGS);
      expect(Object.keys(result.outputs).sort()).toEqual(['center', 'sides']);
      for (const [stem, file] of Object.entries(result.outputs)) {
        const probed = await probe(file);
        expect(probed.tags).toMatchObject({
          title: `Sång ett (${stem})`,
          artist: 'The Artist',
          album: 'An Album',
          genre: 'Rock',
        });
        expect(probed.tags.date).toBe('2021');
        expect(probed.tags.track ?? probed.tags.tracknumber).toBe('3');
        const pictures = covers(probed);
        if (codec === 'mp3' || codec === 'flac') {
          // Copied as it is: still the input's JPEG.
          expect(pictures.map((s) => s.codec_name)).toEqual(['mjpeg']);
        } else {
          expect(probed.streams.filter((s) => s.codec_type === 'video')).toEqual([]);
        }
        expect(probed.streams.filter((s) => s.codec_type === 'audio')).toHaveLength(1);
        if (codec === 'wav') {
          const handle = await fs.open(file, 'r');
          try {
            const size = (await handle.stat()).size;
            const info = await readWavInfo(async (offset, length) => {
              const buf = Buffer.alloc(length);
              const { bytesRead } = await handle.read(buf, 0, length, offset);
              return new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
            }, size);
            expect(info).toMatchObject({
              INAM: `Sång ett (${stem})`,
              IART: 'The Artist',
              IPRD: 'An Album',
              ICRD: '2021',
              IGNR: 'Rock',
              ITRK: '3',
            });
          } finally {
            await handle.close();
          }
        }
      }
    },
  );

  it('FLAC input with a PNG cover → MP3 and FLAC stems carry the PNG', async () => {
    for (const codec of ['mp3', 'flac'] as const) {
      const result = await separate(inputs.flac, codec, `flac-to-${codec}`);
      const probed = await probe(result.outputs.center);
      expect(probed.tags).toMatchObject({ title: 'Sång ett (center)', artist: 'The Artist' });
      expect(covers(probed).map((s) => s.codec_name)).toEqual(['png']);
    }
  });

  it('WAV input with INFO tags (read natively) → FLAC stems carry them', async () => {
    const result = await separate(inputs.wav, 'flac', 'wav-to-flac');
    const probed = await probe(result.outputs.sides);
    expect(probed.tags).toMatchObject({ title: 'Sång ett (sides)', artist: 'The Artist', album: 'An Album' });
    expect(covers(probed)).toEqual([]);
  });

  it("untagged input: the file's name is the title's base, or the stem name alone with fallbackTitle null", async () => {
    const named = await separate(inputs.bare, 'mp3', 'bare-named');
    expect((await probe(named.outputs.center)).tags.title).toBe('My Tune (center)');
    const plain = await separate(inputs.bare, 'ogg', 'bare-plain', { fallbackTitle: null });
    expect((await probe(plain.outputs.sides)).tags.title).toBe('sides');
  });

  it('tags: false writes bare stems: no tags, no cover, no INFO chunk', async () => {
    const mp3 = await separate(inputs.mp3, 'mp3', 'untagged-mp3', { tags: false });
    const probed = await probe(mp3.outputs.center);
    expect(probed.tags.title).toBeUndefined();
    expect(probed.tags.artist).toBeUndefined();
    expect(probed.streams.map((s) => s.codec_type)).toEqual(['audio']);
    const wav = await separate(inputs.mp3, 'wav', 'untagged-wav', { tags: false });
    const bytes = await fs.readFile(wav.outputs.center);
    expect(bytes.includes(Buffer.from('LIST'))).toBe(false);
    expect(bytes.includes(Buffer.from('The Artist'))).toBe(false);
  });

  it('is deterministic: the same input gives byte-identical tagged stems', async () => {
    for (const codec of ['wav', 'flac', 'mp3'] as const) {
      const a = await separate(inputs.mp3, codec, `same-a-${codec}`);
      const b = await separate(inputs.mp3, codec, `same-b-${codec}`);
      for (const stem of ['center', 'sides']) {
        const [x, y] = await Promise.all([fs.readFile(a.outputs[stem]), fs.readFile(b.outputs[stem])]);
        expect(x.equals(y)).toBe(true);
      }
    }
  });

  it('refuses a tags option that is not a boolean', async () => {
    await expect(
      separate(inputs.bare, 'wav', 'bad-tags', { tags: 'yes' as unknown as boolean }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
