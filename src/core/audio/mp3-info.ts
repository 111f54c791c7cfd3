/**
 * Format, rate, channels, duration and ID3v2 text tags of an MP3 file, read natively from its
 * headers: the first frame header, its Xing/Info or VBRI header (frame count), else the constant
 * bitrate estimate ffmpeg also uses. No process is started, which is what makes it worth having:
 * ffprobe costs ~0.1 s of CPU per file (mostly its start), so the upload path (many uploads while
 * separations use the CPUs) answers from this and leaves ffprobe to the job's own full probe.
 *
 * Deliberately narrow: anything unusual (ID3v2.2 or unsynchronised tags, no frame chain right after
 * the tags, free-format bitrate) returns null and the caller falls back to ffprobe. Tags are the
 * ID3v2.3/2.4 text frames under their frame ids (TIT2, TPE1…), which normalizeTags maps; comments
 * and cover art are left to the full probe.
 */
import { id3v2TagSize, mpegAudioFrameLength, type ReadAt } from './sniff';

export interface Mp3Info {
  sampleRate: number;
  channels: number;
  durationSec: number;
  /** True when the duration comes from the bitrate (no Xing/Info/VBRI frame count). */
  durationIsEstimate: boolean;
  /** Bits per second of the first frame (the nominal rate for VBR). */
  bitRate: number;
  /** ID3v2 text frames by frame id (TIT2, TPE1…). */
  tags: Record<string, string>;
}

const HEAD_BYTES = 16 * 1024;
/** Text frames are read from the first this many bytes of a tag (cover art usually follows them). */
const TAG_BYTES = 256 * 1024;
const MAX_TAGS = 8;
const MAX_TAG_VALUE = 4096;

const MPEG1_BITRATES: Record<number, readonly number[]> = {
  1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  3: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
};
const MPEG2_BITRATES: Record<number, readonly number[]> = {
  1: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  3: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
};
const MPEG_RATES: Record<number, readonly number[]> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};

/** Reads `size` bytes of MP3 through `readAt`; null when this reader cannot tell (use ffprobe). */
export async function readMp3Info(readAt: ReadAt, size: number): Promise<Mp3Info | null> {
  let position = 0;
  const tags: Record<string, string> = {};
  let head = await readAt(0, HEAD_BYTES);
  for (let n = 0; n < MAX_TAGS; n++) {
    const tagSize = id3v2TagSize(head);
    if (tagSize === null) break;
    if (head[3] < 3 || head[5] & 0x80) return null; // ID3v2.2 or unsynchronised: ffprobe's job
    if (n === 0) {
      const body = await readAt(position, Math.min(tagSize, TAG_BYTES));
      if (!readId3Text(body, tags)) return null;
    }
    position += tagSize;
    head = await readAt(position, HEAD_BYTES);
  }
  // The first frame right at the audio start, with the next one where its length says.
  const first = mpegAudioFrameLength(head, 0);
  if (first === 0) return null;
  // A file cut inside its first frame, or a lone frame, is left to ffprobe (which rejects the former).
  if (first + 4 > head.length || mpegAudioFrameLength(head, first) === 0) return null;

  const version = (head[1] >> 3) & 0x03;
  const layer = (head[1] >> 1) & 0x03;
  if (layer !== 1) return null; // MPEG layer I/II in an .mp3: rare, ffprobe names the codec
  const sampleRate = MPEG_RATES[version][(head[2] >> 2) & 0x03];
  const kbps = (version === 3 ? MPEG1_BITRATES : MPEG2_BITRATES)[layer][head[2] >> 4];
  const mono = head[3] >> 6 === 3;
  const channels = mono ? 1 : 2;
  const samplesPerFrame = version === 3 ? 1152 : 576; // layer III

  const frames = xingFrames(head, version, layer, mono) ?? vbriFrames(head);
  if (frames !== null && frames > 0) {
    return {
      sampleRate,
      channels,
      durationSec: micro((frames * samplesPerFrame) / sampleRate),
      durationIsEstimate: false,
      bitRate: kbps * 1000,
      tags,
    };
  }
  let audioBytes = size - position;
  if (size >= 128) {
    const tail = await readAt(size - 128, 3);
    if (tail[0] === 0x54 && tail[1] === 0x41 && tail[2] === 0x47) audioBytes -= 128; // ID3v1 "TAG"
  }
  if (audioBytes <= 0) return null;
  return {
    sampleRate,
    channels,
    durationSec: micro((audioBytes * 8) / (kbps * 1000)),
    durationIsEstimate: true,
    bitRate: kbps * 1000,
    tags,
  };
}

/** Frame count of a Xing/Info header in the first frame (layer III), or null. */
function xingFrames(head: Uint8Array, version: number, layer: number, mono: boolean): number | null {
  if (layer !== 1) return null;
  const sideInfo = version === 3 ? (mono ? 17 : 32) : mono ? 9 : 17;
  const o = 4 + sideInfo;
  const id = String.fromCharCode(...head.subarray(o, o + 4));
  if (id !== 'Xing' && id !== 'Info') return null;
  const flags = readU32(head, o + 4);
  return flags & 1 ? readU32(head, o + 8) : null;
}

/** Frame count of a VBRI (Fraunhofer) header, which sits 32 bytes after the frame header. */
function vbriFrames(head: Uint8Array): number | null {
  const o = 36;
  if (String.fromCharCode(...head.subarray(o, o + 4)) !== 'VBRI') return null;
  return readU32(head, o + 14);
}

/** Microsecond precision, as ffprobe prints durations. */
function micro(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

function readU32(b: Uint8Array, o: number): number {
  if (o + 4 > b.length) return 0;
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Collects the text frames (T***, not TXXX) of an ID3v2.3/2.4 tag. False when the tag uses what
 * this reader does not handle (an extended header): the caller then leaves the file to ffprobe.
 */
function readId3Text(tag: Uint8Array, out: Record<string, string>): boolean {
  const major = tag[3];
  if (tag[5] & 0x40) return false; // extended header
  let o = 10;
  while (o + 10 <= tag.length) {
    if (tag[o] === 0) break; // padding
    const id = String.fromCharCode(tag[o], tag[o + 1], tag[o + 2], tag[o + 3]);
    if (!/^[A-Z0-9]{4}$/.test(id)) break;
    const size =
      major === 4
        ? (tag[o + 4] << 21) | (tag[o + 5] << 14) | (tag[o + 6] << 7) | tag[o + 7]
        : readU32(tag, o + 4);
    const flags = tag[o + 9];
    const start = o + 10;
    const end = start + size;
    if (size <= 0 || end > tag.length) break;
    // Compressed, encrypted or unsynchronised frames (2.4 format flags) are skipped.
    const plain = major === 4 ? (flags & 0x0f) === 0 && (flags & 0x40) === 0 : (flags & 0xe0) === 0;
    if (id[0] === 'T' && id !== 'TXXX' && plain && !(id in out)) {
      const value = decodeText(tag.subarray(start, end));
      if (value) out[id] = value;
    }
    o = end;
  }
  return true;
}

function decodeText(frame: Uint8Array): string {
  if (frame.length < 2) return '';
  const encoding = frame[0];
  const body = frame.subarray(1);
  let text: string;
  if (encoding === 0) text = Buffer.from(body).toString('latin1');
  else if (encoding === 3) text = Buffer.from(body).toString('utf8');
  else if (encoding === 1 || encoding === 2) {
    let bytes = body;
    let bigEndian = encoding === 2;
    if (
      bytes.length >= 2 &&
      ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    ) {
      bigEndian = bytes[0] === 0xfe;
      bytes = bytes.subarray(2);
    }
    const even = Buffer.from(bytes.subarray(0, bytes.length & ~1));
    if (bigEndian) even.swap16();
    text = even.toString('utf16le');
  } else return '';
  // Values are NUL-terminated; ID3v2.4 separates several values with NUL: ffmpeg joins them with ';'.
  return text.split('\u0000').filter(Boolean).join(';').slice(0, MAX_TAG_VALUE);
}
