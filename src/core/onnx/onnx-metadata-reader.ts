/**
 * Reads what a loader needs to know about an ONNX file before creating a session: metadata_props,
 * opset, and the declared inputs/outputs (element type, dim_value or dim_param per axis).
 * onnxruntime-node does not expose custom metadata, so this walks the protobuf wire format directly.
 * It descends only into ModelProto and GraphProto and skips every other field by its length, so a
 * 40 MB model costs a few hundred small positioned reads, never a full load or decode. The few
 * small messages it reads (opsets, metadata entries, input/output declarations) are decoded here
 * too, so opening a model for a separation loads no protobuf library.
 */
import { open } from 'fs/promises';
import { ModelError, ErrorCodes } from '../errors';
import { OnnxElementType, onnxElementTypeName } from './onnx-graph-builder';

export interface OnnxValueDeclaration {
  name: string;
  /** Element type name, or `unknown(<code>)` for types this project never uses. */
  elementType: OnnxElementType | `unknown(${number})`;
  /** Declared shape: number (dim_value), string (dim_param) or null (neither). null when no shape. */
  shape: (number | string | null)[] | null;
}

export interface OnnxModelMetadata {
  irVersion: number;
  producerName: string;
  /** Opset per domain ('' = ai.onnx). */
  opsets: Record<string, number>;
  metadata: Record<string, string>;
  inputs: OnnxValueDeclaration[];
  outputs: OnnxValueDeclaration[];
  /** Initializer count (a cheap sanity signal; their contents are never read). */
  initializerCount: number;
  nodeCount: number;
}

/** Random-access bytes; the file variant reads through a small window. */
interface ByteSource {
  readonly size: number;
  read(position: number, length: number): Promise<Uint8Array>;
}

const WINDOW = 64 * 1024;

class Cursor {
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;
  pos = 0;

  constructor(private readonly src: ByteSource) {}

  private async ensure(n: number): Promise<void> {
    const end = this.pos + n;
    if (end > this.src.size)
      throw new Error(`truncated protobuf: need byte ${end}, file has ${this.src.size}`);
    if (this.pos >= this.windowStart && end <= this.windowStart + this.window.length) return;
    this.windowStart = this.pos;
    this.window = await this.src.read(this.pos, Math.min(Math.max(n, WINDOW), this.src.size - this.pos));
  }

  async varint(): Promise<number> {
    await this.ensure(Math.min(10, this.src.size - this.pos));
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.src.size) throw new Error('truncated varint');
      const b = this.window[this.pos - this.windowStart];
      this.pos++;
      // Arithmetic instead of bit ops: lengths/ints here can exceed 2^31 but stay below 2^53.
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Error('malformed varint');
  }

  async bytes(n: number): Promise<Uint8Array> {
    await this.ensure(n);
    const off = this.pos - this.windowStart;
    this.pos += n;
    return this.window.slice(off, off + n);
  }

  skip(n: number): void {
    if (this.pos + n > this.src.size) throw new Error('truncated protobuf field');
    this.pos += n;
  }

  async skipField(wireType: number): Promise<void> {
    switch (wireType) {
      case 0:
        await this.varint();
        return;
      case 1:
        this.skip(8);
        return;
      case 2:
        this.skip(await this.varint());
        return;
      case 5:
        this.skip(4);
        return;
      default:
        throw new Error(`unsupported protobuf wire type ${wireType} at byte ${this.pos}`);
    }
  }
}

// Field numbers from onnx.proto.
const MODEL_IR_VERSION = 1;
const MODEL_PRODUCER_NAME = 2;
const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const MODEL_METADATA_PROPS = 14;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;

async function parse(src: ByteSource): Promise<OnnxModelMetadata> {
  const c = new Cursor(src);
  const result: OnnxModelMetadata = {
    irVersion: 0,
    producerName: '',
    opsets: {},
    metadata: {},
    inputs: [],
    outputs: [],
    initializerCount: 0,
    nodeCount: 0,
  };
  let sawGraph = false;
  while (c.pos < src.size) {
    const tag = await c.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === MODEL_IR_VERSION && wire === 0) {
      result.irVersion = await c.varint();
    } else if (field === MODEL_PRODUCER_NAME && wire === 2) {
      result.producerName = new TextDecoder().decode(await c.bytes(await c.varint()));
    } else if (field === MODEL_OPSET_IMPORT && wire === 2) {
      // OperatorSetIdProto: domain 1, version 2.
      const op = fields(await c.bytes(await c.varint()));
      result.opsets[text(op.get(1))] = int(op.get(2));
    } else if (field === MODEL_METADATA_PROPS && wire === 2) {
      // StringStringEntryProto: key 1, value 2.
      const kv = fields(await c.bytes(await c.varint()));
      result.metadata[text(kv.get(1))] = text(kv.get(2));
    } else if (field === MODEL_GRAPH && wire === 2) {
      const len = await c.varint();
      await parseGraph(c, c.pos + len, result);
      sawGraph = true;
    } else {
      await c.skipField(wire);
    }
  }
  if (c.pos !== src.size) throw new Error('trailing bytes after the last protobuf field');
  if (!sawGraph) throw new Error('no graph in the model');
  return result;
}

async function parseGraph(c: Cursor, end: number, out: OnnxModelMetadata): Promise<void> {
  while (c.pos < end) {
    const tag = await c.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if ((field === GRAPH_INPUT || field === GRAPH_OUTPUT) && wire === 2) {
      const vi = await c.bytes(await c.varint());
      (field === GRAPH_INPUT ? out.inputs : out.outputs).push(declaration(vi));
    } else {
      if (field === GRAPH_INITIALIZER) out.initializerCount++;
      if (field === GRAPH_NODE) out.nodeCount++;
      await c.skipField(wire);
    }
  }
  if (c.pos !== end) throw new Error('graph field overruns its declared length');
}

/**
 * ValueInfoProto (name 1, type 2) → TypeProto (tensor_type 1) → Tensor (elem_type 1, shape 2) →
 * TensorShapeProto (dim 1, repeated) → Dimension (dim_value 1 or dim_param 2, a oneof: the last
 * one on the wire wins).
 */
function declaration(bytes: Uint8Array): OnnxValueDeclaration {
  const vi = fields(bytes);
  const tensorBytes = last(fields(last(vi.get(2))).get(1));
  const tensor = tensorBytes instanceof Uint8Array ? fields(tensorBytes) : null;
  const code = tensor ? int(tensor.get(1)) : 0;
  const shapeBytes = last(tensor?.get(2));
  const shape =
    shapeBytes instanceof Uint8Array
      ? (fields(shapeBytes).get(1) ?? []).map((d) => {
          let value: number | string | null = null;
          for (const [field, v] of fieldList(d as Uint8Array)) {
            if (field === 1 && typeof v === 'number') value = v;
            else if (field === 2 && v instanceof Uint8Array) value = utf8.decode(v);
          }
          return value;
        })
      : null;
  return { name: text(vi.get(1)), elementType: onnxElementTypeName(code) ?? `unknown(${code})`, shape };
}

type FieldValue = number | Uint8Array;
const utf8 = new TextDecoder();

/** The varint (as a signed int64 number) and length-delimited fields of a small message, in wire order. */
function fieldList(bytes: Uint8Array): [number, FieldValue][] {
  const out: [number, FieldValue][] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= bytes.length) throw new Error('truncated varint');
      const b = bytes[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return Number(BigInt.asIntN(64, result)); // int64: -1 is 10 bytes
    }
    throw new Error('malformed varint');
  };
  while (pos < bytes.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) out.push([Math.floor(tag / 8), varint()]);
    else if (wire === 2) {
      const n = varint();
      if (pos + n > bytes.length) throw new Error('truncated protobuf field');
      out.push([Math.floor(tag / 8), bytes.subarray(pos, pos + n)]);
      pos += n;
    } else if (wire === 1 || wire === 5) pos += wire === 1 ? 8 : 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  if (pos !== bytes.length) throw new Error('truncated protobuf field');
  return out;
}

function fields(bytes: Uint8Array | FieldValue | undefined): Map<number, FieldValue[]> {
  const map = new Map<number, FieldValue[]>();
  if (!(bytes instanceof Uint8Array)) return map;
  for (const [field, v] of fieldList(bytes)) map.set(field, [...(map.get(field) ?? []), v]);
  return map;
}

const last = (values: FieldValue[] | undefined): FieldValue | undefined => values?.[values.length - 1];
const text = (values: FieldValue[] | undefined): string => {
  const v = last(values);
  return v instanceof Uint8Array ? utf8.decode(v) : '';
};
const int = (values: FieldValue[] | undefined): number => {
  const v = last(values);
  return typeof v === 'number' ? v : 0;
};

/** Parses metadata from in-memory model bytes. Throws a plain Error on malformed input. */
export function parseOnnxMetadata(bytes: Uint8Array): Promise<OnnxModelMetadata> {
  return parse({
    size: bytes.length,
    read: (position, length) => Promise.resolve(bytes.subarray(position, position + length)),
  });
}

/**
 * Reads metadata from a model file. Throws ModelError MODEL_NOT_INSTALLED when the file is missing
 * and MODEL_INVALID (naming the file) when it is not a well-formed ONNX protobuf.
 */
export async function readOnnxMetadata(path: string): Promise<OnnxModelMetadata> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(
      code === 'ENOENT' ? ErrorCodes.MODEL_NOT_INSTALLED : ErrorCodes.MODEL_LOAD_FAILED,
      `cannot open ONNX model ${path}: ${(err as Error).message}`,
      { path },
      { cause: err },
    );
  }
  try {
    const { size } = await handle.stat();
    const fh = handle;
    return await parse({
      size,
      read: async (position, length) => {
        const buf = new Uint8Array(length);
        const { bytesRead } = await fh.read(buf, 0, length, position);
        if (bytesRead !== length) throw new Error(`short read at byte ${position}`);
        return buf;
      },
    });
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError(
      ErrorCodes.MODEL_INVALID,
      `not a valid ONNX model: ${path} (${(err as Error).message})`,
      { path },
      { cause: err },
    );
  } finally {
    await handle.close();
  }
}
