/**
 * The few TensorFlow protos a tensor bundle index holds (tensorflow/core/protobuf/tensor_bundle.proto,
 * tensor_shape.proto, tensor_slice.proto, versions.proto), declared inline through protobufjs
 * reflection so no generated code or .proto files are shipped. Enums are declared as int32: the
 * wire format is the same varint and we only compare numbers.
 */
import * as protobuf from 'protobufjs';

/** tensorflow.DataType values we care about. */
export const TF_DTYPE = { DT_FLOAT: 1, DT_DOUBLE: 2, DT_INT32: 3, DT_INT64: 9 } as const;
/** Bytes per element by DataType, for the types a Spleeter checkpoint holds. */
export const TF_DTYPE_SIZE: Readonly<Record<number, number>> = { 1: 4, 2: 8, 3: 4, 9: 8 };

export const ENDIANNESS_LITTLE = 0;

const root = protobuf.Root.fromJSON({
  nested: {
    tensorflow: {
      nested: {
        VersionDef: {
          fields: {
            producer: { type: 'int32', id: 1 },
            min_consumer: { type: 'int32', id: 2 },
            bad_consumers: { rule: 'repeated', type: 'int32', id: 3 },
          },
        },
        BundleHeaderProto: {
          fields: {
            num_shards: { type: 'int32', id: 1 },
            endianness: { type: 'int32', id: 2 },
            version: { type: 'VersionDef', id: 3 },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: 'repeated', type: 'Dim', id: 2 },
            unknown_rank: { type: 'bool', id: 3 },
          },
          nested: {
            Dim: { fields: { size: { type: 'int64', id: 1 }, name: { type: 'string', id: 2 } } },
          },
        },
        TensorSliceProto: {
          fields: { extent: { rule: 'repeated', type: 'Extent', id: 1 } },
          nested: {
            Extent: { fields: { start: { type: 'int64', id: 1 }, length: { type: 'int64', id: 2 } } },
          },
        },
        BundleEntryProto: {
          fields: {
            dtype: { type: 'int32', id: 1 },
            shape: { type: 'TensorShapeProto', id: 2 },
            shard_id: { type: 'int32', id: 3 },
            offset: { type: 'int64', id: 4 },
            size: { type: 'int64', id: 5 },
            crc32c: { type: 'fixed32', id: 6 },
            slices: { rule: 'repeated', type: 'TensorSliceProto', id: 7 },
          },
        },
      },
    },
  },
});

const HeaderType = root.lookupType('tensorflow.BundleHeaderProto');
const EntryType = root.lookupType('tensorflow.BundleEntryProto');

export interface BundleHeader {
  numShards: number;
  endianness: number;
  producer: number;
}

export interface BundleEntry {
  dtype: number;
  shape: number[];
  shardId: number;
  offset: number;
  size: number;
  /** Masked CRC-32C of the tensor bytes, as stored. */
  crc32c: number;
  /** Number of slices (partitioned variables); 0 for ordinary tensors. */
  slices: number;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, defaults: true, arrays: true };

export function decodeBundleHeader(bytes: Uint8Array): BundleHeader {
  const o = HeaderType.toObject(HeaderType.decode(bytes), TO_OBJECT) as {
    num_shards: number;
    endianness: number;
    version?: { producer?: number };
  };
  return { numShards: o.num_shards, endianness: o.endianness, producer: o.version?.producer ?? 0 };
}

export function encodeBundleHeader(h: BundleHeader): Uint8Array {
  return HeaderType.encode(
    HeaderType.fromObject({
      num_shards: h.numShards,
      endianness: h.endianness,
      version: { producer: h.producer },
    }),
  ).finish();
}

export function decodeBundleEntry(bytes: Uint8Array): BundleEntry {
  const o = EntryType.toObject(EntryType.decode(bytes), TO_OBJECT) as {
    dtype: number;
    shape?: { dim: { size: number }[] };
    shard_id: number;
    offset: number;
    size: number;
    crc32c: number;
    slices: unknown[];
  };
  return {
    dtype: o.dtype,
    shape: (o.shape?.dim ?? []).map((d) => d.size),
    shardId: o.shard_id,
    offset: o.offset,
    size: o.size,
    crc32c: o.crc32c >>> 0,
    slices: o.slices.length,
  };
}

export function encodeBundleEntry(e: Omit<BundleEntry, 'slices'>): Uint8Array {
  return EntryType.encode(
    EntryType.fromObject({
      dtype: e.dtype,
      shape: { dim: e.shape.map((size) => ({ size })) },
      shard_id: e.shardId,
      offset: e.offset,
      size: e.size,
      crc32c: e.crc32c,
    }),
  ).finish();
}
