/**
 * A small typed builder for ONNX models over the protobuf messages of ./onnx-protos. It owns naming of
 * intermediate values, initializer encoding (always `raw_data`, little-endian) and model-level
 * fields (IR version, opset, metadata_props). It does no shape inference and no checking of operator
 * semantics: onnxruntime validates the graph when a session is created.
 */
import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './onnx-protos';
import { toFloat16Array } from './float16';

/** Element types the builder can declare and store. Names follow onnxruntime-node's tensor types. */
export type OnnxElementType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8';

/** A declared dimension: a fixed size, or a symbolic name (`dim_param`) such as 'num_splits'. */
export type OnnxDim = number | string;

const ELEMENT_TYPE_CODES: Record<OnnxElementType, number> = {
  float32: DataType.FLOAT,
  float16: DataType.FLOAT16,
  int64: DataType.INT64,
  int32: DataType.INT32,
  uint8: DataType.UINT8,
  int8: DataType.INT8,
};

export function onnxElementTypeCode(type: OnnxElementType): number {
  return ELEMENT_TYPE_CODES[type];
}

export function onnxElementTypeName(code: number): OnnxElementType | undefined {
  for (const [name, c] of Object.entries(ELEMENT_TYPE_CODES)) if (c === code) return name as OnnxElementType;
  return undefined;
}

/**
 * Initializer data. float16 accepts either float32 values (converted, round-to-nearest-even) or raw
 * binary16 bit patterns in a Uint16Array. int64 accepts a BigInt64Array or plain integers.
 */
export type OnnxTensorData =
  Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | number[];

/**
 * Attribute values. Plain numbers are INT and plain number arrays INTS (ONNX rejects an int where a
 * float is expected, e.g. Elu's alpha=1), so floats must be wrapped with `floatAttr`/`floatsAttr`.
 */
export type OnnxAttributeValue =
  | number
  | number[]
  | string
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: OnnxTensorSpec };

export interface OnnxTensorSpec {
  type: OnnxElementType;
  dims: readonly number[];
  data: OnnxTensorData;
}

export const floatAttr = (value: number) => ({ kind: 'float' as const, value });
export const floatsAttr = (value: readonly number[]) => ({ kind: 'floats' as const, value });

export interface OnnxGraphBuilderOptions {
  /** Default opset 17: covered by every onnxruntime since 1.13, and all ops we emit are stable there. */
  opset?: number;
  /** IR version 8 is the lowest that allows opset 17. */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  graphName?: string;
  docString?: string;
}

export const DEFAULT_OPSET = 17;
export const DEFAULT_IR_VERSION = 8;

export class OnnxGraphBuilder {
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly nodes: NodeProto[] = [];
  private readonly metadata = new Map<string, string>();
  private readonly names = new Set<string>();
  /** Names handed out by uniqueName() and not yet bound to an initializer or node output. */
  private readonly pending = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(private readonly options: OnnxGraphBuilderOptions = {}) {}

  get opset(): number {
    return this.options.opset ?? DEFAULT_OPSET;
  }

  addInput(name: string, type: OnnxElementType, shape: readonly OnnxDim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  /** Declares a graph output. `name` must be (or later become) the output of some node. */
  addOutput(name: string, type: OnnxElementType, shape: readonly OnnxDim[]): string {
    this.outputs.push(valueInfo(name, type, shape));
    return name;
  }

  addInitializer(name: string, type: OnnxElementType, dims: readonly number[], data: OnnxTensorData): string {
    this.claim(name);
    this.initializers.push({ ...tensorProto({ type, dims, data }), name });
    return name;
  }

  /** Adds an initializer under a fresh name derived from `hint`. */
  constant(hint: string, type: OnnxElementType, dims: readonly number[], data: OnnxTensorData): string {
    return this.addInitializer(this.uniqueName(hint), type, dims, data);
  }

  /** Adds a node with explicitly named outputs. */
  addNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Record<string, OnnxAttributeValue> = {},
    name?: string,
  ): readonly string[] {
    for (const o of outputs) this.claim(o);
    this.nodes.push({
      opType,
      input: [...inputs],
      output: [...outputs],
      name: name ?? this.uniqueName(opType),
      attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
    });
    return outputs;
  }

  /** Adds a single-output node and returns the generated output name. `''` inputs mean "omitted". */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, OnnxAttributeValue> = {},
    hint?: string,
  ): string {
    const out = this.uniqueName(hint ?? opType.toLowerCase());
    this.addNode(opType, inputs, [out], attributes);
    return out;
  }

  /** Multi-output variant of `op`. */
  opN(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Record<string, OnnxAttributeValue> = {},
    hint?: string,
  ): string[] {
    const base = hint ?? opType.toLowerCase();
    const outs = Array.from({ length: outputCount }, (_, i) => this.uniqueName(`${base}_${i}`));
    this.addNode(opType, inputs, outs, attributes);
    return outs;
  }

  setMetadata(key: string, value: string): this {
    this.metadata.set(key, value);
    return this;
  }

  uniqueName(hint: string): string {
    let n = this.counters.get(hint) ?? 0;
    let candidate = n === 0 ? hint : `${hint}_${n}`;
    while (this.names.has(candidate)) candidate = `${hint}_${++n}`;
    this.counters.set(hint, n + 1);
    this.names.add(candidate);
    this.pending.add(candidate);
    return candidate;
  }

  toModelProto(): ModelProto {
    return {
      irVersion: this.options.irVersion ?? DEFAULT_IR_VERSION,
      producerName: this.options.producerName ?? 'spleeter-server',
      producerVersion: this.options.producerVersion ?? '',
      docString: this.options.docString ?? '',
      opsetImport: [{ domain: '', version: this.opset }],
      metadataProps: [...this.metadata].map(([key, value]) => ({ key, value })),
      graph: {
        name: this.options.graphName ?? 'graph',
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }

  serialize(): Uint8Array {
    return encodeModel(this.toModelProto());
  }

  private claim(name: string): void {
    if (this.pending.delete(name)) return;
    if (this.names.has(name)) throw new Error(`duplicate ONNX value name '${name}'`);
    this.names.add(name);
  }
}

function valueInfo(name: string, type: OnnxElementType, shape: readonly OnnxDim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE_CODES[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function tensorProto(spec: OnnxTensorSpec): TensorProto {
  const count = spec.dims.reduce((a, b) => a * b, 1);
  const raw = rawBytes(spec.type, spec.data);
  const expectedBytes = count * bytesPerElement(spec.type);
  if (raw.byteLength !== expectedBytes) {
    throw new Error(
      `tensor data has ${raw.byteLength} bytes, dims [${spec.dims.join(',')}] of ${spec.type} need ${expectedBytes}`,
    );
  }
  return { dims: [...spec.dims], dataType: ELEMENT_TYPE_CODES[spec.type], rawData: raw };
}

function bytesPerElement(type: OnnxElementType): number {
  switch (type) {
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
      return 2;
    case 'int64':
      return 8;
    case 'uint8':
    case 'int8':
      return 1;
  }
}

/** Little-endian bytes of the data (every platform onnxruntime-node ships for is little-endian). */
function rawBytes(type: OnnxElementType, data: OnnxTensorData): Uint8Array {
  let typed: ArrayBufferView;
  if (Array.isArray(data)) {
    switch (type) {
      case 'float32':
        typed = Float32Array.from(data);
        break;
      case 'float16':
        typed = toFloat16Array(Float32Array.from(data));
        break;
      case 'int64':
        typed = BigInt64Array.from(data, (v) => BigInt(v));
        break;
      case 'int32':
        typed = Int32Array.from(data);
        break;
      case 'uint8':
        typed = Uint8Array.from(data);
        break;
      case 'int8':
        typed = Int8Array.from(data);
        break;
    }
  } else if (type === 'float16' && data instanceof Float32Array) {
    typed = toFloat16Array(data);
  } else {
    typed = data;
  }
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

function attributeProto(name: string, value: OnnxAttributeValue): AttributeProto {
  const T = AttributeType;
  if (typeof value === 'number') {
    if (!Number.isInteger(value))
      throw new Error(`attribute '${name}': non-integer ${value}; wrap floats with floatAttr()`);
    return { name, type: T.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (!value.every(Number.isInteger))
      throw new Error(`attribute '${name}': non-integers; use floatsAttr()`);
    return { name, type: T.INTS, ints: value };
  }
  switch (value.kind) {
    case 'float':
      return { name, type: T.FLOAT, f: value.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...value.value] };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto(value.value) };
  }
}
