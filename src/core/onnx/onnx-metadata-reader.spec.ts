import { mkdtemp, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import { join } from 'path';
import { ErrorCodes } from '../errors';
import { OnnxGraphBuilder } from './onnx-graph-builder';
import { encodeModel } from './onnx-protos';
import { parseOnnxMetadata, readOnnxMetadata } from './onnx-metadata-reader';

describe('readOnnxMetadata', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-meta-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** x [2, num_splits, 512, F] -> y, with a big initializer placed before the inputs in the graph. */
  function model(F: number, bigFloats: number): Uint8Array {
    const b = new OnnxGraphBuilder();
    const w = b.constant('w', 'float32', [bigFloats], new Float32Array(bigFloats));
    b.addInput('x', 'float32', [2, 'num_splits', 512, F]);
    b.addNode('Add', ['x', b.op('ReduceSum', [w], { keepdims: 0 })], ['y']);
    b.addOutput('y', 'float32', [2, 'num_splits', 512, F]);
    b.setMetadata('model_type', 'spleeter').setMetadata('comment', 'vocals').setMetadata('stems', '2');
    return b.serialize();
  }

  it('returns metadata_props, opset and declared shapes with dim_value and dim_param', async () => {
    const meta = await parseOnnxMetadata(model(1024, 4));
    expect(meta.metadata).toEqual({ model_type: 'spleeter', comment: 'vocals', stems: '2' });
    expect(meta.opsets).toEqual({ '': 17 });
    expect(meta.irVersion).toBe(8);
    expect(meta.inputs).toEqual([{ name: 'x', elementType: 'float32', shape: [2, 'num_splits', 512, 1024] }]);
    expect(meta.outputs).toEqual([
      { name: 'y', elementType: 'float32', shape: [2, 'num_splits', 512, 1024] },
    ]);
    expect(meta.initializerCount).toBe(1);
    expect(meta.nodeCount).toBe(2);
  });

  it('decodes opsets per domain, -1 dims (10-byte varints), an unknown element type and a missing shape', async () => {
    const b = new OnnxGraphBuilder({ opset: 13 });
    b.addInput('x', 'int64', [-1, 3]);
    b.addNode('Identity', ['x'], ['y']);
    b.addOutput('y', 'int64', [-1, 3]);
    const model = encodeModel({
      ...b.toModelProto(),
      opsetImport: [
        { domain: '', version: 13 },
        { domain: 'com.microsoft', version: 1 },
      ],
    });
    const graph = b.toModelProto().graph!;
    // A double (code 11) output without a shape: the type is reported as unknown, the shape as null.
    graph.output = [{ name: 'z', type: { tensorType: { elemType: 11 } } }];
    const noShape = encodeModel({ ...b.toModelProto(), graph });
    const meta = await parseOnnxMetadata(model);
    expect(meta.opsets).toEqual({ '': 13, 'com.microsoft': 1 });
    expect(meta.inputs).toEqual([{ name: 'x', elementType: 'int64', shape: [-1, 3] }]);
    expect((await parseOnnxMetadata(noShape)).outputs).toEqual([
      { name: 'z', elementType: 'unknown(11)', shape: null },
    ]);
  });

  it('reads a 40 MB file with a few small reads instead of loading it', async () => {
    const path = join(dir, 'big.onnx');
    const bytes = model(1536, 10_000_000);
    expect(bytes.length).toBeGreaterThan(40_000_000);
    await writeFile(path, bytes);
    const heapBefore = process.memoryUsage().arrayBuffers;
    const meta = await readOnnxMetadata(path);
    expect(meta.inputs[0].shape).toEqual([2, 'num_splits', 512, 1536]);
    expect(meta.metadata.comment).toBe('vocals');
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(8_000_000);
  });

  it('fails with MODEL_NOT_INSTALLED for a missing file', async () => {
    await expect(readOnnxMetadata(join(dir, 'nope.onnx'))).rejects.toMatchObject({
      code: ErrorCodes.MODEL_NOT_INSTALLED,
    });
  });

  it('fails with MODEL_INVALID naming the file for truncated or non-protobuf data', async () => {
    const truncated = join(dir, 'truncated.onnx');
    const full = model(1024, 1000);
    await writeFile(truncated, full.subarray(0, full.length - 100));
    await expect(readOnnxMetadata(truncated)).rejects.toMatchObject({
      code: ErrorCodes.MODEL_INVALID,
      message: expect.stringContaining(truncated),
    });
    const text = join(dir, 'text.onnx');
    await writeFile(text, '<html>not found</html>');
    await expect(readOnnxMetadata(text)).rejects.toMatchObject({ code: ErrorCodes.MODEL_INVALID });
  });
});
