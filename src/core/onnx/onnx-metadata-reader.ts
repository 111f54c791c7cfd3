/**
 * Reads what a loader needs to know about an ONNX file before creating a session: metadata_props,
 * opset, and the declared inputs/outputs (element type, dim_value or dim_param per axis).
 * onnxruntime-node does not expose custom metadata, so this walks the protobuf wire format directly.
 * It descends only into ModelProto and GraphProto and skips every other field by its length, so a
 * 40 MB model costs a few hundred small positioned reads, never a full load or decode.
 */
import { open } from 'fs/promises';
import { ModelError, ErrorCodes } from '../errors';
import { OnnxElementType, onnxElementTypeName } from './onnx-graph-builder';
import {
  decodeOperatorSetId,
  decodeStringStringEntry,
  decodeValueInfo,
  int64ToNumber as toNumber,
  type ValueInfoProto,
} from './onnx-protos';

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
      const op = decodeOperatorSetId(await c.bytes(await c.varint()));
      result.opsets[op.domain ?? ''] = toNumber(op.version);
    } else if (field === MODEL_METADATA_PROPS && wire === 2) {
      const kv = decodeStringStringEntry(await c.bytes(await c.varint()));
      result.metadata[kv.key ?? ''] = kv.value ?? '';
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
      const vi = decodeValueInfo(await c.bytes(await c.varint()));
      (field === GRAPH_INPUT ? out.inputs : out.outputs).push(declaration(vi));
    } else {
      if (field === GRAPH_INITIALIZER) out.initializerCount++;
      if (field === GRAPH_NODE) out.nodeCount++;
      await c.skipField(wire);
    }
  }
  if (c.pos !== end) throw new Error('graph field overruns its declared length');
}

function declaration(vi: ValueInfoProto): OnnxValueDeclaration {
  const tensor = vi.type?.tensorType;
  const code = tensor?.elemType ?? 0;
  // `value` is the decoded oneof's getter: which of dim_value / dim_param is set, if either.
  const shape = tensor?.shape
    ? (tensor.shape.dim ?? []).map((d) =>
        d.value === 'dimValue' ? toNumber(d.dimValue) : d.value === 'dimParam' ? (d.dimParam ?? null) : null,
      )
    : null;
  return { name: vi.name ?? '', elementType: onnxElementTypeName(code) ?? `unknown(${code})`, shape };
}

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
