/**
 * Minimal TensorFlow tensor bundle writer (single shard), byte-compatible with what TF's
 * BundleWriter produces for a Spleeter checkpoint: keys byte-sorted, tensors stored in that order
 * with no alignment padding, masked CRC-32C per tensor, uncompressed LevelDB index. Used by tests
 * (checkpoints with known weights) and usable to re-export converted weights.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { ENDIANNESS_LITTLE, TF_DTYPE, encodeBundleEntry, encodeBundleHeader } from './bundle-protos';
import { crc32c, maskCrc32c } from './crc32c';
import { TableEntry, writeLevelDbTable } from './leveldb-table';
import { dataShardPath, elementCount } from './tensor-bundle-reader';

export interface BundleTensorInput {
  shape: readonly number[];
  /** Float32Array → DT_FLOAT, BigInt64Array → DT_INT64 (e.g. `global_step`). */
  data: Float32Array | BigInt64Array;
}

export interface TensorBundleWriteResult {
  indexPath: string;
  dataPath: string;
  dataBytes: number;
}

/**
 * Write `<dir>/<prefix>.index` and `<dir>/<prefix>.data-00000-of-00001`. Files appear atomically
 * (written under a temporary name, then renamed).
 */
export async function writeTensorBundle(
  dir: string,
  prefix: string,
  tensors: ReadonlyMap<string, BundleTensorInput> | Readonly<Record<string, BundleTensorInput>>,
): Promise<TensorBundleWriteResult> {
  const list = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)) as [
    string,
    BundleTensorInput,
  ][];
  const named = list
    .map(([name, t]) => ({ name, key: Buffer.from(name, 'utf8'), t }))
    .sort((a, b) => Buffer.compare(a.key, b.key));

  const entries: TableEntry[] = [
    {
      key: Buffer.alloc(0),
      value: Buffer.from(encodeBundleHeader({ numShards: 1, endianness: ENDIANNESS_LITTLE, producer: 1 })),
    },
  ];
  const dataChunks: Buffer[] = [];
  let offset = 0;
  for (const { name, key, t } of named) {
    if (!name) throw new Error('tensor name must not be empty (the empty key holds the header)');
    if (elementCount(t.shape) !== t.data.length) {
      throw new Error(`tensor ${name}: ${t.data.length} values for shape [${t.shape.join(',')}]`);
    }
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const dtype = t.data instanceof Float32Array ? TF_DTYPE.DT_FLOAT : TF_DTYPE.DT_INT64;
    entries.push({
      key,
      value: Buffer.from(
        encodeBundleEntry({
          dtype,
          shape: [...t.shape],
          shardId: 0,
          offset,
          size: bytes.length,
          crc32c: maskCrc32c(crc32c(bytes)),
        }),
      ),
    });
    dataChunks.push(bytes);
    offset += bytes.length;
  }

  await fs.mkdir(dir, { recursive: true });
  const base = path.join(dir, prefix);
  const indexPath = `${base}.index`;
  const dataPath = dataShardPath(base, 0, 1);
  const suffix = `.tmp-${process.pid}-${Date.now()}`;
  try {
    await fs.writeFile(dataPath + suffix, Buffer.concat(dataChunks));
    await fs.writeFile(indexPath + suffix, writeLevelDbTable(entries));
    await fs.rename(dataPath + suffix, dataPath);
    await fs.rename(indexPath + suffix, indexPath);
  } catch (err) {
    await Promise.all([
      fs.rm(dataPath + suffix, { force: true }),
      fs.rm(indexPath + suffix, { force: true }),
    ]);
    throw err;
  }
  return { indexPath, dataPath, dataBytes: offset };
}
