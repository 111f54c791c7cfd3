import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildWavHeader, parseWavHeader } from './wav';
import { buildWavInfoChunk, parseInfoList, readWavInfo, readWavTags } from './wav-info';
import { WavFileWriter, withFileReader } from './wav-file';

function readerOf(bytes: Uint8Array) {
  return async (pos: number, len: number) => bytes.subarray(pos, Math.min(bytes.length, pos + len));
}

/** A tiny WAV: header with `info` before the data, or `after` appended after it. */
function wav(info: Uint8Array | null, after?: Uint8Array): Uint8Array {
  const data = new Uint8Array(8); // 2 stereo 16-bit frames
  const header = buildWavHeader(
    { sampleFormat: 'int', bitsPerSample: 16, channels: 2, sampleRate: 44100 },
    data.length,
    { infoChunk: info },
  );
  const parts = [header, data, ...(after ? [after] : [])];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  // RIFF size covers everything after the first 8 bytes.
  new DataView(out.buffer).setUint32(4, out.length - 8, true);
  return out;
}

describe('WAV LIST/INFO tags', () => {
  const tags = {
    title: 'Sång (vocals)',
    artist: 'The Artist',
    album: 'Odd',
    date: '2021',
    track: '3',
    isrc: 'X',
  };

  it('builds an even-sized chunk that parses back (UTF-8), without fields INFO lacks', () => {
    const chunk = buildWavInfoChunk(tags)!;
    expect(chunk.length % 2).toBe(0);
    expect(String.fromCharCode(...chunk.subarray(0, 4))).toBe('LIST');
    expect(parseInfoList(chunk.subarray(8))).toEqual({
      INAM: 'Sång (vocals)',
      IART: 'The Artist',
      IPRD: 'Odd',
      ICRD: '2021',
      ITRK: '3',
    });
    expect(buildWavInfoChunk({ isrc: 'X' })).toBeNull();
  });

  it('reads tags before or after the data chunk; the audio data is unaffected', async () => {
    const chunk = buildWavInfoChunk(tags)!;
    for (const file of [wav(chunk), wav(null, chunk)]) {
      const info = await parseWavHeader(readerOf(file), file.length);
      expect(info.frames).toBe(2);
      expect(await readWavTags(readerOf(file), file.length)).toEqual({
        title: 'Sång (vocals)',
        artist: 'The Artist',
        album: 'Odd',
        date: '2021',
        track: '3',
      });
    }
    expect(await readWavInfo(readerOf(wav(null)), wav(null).length)).toEqual({});
  });

  it('reads Latin-1 text written by older taggers', () => {
    const body = Buffer.concat([
      Buffer.from('INFO'),
      Buffer.from('INAM'),
      Buffer.from([4, 0, 0, 0]),
      Buffer.from('Ol\xe9\0', 'latin1'),
    ]);
    expect(parseInfoList(body)).toEqual({ INAM: 'Olé' });
  });

  it('WavFileWriter writes the chunk in its header and ffmpeg-style readers find it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wav-info-'));
    try {
      const file = path.join(dir, 'x.wav');
      const w = await WavFileWriter.create(
        file,
        { sampleFormat: 'float', bitsPerSample: 32, channels: 2, sampleRate: 192000 },
        { infoChunk: buildWavInfoChunk(tags) },
      );
      await w.write(new Float32Array([0.5, -0.5, 0.25, -0.25]));
      await w.close();
      const size = (await fs.stat(file)).size;
      const got = await withFileReader(file, async (readAt) => ({
        info: await parseWavHeader(readAt, size),
        tags: await readWavTags(readAt, size),
      }));
      expect(got.info).toMatchObject({ frames: 2, sampleRate: 192000, sampleFormat: 'float' });
      expect(got.tags.title).toBe('Sång (vocals)');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
