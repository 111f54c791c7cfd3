/**
 * WAVE format maths: header parsing (RIFF, RF64/BW64), PCM ⇄ float conversion and header building.
 * Pure: bytes in, bytes out. File access lives in wav-file.ts.
 *
 * Policies (documented here because callers depend on them):
 * - Integer PCM maps to float by dividing by 2^(bits-1) (8-bit is unsigned, offset 128); float to
 *   integer multiplies by 2^(bits-1), rounds half to even and clips to the integer range. The two are
 *   exact inverses for every integer value, so int → float → int round trips are bit-exact.
 * - A data size of 0 or 0xFFFFFFFF (what streaming writers leave when they never seek back) means
 *   "data runs to the end of the file".
 * - A finished header that claims more data than the file holds is truncation: CORRUPT_AUDIO. We do
 *   not silently process part of a file and hand back stems that are shorter than the upload.
 *   A trailing partial frame (fewer bytes than one block) is ignored.
 * - Codecs other than integer PCM / IEEE float (ADPCM, A-law, MP3-in-WAV...) parse fine but are
 *   reported `nativeDecodable: false`, so the caller can hand the file to ffmpeg.
 */
import { AudioProcessingError, ErrorCodes } from '../errors';
import type { ReadAt } from './sniff';

export type SampleFormat = 'int' | 'float';

export interface PcmFormat {
  sampleFormat: SampleFormat;
  /** Container bits per sample: 8, 16, 24, 32 (int) or 32, 64 (float). */
  bitsPerSample: number;
  channels: number;
  sampleRate: number;
}

export interface WavInfo extends PcmFormat {
  container: 'RIFF' | 'RF64' | 'BW64';
  /** wFormatTag; for WAVE_FORMAT_EXTENSIBLE the tag from the SubFormat GUID. */
  formatTag: number;
  extensible: boolean;
  /** Meaningful bits (≤ bitsPerSample; extensible files may say 20 in a 24-bit container). */
  validBits: number;
  channelMask: number;
  blockAlign: number;
  bytesPerSample: number;
  dataOffset: number;
  dataBytes: number;
  frames: number;
  /** The header had no usable data size; data was taken to run to the end of the file. */
  streamingHeader: boolean;
  /** Integer PCM or IEEE float in a size we decode ourselves. */
  nativeDecodable: boolean;
}

export const WAVE_FORMAT_PCM = 0x0001;
export const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID (the first two are the format tag). */
const SUBFORMAT_GUID_TAIL = [
  0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

const MAX_CHUNKS = 100_000;
const MAX_CHANNELS = 256;

function corrupt(message: string, context: Record<string, unknown> = {}): AudioProcessingError {
  return new AudioProcessingError(ErrorCodes.CORRUPT_AUDIO, message, context);
}

/**
 * Parses the header of a WAVE file of `fileSize` bytes. Reads only chunk headers and the fmt/ds64
 * bodies, so a 4 GB file with a large LIST chunk costs a handful of small reads.
 */
export async function parseWavHeader(readAt: ReadAt, fileSize: number): Promise<WavInfo> {
  const head = await readAt(0, 12);
  if (head.length < 12) throw corrupt('WAV file is shorter than its RIFF header', { fileSize });
  const magic = ascii(head, 0, 4);
  if ((magic !== 'RIFF' && magic !== 'RF64' && magic !== 'BW64') || ascii(head, 8, 4) !== 'WAVE') {
    throw new AudioProcessingError(ErrorCodes.UNSUPPORTED_AUDIO, 'Not a RIFF/RF64 WAVE file', { magic });
  }
  const container = magic as WavInfo['container'];

  let ds64DataBytes: number | null = null;
  let ds64Frames: number | null = null;
  let fmt: Omit<WavInfo, 'container' | 'dataOffset' | 'dataBytes' | 'frames' | 'streamingHeader'> | null =
    null;
  let position = 12;

  for (let n = 0; n < MAX_CHUNKS; n++) {
    if (position + 8 > fileSize) break;
    const header = await readAt(position, 8);
    if (header.length < 8) break;
    const id = ascii(header, 0, 4);
    const size = readU32(header, 4);
    const body = position + 8;

    if (id === 'ds64') {
      if (container === 'RIFF') throw corrupt('ds64 chunk in a plain RIFF file');
      const bytes = await readAt(body, 28);
      if (bytes.length < 24) throw corrupt('ds64 chunk is truncated');
      ds64DataBytes = readU64(bytes, 8);
      ds64Frames = readU64(bytes, 16);
    } else if (id === 'fmt ') {
      if (size < 16) throw corrupt('fmt chunk is too short', { size });
      const bytes = await readAt(body, Math.min(size, 40));
      if (bytes.length < 16) throw corrupt('fmt chunk is truncated');
      fmt = parseFmt(bytes);
    } else if (id === 'data') {
      if (!fmt) throw corrupt('data chunk before fmt chunk');
      return finishInfo(container, fmt, body, size, ds64DataBytes, ds64Frames, fileSize);
    }
    if (body + size > fileSize) throw corrupt(`WAV chunk '${printable(id)}' runs past the end of the file`);
    position = await nextChunkPosition(readAt, body + size, fileSize);
  }
  throw corrupt(fmt ? 'WAV file has no data chunk' : 'WAV file has no fmt chunk');
}

/**
 * Chunks are padded to even sizes, but some writers forget the pad byte. Prefer the padded
 * position, fall back to the unpadded one when only that one starts with a plausible chunk id.
 */
async function nextChunkPosition(readAt: ReadAt, end: number, fileSize: number): Promise<number> {
  if ((end & 1) === 0) return end;
  const probe = await readAt(end, 5);
  if (probe.length < 5) return end + 1;
  const padded = isChunkId(probe, 1);
  return !padded && isChunkId(probe, 0) && end + 8 <= fileSize ? end : end + 1;
}

function isChunkId(bytes: Uint8Array, offset: number): boolean {
  for (let i = offset; i < offset + 4; i++) if (bytes[i] < 0x20 || bytes[i] > 0x7e) return false;
  return true;
}

function parseFmt(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = view.getUint16(0, true);
  const channels = view.getUint16(2, true);
  const sampleRate = view.getUint32(4, true);
  const blockAlign = view.getUint16(12, true);
  const bitsPerSampleField = view.getUint16(14, true);
  if (channels < 1 || channels > MAX_CHANNELS) throw corrupt('WAV channel count is invalid', { channels });
  if (sampleRate < 1) throw corrupt('WAV sample rate is zero');
  if (blockAlign < 1) throw corrupt('WAV block alignment is zero');

  let formatTag = tag;
  let extensible = false;
  let validBits = bitsPerSampleField;
  let channelMask = 0;
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (bytes.length < 40) throw corrupt('WAVE_FORMAT_EXTENSIBLE fmt chunk is too short');
    extensible = true;
    validBits = view.getUint16(18, true) || bitsPerSampleField;
    channelMask = view.getUint32(20, true);
    formatTag = view.getUint16(24, true);
    const guidTailOk = SUBFORMAT_GUID_TAIL.every((b, i) => bytes[26 + i] === b);
    if (!guidTailOk) formatTag = -1; // a vendor GUID we know nothing about
  }

  // The container size is what blockAlign says; bitsPerSample may describe valid bits only.
  const bytesPerSample = blockAlign / channels;
  const containerOk = Number.isInteger(bytesPerSample) && bitsPerSampleField <= bytesPerSample * 8;
  const sampleFormat: SampleFormat = formatTag === WAVE_FORMAT_IEEE_FLOAT ? 'float' : 'int';
  const nativeDecodable =
    containerOk &&
    ((formatTag === WAVE_FORMAT_PCM && [1, 2, 3, 4].includes(bytesPerSample)) ||
      (formatTag === WAVE_FORMAT_IEEE_FLOAT && (bytesPerSample === 4 || bytesPerSample === 8)));
  return {
    formatTag,
    extensible,
    sampleFormat,
    bitsPerSample: containerOk ? bytesPerSample * 8 : bitsPerSampleField,
    validBits: Math.min(validBits, containerOk ? bytesPerSample * 8 : validBits),
    channelMask,
    channels,
    sampleRate,
    blockAlign,
    bytesPerSample: containerOk ? bytesPerSample : 0,
    nativeDecodable,
  };
}

function finishInfo(
  container: WavInfo['container'],
  fmt: NonNullable<ReturnType<typeof parseFmt>>,
  dataOffset: number,
  sizeField: number,
  ds64DataBytes: number | null,
  ds64Frames: number | null,
  fileSize: number,
): WavInfo {
  const available = Math.max(0, fileSize - dataOffset);
  let claimed: number | null = sizeField;
  if (container !== 'RIFF' && sizeField === 0xffffffff) {
    if (ds64DataBytes === null) throw corrupt('RF64 file has no ds64 chunk');
    claimed = ds64DataBytes;
  }
  // 0 and "all ones" are what writers leave in the header while still streaming.
  const streamingHeader = claimed === 0 || claimed === 0xffffffff || claimed === Number.MAX_SAFE_INTEGER;
  if (streamingHeader) claimed = null;
  if (claimed !== null && claimed > available) {
    throw corrupt('WAV file is truncated: the header declares more audio data than the file holds', {
      declaredBytes: claimed,
      availableBytes: available,
    });
  }
  const rawBytes = claimed ?? available;
  const frames = Math.floor(rawBytes / fmt.blockAlign);
  void ds64Frames; // informative only; sizes are authoritative
  return {
    container,
    ...fmt,
    dataOffset,
    dataBytes: frames * fmt.blockAlign,
    frames,
    streamingHeader,
  };
}

/**
 * Converts `frames` interleaved frames of WAV sample bytes to float. `src` must start on a frame.
 */
export function decodeSamples(
  src: Uint8Array,
  format: Pick<PcmFormat, 'sampleFormat' | 'bitsPerSample'>,
  out: Float32Array,
  sampleCount: number,
): void {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const bytes = format.bitsPerSample >> 3;
  if (format.sampleFormat === 'float') {
    if (bytes === 4) for (let i = 0; i < sampleCount; i++) out[i] = view.getFloat32(i * 4, true);
    else for (let i = 0; i < sampleCount; i++) out[i] = view.getFloat64(i * 8, true);
    return;
  }
  switch (bytes) {
    case 1:
      for (let i = 0; i < sampleCount; i++) out[i] = (src[i] - 128) / 128;
      return;
    case 2:
      for (let i = 0; i < sampleCount; i++) out[i] = view.getInt16(i * 2, true) / 32768;
      return;
    case 3:
      for (let i = 0, o = 0; i < sampleCount; i++, o += 3) {
        // Build the 24-bit value in the top of an int32 so the sign comes for free.
        out[i] = ((src[o] << 8) | (src[o + 1] << 16) | (src[o + 2] << 24)) / 2147483648;
      }
      return;
    case 4:
      for (let i = 0; i < sampleCount; i++) out[i] = view.getInt32(i * 4, true) / 2147483648;
      return;
    default:
      throw new AudioProcessingError(ErrorCodes.UNSUPPORTED_AUDIO, `Unsupported WAV sample size ${bytes}`);
  }
}

/**
 * Adding and subtracting 1.5·2^52 rounds a float64 of magnitude below 2^51 to an integer, half to
 * even (IEEE default rounding, like C's lrint): no bias on exact halves, no Math.round call.
 */
const ROUND_MAGIC = 6755399441055744;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Converts float samples to WAV bytes (rounding half to even and clipping for integer formats; NaN
 * becomes 0). Returns the number of bytes written.
 */
export function encodeSamples(
  src: Float32Array,
  format: Pick<PcmFormat, 'sampleFormat' | 'bitsPerSample'>,
  out: Uint8Array,
  sampleCount = src.length,
): number {
  const bytes = format.bitsPerSample >> 3;
  // Typed-array views write in platform order: usable for WAV's little-endian when aligned.
  const aligned = LITTLE_ENDIAN && out.byteOffset % bytes === 0;
  if (format.sampleFormat === 'float' && bytes === 4 && aligned) {
    new Float32Array(out.buffer, out.byteOffset, sampleCount).set(src.subarray(0, sampleCount));
    return sampleCount * 4;
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (format.sampleFormat === 'float') {
    if (bytes === 4) for (let i = 0; i < sampleCount; i++) view.setFloat32(i * 4, src[i], true);
    else for (let i = 0; i < sampleCount; i++) view.setFloat64(i * 8, src[i], true);
    return sampleCount * bytes;
  }
  const scale = 2 ** (format.bitsPerSample - 1);
  const max = scale - 1;
  const min = -scale;
  if (bytes === 2 && aligned) {
    const dst = new Int16Array(out.buffer, out.byteOffset, sampleCount);
    for (let i = 0; i < sampleCount; i++) {
      // Round half to even (see ROUND_MAGIC), clip; an Int16Array stores NaN as 0.
      let v = src[i] * 32768 + ROUND_MAGIC - ROUND_MAGIC;
      if (v > 32767) v = 32767;
      else if (v < -32768) v = -32768;
      dst[i] = v;
    }
    return sampleCount * 2;
  }
  for (let i = 0, o = 0; i < sampleCount; i++, o += bytes) {
    const x = src[i];
    let v = x === x ? x * scale + ROUND_MAGIC - ROUND_MAGIC : 0;
    if (v > max) v = max;
    else if (v < min) v = min;
    switch (bytes) {
      case 1:
        out[o] = v + 128;
        break;
      case 2:
        view.setInt16(o, v, true);
        break;
      case 3:
        out[o] = v & 0xff;
        out[o + 1] = (v >> 8) & 0xff;
        out[o + 2] = (v >> 16) & 0xff;
        break;
      case 4:
        view.setInt32(o, v, true);
        break;
      default:
        throw new AudioProcessingError(ErrorCodes.ENCODE_FAILED, `Unsupported WAV sample size ${bytes}`);
    }
  }
  return sampleCount * bytes;
}

export interface WavHeaderOptions {
  /** WAVE_FORMAT_EXTENSIBLE fmt chunk. Default: when channels > 2 (speaker mask needed). */
  extensible?: boolean;
  /** Reserve a 28-byte JUNK chunk that becomes ds64 if the file outgrows 4 GiB. Default true. */
  reserveRf64?: boolean;
  /** A complete LIST/INFO chunk (wav-info.ts: buildWavInfoChunk) placed before the data. */
  infoChunk?: Uint8Array | null;
}

const RF64_LIMIT = 0xffffffff;
const DS64_BODY = 28;

/** Speaker masks for the usual layouts (FL FR FC LFE BL BR ... per WAVEFORMATEXTENSIBLE). */
export function defaultChannelMask(channels: number): number {
  switch (channels) {
    case 1:
      return 0x4;
    case 2:
      return 0x3;
    case 4:
      return 0x33;
    case 6:
      return 0x3f;
    case 8:
      return 0x63f;
    default:
      return 0;
  }
}

export function validatePcmFormat(format: PcmFormat): void {
  const ok =
    format.sampleFormat === 'float'
      ? format.bitsPerSample === 32 || format.bitsPerSample === 64
      : [8, 16, 24, 32].includes(format.bitsPerSample);
  if (!ok) {
    throw new AudioProcessingError(
      ErrorCodes.ENCODE_FAILED,
      `Unsupported WAV sample format ${format.sampleFormat}${format.bitsPerSample}`,
    );
  }
  if (!Number.isInteger(format.channels) || format.channels < 1 || format.channels > MAX_CHANNELS) {
    throw new AudioProcessingError(ErrorCodes.ENCODE_FAILED, `Invalid channel count ${format.channels}`);
  }
  if (!Number.isInteger(format.sampleRate) || format.sampleRate < 1 || format.sampleRate > RF64_LIMIT) {
    throw new AudioProcessingError(ErrorCodes.ENCODE_FAILED, `Invalid sample rate ${format.sampleRate}`);
  }
}

/**
 * Builds the bytes before the sample data. Called twice by a streaming writer: once with zero sizes
 * when the file is opened and once at close with the real ones; both calls produce the same length,
 * so the final header overwrites the placeholder in place. `rf64Threshold` exists so tests can
 * exercise the RF64 switch without writing 4 GiB.
 */
export function buildWavHeader(
  format: PcmFormat,
  dataBytes: number,
  options: WavHeaderOptions = {},
  rf64Threshold = RF64_LIMIT,
): Uint8Array {
  validatePcmFormat(format);
  const extensible = options.extensible ?? format.channels > 2;
  const reserveRf64 = options.reserveRf64 ?? true;
  const bytesPerSample = format.bitsPerSample >> 3;
  const blockAlign = bytesPerSample * format.channels;
  const frames = Math.floor(dataBytes / blockAlign);
  const isFloat = format.sampleFormat === 'float';
  const fmtBody = extensible ? 40 : isFloat ? 18 : 16;
  const withFact = isFloat; // required by the spec for every non-PCM format tag
  const info = options.infoChunk ?? null;
  if (info && (info.length & 1 || info.length < 12))
    throw new AudioProcessingError(
      ErrorCodes.ENCODE_FAILED,
      'WAV INFO chunk must be a whole, even-sized chunk',
    );
  const headerBytes =
    12 + (reserveRf64 ? 8 + DS64_BODY : 0) + 8 + fmtBody + (withFact ? 12 : 0) + (info ? info.length : 0) + 8;
  const padded = dataBytes + (dataBytes & 1);
  const riffBytes = headerBytes - 8 + padded;
  const rf64 = riffBytes > rf64Threshold;
  if (rf64 && !reserveRf64) {
    throw new AudioProcessingError(
      ErrorCodes.ENCODE_FAILED,
      'WAV output exceeds 4 GiB and RF64 was disabled',
    );
  }

  const out = new Uint8Array(headerBytes);
  const view = new DataView(out.buffer);
  let o = 0;
  const id = (s: string) => {
    for (let i = 0; i < 4; i++) out[o + i] = s.charCodeAt(i);
    o += 4;
  };
  const u16 = (v: number) => {
    view.setUint16(o, v, true);
    o += 2;
  };
  const u32 = (v: number) => {
    view.setUint32(o, v, true);
    o += 4;
  };
  const u64 = (v: number) => {
    view.setBigUint64(o, BigInt(v), true);
    o += 8;
  };

  id(rf64 ? 'RF64' : 'RIFF');
  u32(rf64 ? RF64_LIMIT : riffBytes);
  id('WAVE');
  if (reserveRf64) {
    id(rf64 ? 'ds64' : 'JUNK');
    u32(DS64_BODY);
    if (rf64) {
      u64(riffBytes);
      u64(dataBytes);
      u64(frames);
      u32(0);
    } else {
      o += DS64_BODY;
    }
  }
  id('fmt ');
  u32(fmtBody);
  const tag = isFloat ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM;
  u16(extensible ? WAVE_FORMAT_EXTENSIBLE : tag);
  u16(format.channels);
  u32(format.sampleRate);
  u32(format.sampleRate * blockAlign);
  u16(blockAlign);
  u16(format.bitsPerSample);
  if (extensible) {
    u16(22);
    u16(format.bitsPerSample);
    u32(defaultChannelMask(format.channels));
    u16(tag);
    for (const b of SUBFORMAT_GUID_TAIL) out[o++] = b;
  } else if (isFloat) {
    u16(0);
  }
  if (withFact) {
    id('fact');
    u32(4);
    u32(rf64 ? RF64_LIMIT : frames);
  }
  if (info) {
    out.set(info, o);
    o += info.length;
  }
  id('data');
  u32(rf64 ? RF64_LIMIT : dataBytes);
  return out;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = 0; i < length && offset + i < bytes.length; i++) s += String.fromCharCode(bytes[offset + i]);
  return s;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0
  );
}

function readU64(bytes: Uint8Array, offset: number): number {
  const low = readU32(bytes, offset);
  const high = readU32(bytes, offset + 4);
  // Sizes beyond 2^53 cannot be real files; saturate (treated like "unknown").
  return high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 0x100000000 + low;
}
