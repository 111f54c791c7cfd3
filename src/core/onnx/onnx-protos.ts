/**
 * The ONNX messages this project writes and reads (onnx/onnx.proto: ModelProto and what it holds),
 * declared inline through protobufjs reflection so no generated code or .proto files are shipped.
 * Only the fields we use are declared; decodeModel keeps the others as unknown fields, which
 * protobufjs writes back (after the declared ones) when the model is re-encoded. Field names are
 * camelCase as protobufjs's generated code names them; numbers and wire types follow onnx.proto.
 * Enums are declared as int32 (the same varint on the wire).
 *
 * Encoding is byte-for-byte what the generated `onnx-proto` bindings wrote before: fields in id
 * order, a set scalar written even when it equals its default (the builder sets producer_version and
 * doc_string to ''), repeated numerics packed. protobufjs 8 reads JSON messages as proto3, whose
 * implicit presence would drop those '' fields, so each message is marked proto2 (explicit presence)
 * and its repeated numerics `packed` (proto2's default is unpacked).
 *
 * protobufjs is loaded on the first encode/decode, not on import: the constants and the graph
 * builder's types are imported on the separation path (model metadata), which never encodes.
 */
import type * as Protobuf from 'protobufjs';

/** onnx.TensorProto.DataType (ONNX 1.10). */
// prettier-ignore
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;

/** onnx.AttributeProto.AttributeType (ONNX 1.10). */
// prettier-ignore
export const AttributeType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

const one = (id: number, type: string) => ({ id, type });
const rep = (id: number, type: string) => ({ id, type, rule: 'repeated' });
const packed = (id: number, type: string) => ({ id, type, rule: 'repeated', options: { packed: true } });

// prettier-ignore
const messages: Record<string, Protobuf.IType> = {
  ModelProto: {
    fields: {
      irVersion: one(1, 'int64'), producerName: one(2, 'string'), producerVersion: one(3, 'string'),
      domain: one(4, 'string'), modelVersion: one(5, 'int64'), docString: one(6, 'string'),
      graph: one(7, 'GraphProto'), opsetImport: rep(8, 'OperatorSetIdProto'),
      metadataProps: rep(14, 'StringStringEntryProto'),
    },
  },
  GraphProto: {
    fields: {
      node: rep(1, 'NodeProto'), name: one(2, 'string'), initializer: rep(5, 'TensorProto'),
      docString: one(10, 'string'), input: rep(11, 'ValueInfoProto'), output: rep(12, 'ValueInfoProto'),
      valueInfo: rep(13, 'ValueInfoProto'),
    },
  },
  NodeProto: {
    fields: {
      input: rep(1, 'string'), output: rep(2, 'string'), name: one(3, 'string'), opType: one(4, 'string'),
      attribute: rep(5, 'AttributeProto'), docString: one(6, 'string'), domain: one(7, 'string'),
    },
  },
  AttributeProto: {
    fields: {
      name: one(1, 'string'), f: one(2, 'float'), i: one(3, 'int64'), s: one(4, 'bytes'),
      t: one(5, 'TensorProto'), g: one(6, 'GraphProto'), floats: packed(7, 'float'), ints: packed(8, 'int64'),
      strings: rep(9, 'bytes'), tensors: rep(10, 'TensorProto'), graphs: rep(11, 'GraphProto'),
      docString: one(13, 'string'), type: one(20, 'int32'),
    },
  },
  TensorProto: {
    fields: {
      dims: packed(1, 'int64'), dataType: one(2, 'int32'), floatData: packed(4, 'float'),
      int32Data: packed(5, 'int32'), stringData: rep(6, 'bytes'), int64Data: packed(7, 'int64'),
      name: one(8, 'string'), rawData: one(9, 'bytes'), doubleData: packed(10, 'double'),
      uint64Data: packed(11, 'uint64'), docString: one(12, 'string'),
    },
  },
  ValueInfoProto: {
    fields: { name: one(1, 'string'), type: one(2, 'TypeProto'), docString: one(3, 'string') },
  },
  TypeProto: {
    oneofs: { value: { oneof: ['tensorType'] } },
    fields: { tensorType: one(1, 'Tensor'), denotation: one(6, 'string') },
    nested: { Tensor: { fields: { elemType: one(1, 'int32'), shape: one(2, 'TensorShapeProto') } } },
  },
  TensorShapeProto: {
    fields: { dim: rep(1, 'Dimension') },
    nested: {
      Dimension: {
        oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
        fields: { dimValue: one(1, 'int64'), dimParam: one(2, 'string'), denotation: one(3, 'string') },
      },
    },
  },
  OperatorSetIdProto: { fields: { domain: one(1, 'string'), version: one(2, 'int64') } },
  StringStringEntryProto: { fields: { key: one(1, 'string'), value: one(2, 'string') } },
};

let loaded: { protobuf: typeof Protobuf; Model: Protobuf.Type } | undefined;

function protos(): NonNullable<typeof loaded> {
  if (!loaded) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const protobuf = require('protobufjs') as typeof Protobuf;
    const nested = Object.fromEntries(
      Object.entries(messages).map(([n, m]) => [n, { ...m, edition: 'proto2' }]),
    );
    const root = protobuf.Root.fromJSON({ nested: { onnx: { nested } } });
    loaded = { protobuf, Model: root.lookupType('onnx.ModelProto') };
  }
  return loaded;
}

/** An int64 field: a number when encoding; a Long (protobufjs depends on `long`) when decoded. */
export type Int64 = number | { toNumber(): number };

export const int64ToNumber = (v: Int64 | null | undefined): number =>
  v == null ? 0 : typeof v === 'number' ? v : v.toNumber();

// Only the fields the code reads or writes. Decoded messages have every declared field (repeated
// ones as arrays, absent scalars as defaults, absent messages as null), so `?? []` never allocates.
export interface TensorProto {
  dims?: Int64[];
  dataType?: number;
  floatData?: number[];
  int64Data?: Int64[];
  name?: string;
  rawData?: Uint8Array;
}
export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: Int64[];
}
export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  attribute?: AttributeProto[];
}
export interface Dimension {
  dimValue?: Int64;
  dimParam?: string;
  /** Decoded messages only: which member of the oneof is set. */
  readonly value?: 'dimValue' | 'dimParam';
}
export interface ValueInfoProto {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: Dimension[] } | null } | null } | null;
}
export interface GraphProto {
  name?: string;
  node?: NodeProto[];
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
}
export interface OperatorSetIdProto {
  domain?: string;
  version?: Int64;
}
export interface StringStringEntryProto {
  key?: string;
  value?: string;
}
export interface ModelProto {
  irVersion?: Int64;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  opsetImport?: OperatorSetIdProto[];
  metadataProps?: StringStringEntryProto[];
  graph?: GraphProto | null;
}

/** Serializes a model; plain objects are fine (no `create` step needed). */
export function encodeModel(model: ModelProto): Uint8Array {
  return protos().Model.encode(model).finish();
}

/** Decodes a whole model, keeping undeclared fields (protobufjs drops them by default). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const { protobuf, Model } = protos();
  const reader = protobuf.Reader.create(bytes);
  reader.discardUnknown = false;
  return Model.decode(reader) as ModelProto;
}
