/**
 * Streaming ZIP writer for already-sized files: entries are stored (no compression: stems are audio,
 * mostly incompressible, and the point is to start sending at once), CRC-32 is computed on the way
 * and written in a data descriptor, ZIP64 records appear only when a size or offset needs them.
 * Because every size is known up front, the archive's exact length is known before the first byte
 * (so HTTP can send Content-Length).
 */
import { PassThrough, type Readable } from 'stream';
import * as zlib from 'zlib';

export interface ZipSourceEntry {
  /** Path inside the archive (UTF-8, forward slashes). */
  name: string;
  size: number;
  modifiedAt: Date;
  open(): Promise<Readable>;
}

export interface ZipStreamResult {
  /** Exact byte length of the archive. */
  size: number;
  /** Starts writing the archive (nothing is opened before this is called). */
  start(): Readable;
}

const U32_MAX = 0xffffffff;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;

interface PlannedEntry extends ZipSourceEntry {
  nameBytes: Buffer;
  offset: number;
  zip64: boolean;
  dosTime: number;
  dosDate: number;
}

export function createZipStream(entries: readonly ZipSourceEntry[]): ZipStreamResult {
  let offset = 0;
  const planned: PlannedEntry[] = entries.map((e) => {
    const nameBytes = Buffer.from(e.name, 'utf8');
    const zip64 = e.size >= U32_MAX || offset >= U32_MAX;
    const { time, date } = dosDateTime(e.modifiedAt);
    const p: PlannedEntry = { ...e, nameBytes, offset, zip64, dosTime: time, dosDate: date };
    offset += localHeader(p).length + e.size + (zip64 ? 24 : 16);
    return p;
  });
  const cdOffset = offset;
  const centralSize = planned.reduce((n, p) => n + centralHeader(p, 0).length, 0);
  const needsZip64End = planned.length >= 0xffff || cdOffset >= U32_MAX || centralSize >= U32_MAX;
  const size = cdOffset + centralSize + (needsZip64End ? 56 + 20 : 0) + 22;

  const start = (): Readable => {
    const out = new PassThrough();
    void (async () => {
      const crcs: number[] = [];
      for (const entry of planned) {
        if (!(await write(out, localHeader(entry)))) return;
        const input = await entry.open();
        let crc = 0;
        let seen = 0;
        for await (const chunk of input as AsyncIterable<Buffer>) {
          crc = crc32(chunk, crc);
          seen += chunk.length;
          if (seen > entry.size)
            throw new Error(`${entry.name} is longer than its declared ${entry.size} bytes`);
          if (!(await write(out, chunk))) {
            input.destroy();
            return;
          }
        }
        if (seen !== entry.size) throw new Error(`${entry.name} is ${seen} bytes, expected ${entry.size}`);
        crcs.push(crc);
        if (!(await write(out, descriptor(entry, crc)))) return;
      }
      const central = Buffer.concat(planned.map((p, i) => centralHeader(p, crcs[i])));
      const tail: Buffer[] = [central];
      if (needsZip64End)
        tail.push(
          zip64End(planned.length, central.length, cdOffset),
          zip64Locator(cdOffset + central.length),
        );
      tail.push(end(planned.length, central.length, cdOffset, needsZip64End));
      if (await write(out, Buffer.concat(tail))) out.end();
    })().catch((err: unknown) => out.destroy(err as Error));
    return out;
  };
  return { size, start };
}

/** Resolves false when the consumer went away. */
function write(out: PassThrough, chunk: Buffer): Promise<boolean> {
  if (out.destroyed) return Promise.resolve(false);
  if (out.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onDrain = () => {
      out.off('close', onClose);
      resolve(true);
    };
    const onClose = () => {
      out.off('drain', onDrain);
      resolve(false);
    };
    out.once('drain', onDrain);
    out.once('close', onClose);
  });
}

function localHeader(p: PlannedEntry): Buffer {
  const extra = p.zip64 ? zip64Extra([0, 0]) : Buffer.alloc(0);
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(p.zip64 ? 45 : 20, 4);
  b.writeUInt16LE(FLAG_DESCRIPTOR | FLAG_UTF8, 6);
  b.writeUInt16LE(0, 8); // stored
  b.writeUInt16LE(p.dosTime, 10);
  b.writeUInt16LE(p.dosDate, 12);
  b.writeUInt32LE(0, 14); // crc: in the descriptor
  b.writeUInt32LE(p.zip64 ? U32_MAX : 0, 18);
  b.writeUInt32LE(p.zip64 ? U32_MAX : 0, 22);
  b.writeUInt16LE(p.nameBytes.length, 26);
  b.writeUInt16LE(extra.length, 28);
  return Buffer.concat([b, p.nameBytes, extra]);
}

function descriptor(p: PlannedEntry, crc: number): Buffer {
  const b = Buffer.alloc(p.zip64 ? 24 : 16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(crc >>> 0, 4);
  if (p.zip64) {
    b.writeBigUInt64LE(BigInt(p.size), 8);
    b.writeBigUInt64LE(BigInt(p.size), 16);
  } else {
    b.writeUInt32LE(p.size, 8);
    b.writeUInt32LE(p.size, 12);
  }
  return b;
}

function centralHeader(p: PlannedEntry, crc: number): Buffer {
  const bigSize = p.size >= U32_MAX;
  const bigOffset = p.offset >= U32_MAX;
  const fields: number[] = [];
  if (bigSize) fields.push(p.size, p.size);
  if (bigOffset) fields.push(p.offset);
  const extra = fields.length ? zip64Extra(fields) : Buffer.alloc(0);
  const b = Buffer.alloc(46);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(45, 4); // made by: spec 4.5
  b.writeUInt16LE(p.zip64 ? 45 : 20, 6);
  b.writeUInt16LE(FLAG_DESCRIPTOR | FLAG_UTF8, 8);
  b.writeUInt16LE(0, 10);
  b.writeUInt16LE(p.dosTime, 12);
  b.writeUInt16LE(p.dosDate, 14);
  b.writeUInt32LE(crc >>> 0, 16);
  b.writeUInt32LE(bigSize ? U32_MAX : p.size, 20);
  b.writeUInt32LE(bigSize ? U32_MAX : p.size, 24);
  b.writeUInt16LE(p.nameBytes.length, 28);
  b.writeUInt16LE(extra.length, 30);
  b.writeUInt16LE(0, 32); // comment
  b.writeUInt16LE(0, 34); // disk
  b.writeUInt16LE(0, 36); // internal attributes
  b.writeUInt32LE(0, 38); // external attributes
  b.writeUInt32LE(bigOffset ? U32_MAX : p.offset, 42);
  return Buffer.concat([b, p.nameBytes, extra]);
}

function zip64Extra(values: number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

function zip64End(count: number, cdSize: number, cdOffset: number): Buffer {
  const b = Buffer.alloc(56);
  b.writeUInt32LE(0x06064b50, 0);
  b.writeBigUInt64LE(44n, 4);
  b.writeUInt16LE(45, 12);
  b.writeUInt16LE(45, 14);
  b.writeUInt32LE(0, 16);
  b.writeUInt32LE(0, 20);
  b.writeBigUInt64LE(BigInt(count), 24);
  b.writeBigUInt64LE(BigInt(count), 32);
  b.writeBigUInt64LE(BigInt(cdSize), 40);
  b.writeBigUInt64LE(BigInt(cdOffset), 48);
  return b;
}

function zip64Locator(zip64EndOffset: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(0x07064b50, 0);
  b.writeUInt32LE(0, 4);
  b.writeBigUInt64LE(BigInt(zip64EndOffset), 8);
  b.writeUInt32LE(1, 16);
  return b;
}

function end(count: number, cdSize: number, cdOffset: number, zip64: boolean): Buffer {
  const b = Buffer.alloc(22);
  b.writeUInt32LE(0x06054b50, 0);
  b.writeUInt16LE(0, 4);
  b.writeUInt16LE(0, 6);
  b.writeUInt16LE(zip64 ? 0xffff : count, 8);
  b.writeUInt16LE(zip64 ? 0xffff : count, 10);
  b.writeUInt32LE(zip64 && cdSize >= U32_MAX ? U32_MAX : cdSize, 12);
  b.writeUInt32LE(zip64 ? U32_MAX : cdOffset, 16);
  b.writeUInt16LE(0, 20);
  return b;
}

function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, d.getFullYear());
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

let table: Uint32Array | null = null;

/** CRC-32 (IEEE); zlib's native one where Node has it (20.15+). */
export function crc32(data: Buffer, previous = 0): number {
  const native = (zlib as unknown as { crc32?: (d: Buffer, v?: number) => number }).crc32;
  if (native) return native(data, previous);
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
