/**
 * Reader for TensorFlow V2 checkpoints (tensor bundles): `<prefix>.index` (a LevelDB table: the
 * empty key → BundleHeaderProto, every other key → BundleEntryProto) and data shards
 * `<prefix>.data-0000i-of-0000N` holding raw little-endian tensor bytes at the entry's offset.
 * Tensors are read one at a time straight from disk (bounded memory: a ~236 MB shard is never
 * loaded whole) and their CRC-32C is verified.
 */
import { promises as fs } from 'fs';
import type { FileHandle } from 'fs/promises';
import { ErrorCodes, ModelError } from '../errors';
import {
  BundleEntry,
  BundleHeader,
  ENDIANNESS_LITTLE,
  TF_DTYPE,
  TF_DTYPE_SIZE,
  decodeBundleEntry,
  decodeBundleHeader,
} from './bundle-protos';
import { crc32c, unmaskCrc32c } from './crc32c';
import { readLevelDbTable } from './leveldb-table';

export type { BundleEntry, BundleHeader } from './bundle-protos';

export interface TensorBundleIndex {
  header: BundleHeader;
  /** Tensor name → entry, in stored (byte-sorted) key order. */
  entries: Map<string, BundleEntry>;
}

export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

export function parseTensorBundleIndex(indexBytes: Buffer): TensorBundleIndex {
  let header: BundleHeader | undefined;
  const entries = new Map<string, BundleEntry>();
  for (const { key, value } of readLevelDbTable(indexBytes)) {
    if (key.length === 0) header = decodeBundleHeader(value);
    else entries.set(key.toString('utf8'), decodeBundleEntry(value));
  }
  if (!header) throw new ModelError(ErrorCodes.MODEL_INVALID, 'Tensor bundle index has no header entry');
  if (header.endianness !== ENDIANNESS_LITTLE) {
    throw new ModelError(ErrorCodes.MODEL_INVALID, 'Big-endian tensor bundles are not supported');
  }
  return { header, entries };
}

/** `<prefix>.data-00000-of-00001` naming, as TF's DataFilename(). */
export function dataShardPath(prefix: string, shard: number, numShards: number): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `${prefix}.data-${pad(shard)}-of-${pad(numShards)}`;
}

/** Bytes each shard must have at least, implied by the entries' offset + size. */
export function impliedShardSizes(index: TensorBundleIndex): number[] {
  const sizes = new Array<number>(index.header.numShards).fill(0);
  for (const e of index.entries.values())
    sizes[e.shardId] = Math.max(sizes[e.shardId] ?? 0, e.offset + e.size);
  return sizes;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class TensorBundleReader {
  private readonly handles = new Map<number, FileHandle>();

  private constructor(
    readonly prefix: string,
    readonly index: TensorBundleIndex,
  ) {}

  /** `prefix` is the path without `.index` (e.g. `/m/model.ckpt-1000000`). */
  static async open(prefix: string): Promise<TensorBundleReader> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(`${prefix}.index`);
    } catch (cause) {
      throw new ModelError(
        ErrorCodes.MODEL_NOT_INSTALLED,
        `Cannot read checkpoint index ${prefix}.index`,
        { prefix },
        { cause },
      );
    }
    return new TensorBundleReader(prefix, parseTensorBundleIndex(bytes));
  }

  get header(): BundleHeader {
    return this.index.header;
  }

  get entries(): ReadonlyMap<string, BundleEntry> {
    return this.index.entries;
  }

  /** Raw tensor bytes, CRC-verified. */
  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.requireEntry(name);
    const buf = new Uint8Array(e.size);
    await this.readInto(name, e, buf);
    return buf;
  }

  async readFloat32(name: string): Promise<Float32Tensor> {
    const e = this.requireEntry(name);
    if (e.dtype !== TF_DTYPE.DT_FLOAT) {
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        `Tensor ${name} has dtype ${e.dtype}, expected DT_FLOAT`,
        {
          tensor: name,
        },
      );
    }
    const data = new Float32Array(e.size / 4);
    // Reading straight into the Float32Array's bytes avoids a copy; all supported hosts are little-endian.
    await this.readInto(name, e, new Uint8Array(data.buffer));
    return { shape: e.shape.slice(), data };
  }

  async close(): Promise<void> {
    const hs = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(hs.map((h) => h.close()));
  }

  private requireEntry(name: string): BundleEntry {
    const e = this.index.entries.get(name);
    if (!e)
      throw new ModelError(ErrorCodes.MODEL_INVALID, `Tensor ${name} not in checkpoint`, { tensor: name });
    if (e.slices > 0) {
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        `Tensor ${name} is partitioned (sliced); not supported`,
        {
          tensor: name,
        },
      );
    }
    const itemSize = TF_DTYPE_SIZE[e.dtype];
    if (itemSize !== undefined && elementCount(e.shape) * itemSize !== e.size) {
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        `Tensor ${name}: size ${e.size} does not match its shape`,
        {
          tensor: name,
          shape: e.shape,
        },
      );
    }
    return e;
  }

  private async shard(id: number): Promise<FileHandle> {
    let h = this.handles.get(id);
    if (!h) {
      const file = dataShardPath(this.prefix, id, this.index.header.numShards);
      try {
        h = await fs.open(file, 'r');
      } catch (cause) {
        throw new ModelError(
          ErrorCodes.MODEL_INVALID,
          `Cannot open checkpoint data shard ${file}`,
          { file },
          { cause },
        );
      }
      this.handles.set(id, h);
    }
    return h;
  }

  private async readInto(name: string, e: BundleEntry, out: Uint8Array): Promise<void> {
    const h = await this.shard(e.shardId);
    let done = 0;
    while (done < e.size) {
      const { bytesRead } = await h.read(out, done, e.size - done, e.offset + done);
      if (bytesRead === 0) {
        throw new ModelError(
          ErrorCodes.MODEL_INVALID,
          `Checkpoint data shard truncated while reading ${name}`,
          {
            tensor: name,
          },
        );
      }
      done += bytesRead;
    }
    const actual = crc32c(out);
    if (actual !== unmaskCrc32c(e.crc32c)) {
      throw new ModelError(
        ErrorCodes.MODEL_CHECKSUM_MISMATCH,
        `Checksum mismatch in checkpoint tensor ${name}`,
        {
          tensor: name,
          expected: unmaskCrc32c(e.crc32c),
          actual,
        },
      );
    }
  }
}
