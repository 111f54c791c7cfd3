/**
 * Content sniffing: which container/stream format a file holds, decided from its first bytes only.
 *
 * The file name and any Content-Type are never consulted: uploads lie (an MP3 named `.wav`, a text
 * file named `.mp3`). Only formats on this whitelist are ever handed to a decoder, and the decoder is
 * told the demuxer explicitly, so ffmpeg never auto-probes text playlists (HLS/concat/ffconcat),
 * which could otherwise make it read other local files.
 */

export type AudioFormatId =
  | 'wav'
  | 'rf64'
  | 'rifx'
  | 'w64'
  | 'aiff'
  | 'flac'
  | 'ogg'
  | 'mp3'
  | 'aac'
  | 'mp4'
  | 'asf'
  | 'caf'
  | 'matroska'
  | 'amr'
  | 'ac3'
  | 'eac3'
  | 'dts'
  | 'ape'
  | 'wavpack'
  | 'tta'
  | 'mpc'
  | 'mpc8'
  | 'au'
  | 'voc'
  | 'avi'
  | 'flv'
  | 'mpeg-ps'
  | 'mpeg-ts';

export interface AudioFormatDescriptor {
  id: AudioFormatId;
  /** ffmpeg demuxer name passed with `-f` (never let ffmpeg guess). */
  demuxer: string;
  /** Decoded by the built-in WAV reader (when the codec inside is plain PCM/float). */
  native: boolean;
  description: string;
}

const DESCRIPTORS: Record<AudioFormatId, Omit<AudioFormatDescriptor, 'id'>> = {
  wav: { demuxer: 'wav', native: true, description: 'RIFF WAVE' },
  rf64: { demuxer: 'wav', native: true, description: 'RF64/BW64 WAVE' },
  rifx: { demuxer: 'wav', native: false, description: 'RIFX (big-endian) WAVE' },
  w64: { demuxer: 'w64', native: false, description: 'Sony Wave64' },
  aiff: { demuxer: 'aiff', native: false, description: 'AIFF/AIFF-C' },
  flac: { demuxer: 'flac', native: false, description: 'FLAC' },
  ogg: { demuxer: 'ogg', native: false, description: 'Ogg (Vorbis/Opus/FLAC/Speex)' },
  mp3: { demuxer: 'mp3', native: false, description: 'MPEG audio (MP3/MP2)' },
  aac: { demuxer: 'aac', native: false, description: 'ADTS AAC' },
  mp4: { demuxer: 'mov', native: false, description: 'ISO-BMFF / QuickTime (M4A/MP4/MOV/3GP)' },
  asf: { demuxer: 'asf', native: false, description: 'ASF (WMA/WMV)' },
  caf: { demuxer: 'caf', native: false, description: 'Apple CAF' },
  matroska: { demuxer: 'matroska', native: false, description: 'Matroska/WebM' },
  amr: { demuxer: 'amr', native: false, description: 'AMR' },
  ac3: { demuxer: 'ac3', native: false, description: 'AC-3' },
  eac3: { demuxer: 'eac3', native: false, description: 'E-AC-3' },
  dts: { demuxer: 'dts', native: false, description: 'DTS' },
  ape: { demuxer: 'ape', native: false, description: "Monkey's Audio" },
  wavpack: { demuxer: 'wv', native: false, description: 'WavPack' },
  tta: { demuxer: 'tta', native: false, description: 'True Audio' },
  mpc: { demuxer: 'mpc', native: false, description: 'Musepack SV7' },
  mpc8: { demuxer: 'mpc8', native: false, description: 'Musepack SV8' },
  au: { demuxer: 'au', native: false, description: 'Sun AU' },
  voc: { demuxer: 'voc', native: false, description: 'Creative Voice' },
  avi: { demuxer: 'avi', native: false, description: 'AVI' },
  flv: { demuxer: 'flv', native: false, description: 'FLV' },
  'mpeg-ps': { demuxer: 'mpeg', native: false, description: 'MPEG program stream' },
  'mpeg-ts': { demuxer: 'mpegts', native: false, description: 'MPEG transport stream' },
};

export function describeAudioFormat(id: AudioFormatId): AudioFormatDescriptor {
  return { id, ...DESCRIPTORS[id] };
}

/** How many leading bytes `sniffAudioFormat` wants to see for a confident answer. */
export const SNIFF_BYTES = 8192;

/** Reads `length` bytes at `position` (fewer at end of file). */
export type ReadAt = (position: number, length: number) => Promise<Uint8Array>;

/**
 * Sniffs a whole file through a positioned reader: ID3v2 tags (which can hold megabytes of cover
 * art and may prefix MP3, AAC or FLAC) are skipped by their declared size before sniffing.
 */
export async function sniffAudioSource(readAt: ReadAt): Promise<AudioFormatId | null> {
  let position = 0;
  for (let tags = 0; tags < 8; tags++) {
    const head = await readAt(position, SNIFF_BYTES);
    const tagSize = id3v2TagSize(head);
    if (tagSize === null) return position > 0 ? afterId3(head) : sniffAudioFormat(head);
    position += tagSize;
  }
  return 'mp3';
}

/**
 * Format of a file from its leading bytes, or null when it is not a recognised audio/media file
 * (text, empty, random bytes, images, archives...). Handles an ID3v2 tag that fits in `head`.
 */
export function sniffAudioFormat(head: Uint8Array): AudioFormatId | null {
  if (head.length < 4) return null;
  const tagSize = id3v2TagSize(head);
  if (tagSize !== null) {
    // Tag larger than what we were given: an ID3v2 tag is by far most often followed by MP3.
    if (tagSize + 4 > head.length) return 'mp3';
    return afterId3(head.subarray(tagSize));
  }

  const id4 = ascii(head, 0, 4);
  const id8 = head.length >= 12 ? ascii(head, 8, 4) : '';
  if (id4 === 'RIFF' && id8 === 'WAVE') return 'wav';
  if ((id4 === 'RF64' || id4 === 'BW64') && id8 === 'WAVE') return 'rf64';
  if (id4 === 'RIFX' && id8 === 'WAVE') return 'rifx';
  if (id4 === 'RIFF' && id8 === 'AVI ') return 'avi';
  if (id4 === 'riff' && startsWith(head, W64_GUID_RIFF)) return 'w64';
  if (id4 === 'FORM' && (id8 === 'AIFF' || id8 === 'AIFC')) return 'aiff';
  if (id4 === 'fLaC') return 'flac';
  if (id4 === 'OggS' && head.length >= 5 && head[4] === 0) return 'ogg';
  if (id4 === 'caff' && head.length >= 6 && head[4] === 0 && head[5] === 1) return 'caf';
  if (id4 === 'MAC ') return 'ape';
  if (id4 === 'wvpk') return 'wavpack';
  if (id4 === 'TTA1') return 'tta';
  if (id4 === 'MPCK') return 'mpc8';
  if (id4 === '.snd') return 'au';
  if (ascii(head, 0, 3) === 'MP+') return 'mpc';
  if (ascii(head, 0, 3) === 'FLV' && head[3] === 1) return 'flv';
  if (ascii(head, 0, 6) === '#!AMR\n' || ascii(head, 0, 9) === '#!AMR-WB\n') return 'amr';
  if (ascii(head, 0, 20) === 'Creative Voice File\x1a') return 'voc';
  if (startsWith(head, ASF_GUID)) return 'asf';
  if (startsWith(head, EBML_MAGIC)) return 'matroska';
  if (isIsoBmff(head)) return 'mp4';
  if (head[0] === 0x7f && head[1] === 0xfe && head[2] === 0x80 && head[3] === 0x01) return 'dts';
  if (head[0] === 0x00 && head[1] === 0x00 && head[2] === 0x01 && head[3] === 0xba) return 'mpeg-ps';
  if (isMpegTs(head)) return 'mpeg-ts';
  const ac3 = sniffAc3(head);
  if (ac3) return ac3;
  if (isAdts(head, 0)) return 'aac';
  if (isMpegAudio(head, skipZeros(head))) return 'mp3';
  return null;
}

/**
 * What follows an ID3v2 tag. Anything unrecognised there is still treated as MP3: taggers leave
 * junk before the first frame and the MP3 demuxer resyncs, and a real failure then surfaces as
 * CORRUPT_AUDIO from the decoder, which is the truthful answer for a tagged file.
 */
function afterId3(rest: Uint8Array): AudioFormatId {
  return sniffAudioFormat(rest) ?? 'mp3';
}

/** Total size (header + body + footer) of an ID3v2 tag at the start of `head`, or null. */
export function id3v2TagSize(head: Uint8Array): number | null {
  if (head.length < 10 || head[0] !== 0x49 || head[1] !== 0x44 || head[2] !== 0x33) return null;
  // Major version 2..4, revision < 0xFF, undefined flag bits clear: text that happens to start
  // with "ID3" fails here.
  if (head[3] < 2 || head[3] > 4 || head[4] === 0xff || head[5] & 0x0f) return null;
  if ((head[6] | head[7] | head[8] | head[9]) & 0x80) return null; // sizes are synchsafe
  const body = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9];
  const footer = head[5] & 0x10 ? 10 : 0;
  return 10 + body + footer;
}

const W64_GUID_RIFF = [
  0x72, 0x69, 0x66, 0x66, 0x2e, 0x91, 0xcf, 0x11, 0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00,
];
const ASF_GUID = [
  0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c,
];
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];
const ISO_LEADING_BOXES = new Set(['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip']);

function isIsoBmff(head: Uint8Array): boolean {
  if (head.length < 12) return false;
  const type = ascii(head, 4, 4);
  if (!ISO_LEADING_BOXES.has(type)) return false;
  const size = readU32BE(head, 0);
  if (type === 'ftyp') {
    // A brand is four printable characters; the box holds at least major brand + minor version.
    return size >= 16 && isPrintable(head, 8, 4);
  }
  // Old QuickTime files may start with other boxes; a size of 0 (to EOF) or 1 (64-bit) or ≥ 8.
  if (size !== 0 && size !== 1 && size < 8) return false;
  if (type === 'moov' || type === 'mdat') return true;
  // free/wide/skip must be followed by another known box to count.
  if (size < 8 || size === 1 || size + 8 > head.length) return false;
  return ISO_LEADING_BOXES.has(ascii(head, size + 4, 4));
}

function isMpegTs(head: Uint8Array): boolean {
  if (head.length < 188 * 3 + 1) return false;
  return head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47;
}

function sniffAc3(head: Uint8Array): 'ac3' | 'eac3' | null {
  if (head.length < 8 || head[0] !== 0x0b || head[1] !== 0x77) return null;
  const bsid = head[5] >> 3;
  if (bsid <= 10) {
    const fscod = head[4] >> 6;
    const frmsizecod = head[4] & 0x3f;
    if (fscod === 3 || frmsizecod > 37) return null;
    const words = AC3_FRAME_WORDS[frmsizecod >> 1][fscod] + (fscod === 1 ? frmsizecod & 1 : 0);
    return nextSyncOk(head, words * 2, (o) => head[o] === 0x0b && head[o + 1] === 0x77) ? 'ac3' : null;
  }
  if (bsid >= 11 && bsid <= 16) {
    const frmsiz = ((head[2] & 0x07) << 8) | head[3];
    return nextSyncOk(head, (frmsiz + 1) * 2, (o) => head[o] === 0x0b && head[o + 1] === 0x77)
      ? 'eac3'
      : null;
  }
  return null;
}

// AC-3 frame size in 16-bit words for frmsizecod/2 (rows) and fscod 48/44.1/32 kHz (columns).
const AC3_FRAME_WORDS: ReadonlyArray<readonly [number, number, number]> = [
  [64, 69, 96],
  [80, 87, 120],
  [96, 104, 144],
  [112, 121, 168],
  [128, 139, 192],
  [160, 174, 240],
  [192, 208, 288],
  [224, 243, 336],
  [256, 278, 384],
  [320, 348, 480],
  [384, 417, 576],
  [448, 487, 672],
  [512, 557, 768],
  [640, 696, 960],
  [768, 835, 1152],
  [896, 975, 1344],
  [1024, 1114, 1536],
  [1152, 1253, 1728],
  [1280, 1393, 1920],
];

/** A second frame must start where the first one ends (when that is inside `head`). */
function nextSyncOk(head: Uint8Array, offset: number, isSync: (o: number) => boolean): boolean {
  if (offset < 4) return false;
  if (offset + 2 > head.length) return true; // cannot check; the first header was already strict
  return isSync(offset);
}

/** ADTS AAC: a chain of up to 3 valid frame headers starting at `start`. */
function isAdts(head: Uint8Array, start: number): boolean {
  let offset = start;
  for (let frame = 0; frame < 3; frame++) {
    // Running off the end of `head` after one strict header is accepted (tiny files, large frames).
    if (offset + 7 > head.length) return frame > 0;
    if (head[offset] !== 0xff || (head[offset + 1] & 0xf6) !== 0xf0) return false;
    const profile = head[offset + 2] >> 6;
    const sfIndex = (head[offset + 2] >> 2) & 0x0f;
    if (sfIndex > 12 || profile === 3) return false;
    const length = ((head[offset + 3] & 0x03) << 11) | (head[offset + 4] << 3) | (head[offset + 5] >> 5);
    if (length < 7) return false;
    offset += length;
  }
  return true;
}

// Bitrates (kbit/s) by [version is MPEG-1][layer index 1..3 → III, II, I][bitrate index].
const MPEG1_BITRATES: Record<number, readonly number[]> = {
  1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320], // layer III
  2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384], // layer II
  3: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448], // layer I
};
const MPEG2_BITRATES: Record<number, readonly number[]> = {
  1: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  3: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
};
const MPEG_RATES: Record<number, readonly number[]> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
};

/** Length in bytes of the MPEG audio frame whose header is at `o`, or 0 when it is not one. */
export function mpegAudioFrameLength(head: Uint8Array, o: number): number {
  if (o + 4 > head.length || head[o] !== 0xff || (head[o + 1] & 0xe0) !== 0xe0) return 0;
  const version = (head[o + 1] >> 3) & 0x03; // 0: 2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
  const layer = (head[o + 1] >> 1) & 0x03; // 1: III, 2: II, 3: I, 0: reserved (ADTS uses 0)
  const bitrateIndex = head[o + 2] >> 4;
  const rateIndex = (head[o + 2] >> 2) & 0x03;
  if (version === 1 || layer === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return 0;
  if ((head[o + 3] & 0x03) === 2) return 0; // reserved emphasis
  const kbps = (version === 3 ? MPEG1_BITRATES : MPEG2_BITRATES)[layer][bitrateIndex];
  const rate = MPEG_RATES[version][rateIndex];
  const padding = (head[o + 2] >> 1) & 0x01;
  if (layer === 3) return Math.floor((12 * kbps * 1000) / rate + padding) * 4;
  const samplesPerFrame = layer === 1 && version !== 3 ? 576 : 1152;
  return Math.floor(((samplesPerFrame / 8) * kbps * 1000) / rate) + padding;
}

/**
 * MPEG audio frame sync at `start` followed by up to two more consistent frames (as far as `head`
 * reaches). Requiring a chain of valid headers is what keeps random bytes from matching.
 */
function isMpegAudio(head: Uint8Array, start: number): boolean {
  let offset = start;
  for (let frame = 0; frame < 3; frame++) {
    if (offset + 4 > head.length) return frame > 0;
    const length = mpegAudioFrameLength(head, offset);
    if (length === 0) return false;
    // Version, layer and sample rate cannot change between frames of one stream.
    if (
      frame > 0 &&
      ((head[offset + 1] ^ head[start + 1]) & 0x1e || (head[offset + 2] ^ head[start + 2]) & 0x0c)
    ) {
      return false;
    }
    offset += length;
  }
  return true;
}

function skipZeros(head: Uint8Array): number {
  let i = 0;
  const limit = Math.min(head.length, 4096);
  while (i < limit && head[i] === 0) i++;
  return i === limit ? 0 : i;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (offset + length > bytes.length) return '';
  let s = '';
  for (let i = 0; i < length; i++) s += String.fromCharCode(bytes[offset + i]);
  return s;
}

function isPrintable(bytes: Uint8Array, offset: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    const c = bytes[offset + i];
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  if (bytes.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

function readU32BE(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0
  );
}
