import { readMp3Info } from './mp3-info';
import type { ReadAt } from './sniff';

/** MPEG-1 layer III, 128 kbps, 44.1 kHz, stereo, no padding: 417-byte frames. */
const HEADER = [0xff, 0xfb, 0x90, 0x00];
const FRAME = 417;

function frames(n: number, first?: (frame: Uint8Array) => void): Uint8Array {
  const out = new Uint8Array(n * FRAME);
  for (let i = 0; i < n; i++) out.set(HEADER, i * FRAME);
  first?.(out.subarray(0, FRAME));
  return out;
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** An ID3v2.3 tag holding the given frames. */
function id3v23(frameList: Array<[string, number[]]>): Uint8Array {
  const body: number[] = [];
  for (const [id, data] of frameList)
    body.push(...Buffer.from(id, 'latin1'), ...u32(data.length), 0, 0, ...data);
  const n = body.length;
  const size = [(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f];
  return Uint8Array.from([0x49, 0x44, 0x33, 3, 0, 0, ...size, ...body]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

function reader(bytes: Uint8Array): ReadAt {
  return (position, length) =>
    Promise.resolve(bytes.subarray(position, Math.min(bytes.length, position + length)));
}

describe(readMp3Info.name, () => {
  it('estimates a constant-bitrate file from its size (as ffmpeg does), leaving out an ID3v1 trailer', async () => {
    const trailer = new Uint8Array(128);
    trailer.set([0x54, 0x41, 0x47]); // "TAG"
    const file = concat(frames(100), trailer);
    const sut = await readMp3Info(reader(file), file.length);
    expect(sut).toEqual({
      sampleRate: 44100,
      channels: 2,
      durationSec: Math.round(((100 * FRAME * 8) / 128000) * 1e6) / 1e6,
      durationIsEstimate: true,
      bitRate: 128000,
      tags: {},
    });
  });

  it('takes the frame count of a Xing header: frames × 1152 / rate', async () => {
    const file = frames(50, (f) => f.set([...Buffer.from('Xing'), ...u32(1), ...u32(1000)], 4 + 32));
    const sut = await readMp3Info(reader(file), file.length);
    expect(sut).toMatchObject({ durationSec: 26.122449, durationIsEstimate: false, channels: 2 });
  });

  it('reads ID3v2.3 text frames (latin1 and UTF-16 with BOM) and skips the tag to find the audio', async () => {
    const utf16 = [0xff, 0xfe, ...Buffer.from('Ärtist', 'utf16le'), 0, 0];
    const tag = id3v23([
      ['TIT2', [0, ...Buffer.from('Song', 'latin1'), 0]],
      ['TPE1', [1, ...utf16]],
      ['COMM', [0, 1, 2, 3]],
    ]);
    const file = concat(tag, frames(20));
    const sut = await readMp3Info(reader(file), file.length);
    expect(sut?.tags).toEqual({ TIT2: 'Song', TPE1: 'Ärtist' });
    expect(sut?.sampleRate).toBe(44100);
  });

  it('returns null (leave it to ffprobe) for what it does not handle', async () => {
    const noise = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff);
    await expect(readMp3Info(reader(noise), noise.length)).resolves.toBeNull();
    const v22 = concat(Uint8Array.from([0x49, 0x44, 0x33, 2, 0, 0, 0, 0, 0, 0]), frames(5));
    await expect(readMp3Info(reader(v22), v22.length)).resolves.toBeNull();
    // A header whose next frame is not where its length says: not a frame chain.
    const broken = frames(5);
    broken.fill(0, FRAME, FRAME + 4);
    await expect(readMp3Info(reader(broken), broken.length)).resolves.toBeNull();
  });
});
