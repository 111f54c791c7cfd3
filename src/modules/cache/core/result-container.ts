import { createHash } from 'crypto';

/**
 * A separation result (several stem files) as one cache value, so every tier stores, evicts and
 * expires it as a unit (no half-present results):
 *
 *   0  "SPLR"                 magic
 *   4  u8  format version (1)
 *   5  3 bytes reserved (0)
 *   8  u32 LE header length H
 *   12 H bytes UTF-8 JSON header { stems: [{ name, length, sha256, fileName?, contentType? }], meta }
 *   .. stem payloads, concatenated in header order, exactly as the encoder wrote them to disk
 *
 * Stem bytes are the encoded output files themselves, so a hit restores byte-identical files. The
 * per-stem sha256 guards against a truncated or corrupted value being served.
 */
export interface CachedStem {
  name: string;
  data: Buffer;
  fileName?: string;
  contentType?: string;
}

export interface CachedResult {
  stems: CachedStem[];
  /** Whatever the job needs to complete from the cache (input info, model, provider...). JSON only. */
  meta: Record<string, unknown>;
}

interface HeaderStem {
  name: string;
  length: number;
  sha256: string;
  fileName?: string;
  contentType?: string;
}

const MAGIC = Buffer.from('SPLR', 'ascii');
const VERSION = 1;
const PREFIX = 12;

export class CorruptCacheEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptCacheEntryError';
  }
}

export function encodeResultContainer(result: CachedResult): Buffer {
  const names = new Set<string>();
  const stems: HeaderStem[] = result.stems.map((s) => {
    if (names.has(s.name)) throw new TypeError(`duplicate stem ${s.name}`);
    names.add(s.name);
    return {
      name: s.name,
      length: s.data.length,
      sha256: createHash('sha256').update(s.data).digest('hex'),
      ...(s.fileName !== undefined ? { fileName: s.fileName } : {}),
      ...(s.contentType !== undefined ? { contentType: s.contentType } : {}),
    };
  });
  const header = Buffer.from(JSON.stringify({ stems, meta: result.meta }), 'utf8');
  const prefix = Buffer.alloc(PREFIX);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt8(VERSION, 4);
  prefix.writeUInt32LE(header.length, 8);
  return Buffer.concat([prefix, header, ...result.stems.map((s) => s.data)]);
}

/** Stem buffers are views into `buf` (no copy). Throws CorruptCacheEntryError on any inconsistency. */
export function decodeResultContainer(buf: Buffer, options: { verify?: boolean } = {}): CachedResult {
  if (buf.length < PREFIX || !buf.subarray(0, 4).equals(MAGIC))
    throw new CorruptCacheEntryError('not a result container');
  const version = buf.readUInt8(4);
  if (version !== VERSION)
    throw new CorruptCacheEntryError(`unsupported result container version ${version}`);
  const headerLength = buf.readUInt32LE(8);
  if (PREFIX + headerLength > buf.length) throw new CorruptCacheEntryError('truncated header');
  let header: { stems: HeaderStem[]; meta: Record<string, unknown> };
  try {
    header = JSON.parse(buf.subarray(PREFIX, PREFIX + headerLength).toString('utf8'));
  } catch {
    throw new CorruptCacheEntryError('unreadable header');
  }
  if (!Array.isArray(header?.stems)) throw new CorruptCacheEntryError('header without stems');
  let offset = PREFIX + headerLength;
  const stems: CachedStem[] = [];
  for (const s of header.stems) {
    if (!Number.isInteger(s.length) || s.length < 0 || offset + s.length > buf.length) {
      throw new CorruptCacheEntryError(`stem ${s.name} overruns the value`);
    }
    const data = buf.subarray(offset, offset + s.length);
    if (options.verify !== false && createHash('sha256').update(data).digest('hex') !== s.sha256) {
      throw new CorruptCacheEntryError(`stem ${s.name} fails its checksum`);
    }
    offset += s.length;
    stems.push({ name: s.name, data, fileName: s.fileName, contentType: s.contentType });
  }
  if (offset !== buf.length) throw new CorruptCacheEntryError('trailing bytes after the last stem');
  return { stems, meta: header.meta ?? {} };
}
