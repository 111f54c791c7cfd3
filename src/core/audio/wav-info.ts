/**
 * RIFF LIST/INFO tags of WAV files: reading them (before or after the data chunk, as taggers put
 * them either way) and building the chunk for the writer (placed before the data, where every
 * reader looks). Text is written as UTF-8, as ffmpeg does; read as UTF-8 when valid, else Latin-1
 * (the RIFF specification's own character set).
 */
import type { AudioTags, AudioTagName } from './audio-tags';
import { cleanTagValue, normalizeTags } from './audio-tags';
import type { ReadAt } from './sniff';
import { parseWavHeader } from './wav';

/** INFO chunk ids written for each tag (what ffmpeg and common taggers read back). */
export const RIFF_INFO_IDS: Readonly<Partial<Record<AudioTagName, string>>> = {
  title: 'INAM',
  artist: 'IART',
  album: 'IPRD',
  date: 'ICRD',
  genre: 'IGNR',
  track: 'ITRK',
  comment: 'ICMT',
  copyright: 'ICOP',
};

const MAX_LIST_BYTES = 1 << 20;
const MAX_CHUNKS = 10_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function decodeText(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const body = bytes.subarray(0, end);
  try {
    return utf8.decode(body);
  } catch {
    return latin1.decode(body);
  }
}

/** The INFO entries of a LIST chunk body ("INFO" + sub-chunks), id → text; {} for other lists. */
export function parseInfoList(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  if (body.length < 4 || String.fromCharCode(...body.subarray(0, 4)) !== 'INFO') return out;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let o = 4; o + 8 <= body.length;) {
    const id = String.fromCharCode(...body.subarray(o, o + 4));
    const size = view.getUint32(o + 4, true);
    const start = o + 8;
    const end = Math.min(body.length, start + size);
    if (/^[\x20-\x7e]{4}$/.test(id) && !(id in out)) out[id] = decodeText(body.subarray(start, end));
    o = start + size + (size & 1);
  }
  return out;
}

/** Raw INFO entries of a WAV file (id → text), from every LIST/INFO chunk; {} when none. */
export async function readWavInfo(readAt: ReadAt, fileSize: number): Promise<Record<string, string>> {
  const info = await parseWavHeader(readAt, fileSize);
  const dataEnd = info.dataOffset + info.dataBytes + (info.dataBytes & 1);
  const out: Record<string, string> = {};
  let position = 12;
  for (let n = 0; n < MAX_CHUNKS && position + 8 <= fileSize; n++) {
    if (position >= info.dataOffset - 8 && position < dataEnd) {
      // The data chunk: skip by the parsed size (its header field may say 0 or 0xFFFFFFFF).
      if (info.streamingHeader) break;
      position = dataEnd;
      continue;
    }
    const header = await readAt(position, 8);
    if (header.length < 8) break;
    const id = String.fromCharCode(...header.subarray(0, 4));
    const size = new DataView(header.buffer, header.byteOffset, 8).getUint32(4, true);
    if (id === 'LIST' && size >= 4 && size <= MAX_LIST_BYTES) {
      const body = await readAt(position + 8, size);
      for (const [k, v] of Object.entries(parseInfoList(body))) if (!(k in out)) out[k] = v;
    }
    position += 8 + size + (size & 1);
  }
  return out;
}

/** AudioTags of a WAV file from its INFO chunks. */
export async function readWavTags(readAt: ReadAt, fileSize: number): Promise<AudioTags> {
  return normalizeTags(await readWavInfo(readAt, fileSize));
}

/**
 * A complete LIST/INFO chunk (header included, even length) for `tags`, or null when none of them
 * has an INFO field. Album artist, disc, ISRC and composer have none and are left out.
 */
export function buildWavInfoChunk(
  tags: AudioTags,
  extra: Readonly<Record<string, string>> = {},
): Uint8Array | null {
  const entries: Array<[string, Uint8Array]> = [];
  const encoder = new TextEncoder();
  for (const [name, id] of Object.entries(RIFF_INFO_IDS) as Array<[AudioTagName, string]>) {
    const v = tags[name];
    if (v === undefined) continue;
    const clean = cleanTagValue(v);
    if (clean) entries.push([id, encoder.encode(clean)]);
  }
  for (const [id, v] of Object.entries(extra)) {
    if (!/^[A-Z0-9]{4}$/.test(id))
      throw new RangeError(`INFO chunk id must be 4 upper-case characters, got ${id}`);
    const clean = cleanTagValue(v);
    if (clean) entries.push([id, encoder.encode(clean)]);
  }
  if (entries.length === 0) return null;
  // Each entry: id, size (text + NUL), text, NUL, pad to even.
  const bodyBytes = 4 + entries.reduce((n, [, t]) => n + 8 + t.length + 1 + ((t.length + 1) & 1), 0);
  const out = new Uint8Array(8 + bodyBytes);
  const view = new DataView(out.buffer);
  const ascii = (s: string, at: number) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii('LIST', 0);
  view.setUint32(4, bodyBytes, true);
  ascii('INFO', 8);
  let o = 12;
  for (const [id, text] of entries) {
    ascii(id, o);
    view.setUint32(o + 4, text.length + 1, true);
    out.set(text, o + 8);
    o += 8 + text.length + 1 + ((text.length + 1) & 1);
  }
  return out;
}
