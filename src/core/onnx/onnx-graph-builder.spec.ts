import * as ort from 'onnxruntime-node';
import { floatAttr, OnnxGraphBuilder } from './onnx-graph-builder';
import { DataType, decodeModel } from './onnx-protos';

describe(OnnxGraphBuilder.name, () => {
  /**
   * y = Slice(Elu(x) · Cast(k16) + Cast(u8), starts/ends from int64 initializers): exercises each
   * initializer type, a float attribute and a symbolic dimension in one model.
   */
  function buildModel(): Uint8Array {
    const sut = new OnnxGraphBuilder({ graphName: 'test' });
    sut.addInput('x', 'float32', ['batch', 4]);
    const k16 = sut.op('Cast', [sut.constant('k', 'float16', [4], new Float32Array([0.5, 1, 2, 65504]))], {
      to: 1,
    });
    const u8 = sut.op('Cast', [sut.constant('u', 'uint8', [4], new Uint8Array([0, 1, 255, 7]))], { to: 1 });
    const e = sut.op('Elu', ['x'], { alpha: floatAttr(0.5) });
    const sum = sut.op('Add', [sut.op('Mul', [e, k16]), u8]);
    const starts = sut.constant('starts', 'int64', [1], new BigInt64Array([1n]));
    const ends = sut.constant('ends', 'int64', [1], [4]);
    const axes = sut.constant('axes', 'int64', [1], [1]);
    sut.addNode('Slice', [sum, starts, ends, axes], ['y']);
    sut.addOutput('y', 'float32', ['batch', 3]);
    sut.setMetadata('model_type', 'test').setMetadata('comment', 'hello');
    return sut.serialize();
  }

  it('produces a model onnxruntime loads and runs with the intended values', async () => {
    const session = await ort.InferenceSession.create(buildModel());
    try {
      expect(session.inputMetadata[0]).toMatchObject({ name: 'x', type: 'float32', shape: ['batch', 4] });
      const x = new Float32Array([-1, 1, 2, 3, 0, -2, 0.5, 1]);
      const y = (await session.run({ x: new ort.Tensor('float32', x, [2, 4]) })).y;
      expect(y.dims).toEqual([2, 3]);
      const elu = (v: number) => (v >= 0 ? v : 0.5 * Math.expm1(v));
      const k = [0.5, 1, 2, 65504];
      const u = [0, 1, 255, 7];
      const expected = [0, 1].flatMap((r) => [1, 2, 3].map((c) => elu(x[r * 4 + c]) * k[c] + u[c]));
      Array.from(y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 3));
    } finally {
      await session.release();
    }
  });

  it('writes opset 17, IR 8, metadata_props and raw little-endian initializers', () => {
    const model = decodeModel(buildModel());
    expect(Number(model.irVersion)).toBe(8);
    expect(model.opsetImport!.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    expect(model.metadataProps!.map((p) => [p.key, p.value])).toEqual([
      ['model_type', 'test'],
      ['comment', 'hello'],
    ]);
    const k = model.graph!.initializer!.find((t) => t.name === 'k')!;
    expect(k.dataType).toBe(DataType.FLOAT16);
    expect(Array.from(new Uint16Array(Uint8Array.from(k.rawData!).buffer))).toEqual([
      0x3800, 0x3c00, 0x4000, 0x7bff,
    ]);
    const ends = model.graph!.initializer!.find((t) => t.name === 'ends')!;
    expect(new BigInt64Array(Uint8Array.from(ends.rawData!).buffer)[0]).toBe(4n);
  });

  it('generates unique value names and rejects duplicates', () => {
    const sut = new OnnxGraphBuilder();
    sut.addInput('x', 'float32', [1]);
    const a = sut.op('Relu', ['x']);
    const b = sut.op('Relu', [a]);
    expect(a).not.toBe(b);
    expect(() => sut.addInput('x', 'float32', [1])).toThrow(/duplicate/);
    expect(() => sut.addNode('Relu', ['x'], [a])).toThrow(/duplicate/);
  });

  it('rejects non-integer plain attributes and data of the wrong size', () => {
    const sut = new OnnxGraphBuilder();
    expect(() => sut.op('Elu', ['x'], { alpha: 0.5 })).toThrow(/floatAttr/);
    expect(() => sut.constant('w', 'float32', [2, 2], new Float32Array(3))).toThrow(/bytes/);
  });
});
