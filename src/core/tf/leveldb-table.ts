/**
 * LevelDB-format SSTable (the container of a TensorFlow tensor bundle `.index` file), read and
 * written whole in memory — bundle indexes are a few KB. Layout:
 *   data blocks | metaindex block | index block | footer (48 bytes)
 * Block: entries (varint shared, varint non_shared, varint value_len, key delta, value), then the
 * uint32 restart offsets and their count; followed by a 5-byte trailer: compression type byte and
 * the masked CRC-32C of (contents + type byte).
 * Footer: metaindex handle and index handle (varint offset + varint size each), zero padding to 40
 * bytes, then the magic 0xdb4775248b80fb57 little-endian.
 */
import { ErrorCodes, ModelError } from '../errors';
import { crc32cExtend, maskCrc32c, unmaskCrc32c } from './crc32c';

export const TABLE_MAGIC_LO = 0x8b80fb57;
export const TABLE_MAGIC_HI = 0xdb477524;
export const FOOTER_SIZE = 48;
const BLOCK_TRAILER_SIZE = 5;
const COMPRESSION_NONE = 0;

export interface TableEntry {
  key: Buffer;
  value: Buffer;
}

interface BlockHandle {
  offset: number;
  size: number;
}

function invalid(message: string, context: Record<string, unknown> = {}): ModelError {
  return new ModelError(ErrorCodes.MODEL_INVALID, `Invalid tensor bundle index: ${message}`, context);
}

/** Varint decoding up to 2^53 (bundle offsets exceed 32 bits for large shards). */
function readVarint(buf: Buffer, pos: number, limit: number): [value: number, next: number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) throw invalid('truncated varint', { pos });
    const b = buf[pos++];
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [result, pos];
    mul *= 128;
  }
  throw invalid('varint too long', { pos });
}

function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function readBlockContents(file: Buffer, handle: BlockHandle, what: string): Buffer {
  const end = handle.offset + handle.size;
  if (end + BLOCK_TRAILER_SIZE > file.length) throw invalid(`${what} block out of range`, { ...handle });
  const contents = file.subarray(handle.offset, end);
  const type = file[end];
  const stored = file.readUInt32LE(end + 1);
  const actual = crc32cExtend(crc32cExtend(0, contents), file.subarray(end, end + 1));
  if (unmaskCrc32c(stored) !== actual) {
    throw new ModelError(
      ErrorCodes.MODEL_CHECKSUM_MISMATCH,
      `Tensor bundle index ${what} block checksum mismatch`,
      {
        ...handle,
      },
    );
  }
  if (type !== COMPRESSION_NONE) {
    // TF writes bundle indexes uncompressed; snappy support would need a dependency.
    throw invalid(`unsupported block compression type ${type}`, { ...handle });
  }
  return contents;
}

function parseBlock(block: Buffer, what: string): TableEntry[] {
  if (block.length < 4) throw invalid(`${what} block too small`);
  const numRestarts = block.readUInt32LE(block.length - 4);
  const restartsOffset = block.length - 4 - 4 * numRestarts;
  if (restartsOffset < 0) throw invalid(`${what} block restart array out of range`);
  const entries: TableEntry[] = [];
  let pos = 0;
  let prevKey = Buffer.alloc(0);
  while (pos < restartsOffset) {
    let shared: number, nonShared: number, valueLen: number;
    [shared, pos] = readVarint(block, pos, restartsOffset);
    [nonShared, pos] = readVarint(block, pos, restartsOffset);
    [valueLen, pos] = readVarint(block, pos, restartsOffset);
    if (shared > prevKey.length || pos + nonShared + valueLen > restartsOffset) {
      throw invalid(`corrupt ${what} block entry`, { pos });
    }
    const key = Buffer.concat([prevKey.subarray(0, shared), block.subarray(pos, pos + nonShared)]);
    pos += nonShared;
    const value = block.subarray(pos, pos + valueLen);
    pos += valueLen;
    entries.push({ key, value });
    prevKey = key;
  }
  return entries;
}

function decodeHandle(buf: Buffer, pos: number, limit: number): [BlockHandle, number] {
  let offset: number, size: number;
  [offset, pos] = readVarint(buf, pos, limit);
  [size, pos] = readVarint(buf, pos, limit);
  return [{ offset, size }, pos];
}

/** Every key/value of the table in stored (sorted) order. */
export function readLevelDbTable(file: Buffer): TableEntry[] {
  if (file.length < FOOTER_SIZE) throw invalid('file shorter than the footer', { bytes: file.length });
  const footer = file.subarray(file.length - FOOTER_SIZE);
  if (footer.readUInt32LE(40) !== TABLE_MAGIC_LO || footer.readUInt32LE(44) !== TABLE_MAGIC_HI) {
    throw invalid('bad table magic number');
  }
  const [, next] = decodeHandle(footer, 0, 40); // metaindex: no filters in TF bundles
  const [indexHandle] = decodeHandle(footer, next, 40);
  const index = parseBlock(readBlockContents(file, indexHandle, 'index'), 'index');
  const out: TableEntry[] = [];
  for (const { value } of index) {
    const [handle] = decodeHandle(value, 0, value.length);
    out.push(...parseBlock(readBlockContents(file, handle, 'data'), 'data'));
  }
  return out;
}

export interface TableWriteOptions {
  /** Target uncompressed data block size (TF's table default: 256 KiB). */
  blockSize?: number;
  /** Keys between restart points in data blocks (LevelDB/TF default 16). */
  restartInterval?: number;
}

class BlockBuilder {
  private bytes: number[] = [];
  private restarts: number[] = [0];
  private counter = 0;
  private lastKey: Buffer = Buffer.alloc(0);
  entries = 0;

  constructor(private readonly restartInterval: number) {}

  add(key: Buffer, value: Buffer): void {
    let shared = 0;
    if (this.counter < this.restartInterval) {
      const max = Math.min(this.lastKey.length, key.length);
      while (shared < max && this.lastKey[shared] === key[shared]) shared++;
    } else {
      this.restarts.push(this.bytes.length);
      this.counter = 0;
    }
    pushVarint(this.bytes, shared);
    pushVarint(this.bytes, key.length - shared);
    pushVarint(this.bytes, value.length);
    for (let i = shared; i < key.length; i++) this.bytes.push(key[i]);
    for (let i = 0; i < value.length; i++) this.bytes.push(value[i]);
    this.lastKey = key;
    this.counter++;
    this.entries++;
  }

  get estimatedSize(): number {
    return this.bytes.length + 4 * this.restarts.length + 4;
  }

  finish(): Buffer {
    const out = Buffer.alloc(this.bytes.length + 4 * this.restarts.length + 4);
    Buffer.from(this.bytes).copy(out, 0);
    let p = this.bytes.length;
    for (const r of this.restarts) {
      out.writeUInt32LE(r, p);
      p += 4;
    }
    out.writeUInt32LE(this.restarts.length, p);
    return out;
  }
}

/** Shortest key k with start <= k < limit (LevelDB BytewiseComparator::FindShortestSeparator). */
function shortestSeparator(start: Buffer, limit: Buffer): Buffer {
  const min = Math.min(start.length, limit.length);
  let i = 0;
  while (i < min && start[i] === limit[i]) i++;
  if (i < min) {
    const b = start[i];
    if (b < 0xff && b + 1 < limit[i]) {
      const out = Buffer.from(start.subarray(0, i + 1));
      out[i]++;
      return out;
    }
  }
  return start;
}

/** Shortest key >= key (FindShortSuccessor): bump the first byte that is not 0xff. */
function shortSuccessor(key: Buffer): Buffer {
  for (let i = 0; i < key.length; i++) {
    if (key[i] !== 0xff) {
      const out = Buffer.from(key.subarray(0, i + 1));
      out[i]++;
      return out;
    }
  }
  return key;
}

/** Serialise sorted (byte order, unique) entries as an uncompressed LevelDB table. */
export function writeLevelDbTable(entries: readonly TableEntry[], opts: TableWriteOptions = {}): Buffer {
  const blockSize = opts.blockSize ?? 256 * 1024;
  const restartInterval = opts.restartInterval ?? 16;
  for (let i = 1; i < entries.length; i++) {
    if (Buffer.compare(entries[i - 1].key, entries[i].key) >= 0) {
      throw new Error(`table keys must be strictly byte-sorted (at ${entries[i].key.toString('latin1')})`);
    }
  }
  const chunks: Buffer[] = [];
  let offset = 0;
  const writeBlock = (contents: Buffer): BlockHandle => {
    const trailer = Buffer.alloc(BLOCK_TRAILER_SIZE);
    trailer[0] = COMPRESSION_NONE;
    const crc = crc32cExtend(crc32cExtend(0, contents), trailer.subarray(0, 1));
    trailer.writeUInt32LE(maskCrc32c(crc), 1);
    const handle = { offset, size: contents.length };
    chunks.push(contents, trailer);
    offset += contents.length + BLOCK_TRAILER_SIZE;
    return handle;
  };
  const encodeHandle = (h: BlockHandle): Buffer => {
    const b: number[] = [];
    pushVarint(b, h.offset);
    pushVarint(b, h.size);
    return Buffer.from(b);
  };

  // As LevelDB/TF: a block's index key is the shortest separator between its last key and the
  // next block's first key (the short successor for the final block), so the pending index entry
  // is emitted once the next key is known. This makes the output byte-identical to TF's.
  const index = new BlockBuilder(1);
  let block = new BlockBuilder(restartInterval);
  let lastKey: Buffer = Buffer.alloc(0);
  let pending: BlockHandle | null = null;
  for (const e of entries) {
    if (pending) {
      index.add(shortestSeparator(lastKey, e.key), encodeHandle(pending));
      pending = null;
    }
    block.add(e.key, e.value);
    lastKey = e.key;
    if (block.estimatedSize >= blockSize) {
      pending = writeBlock(block.finish());
      block = new BlockBuilder(restartInterval);
    }
  }
  if (block.entries > 0) pending = writeBlock(block.finish());
  if (pending) index.add(shortSuccessor(lastKey), encodeHandle(pending));
  const metaHandle = writeBlock(new BlockBuilder(restartInterval).finish());
  const indexHandle = writeBlock(index.finish());
  const footer = Buffer.alloc(FOOTER_SIZE);
  Buffer.concat([encodeHandle(metaHandle), encodeHandle(indexHandle)]).copy(footer, 0);
  footer.writeUInt32LE(TABLE_MAGIC_LO, 40);
  footer.writeUInt32LE(TABLE_MAGIC_HI, 44);
  chunks.push(footer);
  return Buffer.concat(chunks);
}
