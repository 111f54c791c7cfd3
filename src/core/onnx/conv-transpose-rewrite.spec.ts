import * as ort from 'onnxruntime-node';
import { mulberry32 } from './test-weights';
import { OnnxGraphBuilder, type OnnxAttributeValue } from './onnx-graph-builder';
import { decodeModel, encodeModel, type ModelProto } from './onnx-protos';
import { rewriteConvTransposes } from './conv-transpose-rewrite';

interface Case {
  cin: number;
  cout: number;
  kernel: [number, number];
  input: [number, number];
  attrs: Record<string, OnnxAttributeValue>;
  bias?: boolean;
  opset?: number;
  /** The weight as a graph input instead of an initializer. */
  weightAsInput?: boolean;
  /** Values already named as the rewrite would name its own (node 'deconv'). */
  clash?: boolean;
}

function build(c: Case, seed = 1): ModelProto {
  const rand = mulberry32(seed);
  const values = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
  const b = new OnnxGraphBuilder({ opset: c.opset });
  b.addInput('x', 'float32', [1, c.cin, ...c.input]);
  const w = c.weightAsInput
    ? b.addInput('w', 'float32', [c.cin, c.cout, ...c.kernel])
    : b.constant(
        'w',
        'float32',
        [c.cin, c.cout, ...c.kernel],
        values(c.cin * c.cout * c.kernel[0] * c.kernel[1]),
      );
  const inputs = ['x', w];
  if (c.bias !== false) inputs.push(b.constant('b', 'float32', [c.cout], values(c.cout)));
  // The ConvTranspose feeds another node and the graph output, as in the U-Net.
  b.addNode('ConvTranspose', inputs, ['t'], { kernel_shape: c.kernel, ...c.attrs }, 'deconv');
  if (c.clash) {
    b.addNode('Relu', ['t'], ['deconv_phase0']);
    b.addNode('Identity', ['deconv_phase0'], ['deconv_interleaved']);
    b.addNode('Identity', ['deconv_interleaved'], ['y']);
  } else b.addNode('Relu', ['t'], ['y']);
  b.addOutput('y', 'float32', [1, c.cout, 'h', 'w']);
  return b.toModelProto();
}

async function run(model: ModelProto, c: Case, seed = 2): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: 'all' });
  try {
    const rand = mulberry32(seed);
    const n = c.cin * c.input[0] * c.input[1];
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor(
        'float32',
        Float32Array.from({ length: n }, () => rand() * 2 - 1),
        [1, c.cin, ...c.input],
      ),
    };
    if (c.weightAsInput) {
      const m = c.cin * c.cout * c.kernel[0] * c.kernel[1];
      feeds.w = new ort.Tensor(
        'float32',
        Float32Array.from({ length: m }, () => rand() - 0.5),
        [c.cin, c.cout, ...c.kernel],
      );
    }
    return (await session.run(feeds)).y;
  } finally {
    await session.release();
  }
}

/** Rewrites a copy (through encode/decode, as the runtime does) and checks it against the original. */
async function expectSameMap(c: Case): Promise<ModelProto> {
  const original = build(c);
  const rewritten = decodeModel(encodeModel(original));
  expect(rewriteConvTransposes(rewritten)).toEqual({ rewritten: 1, skipped: 0 });
  const [a, b] = await Promise.all([run(original, c), run(rewritten, c)]);
  expect(b.dims).toEqual(a.dims);
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
    maxAbs = Math.max(maxAbs, Math.abs(x[i]));
  }
  expect(maxAbs).toBeGreaterThan(0.5);
  // Same products, summed in another order: float32 rounding only.
  expect(maxDiff).toBeLessThan(1e-5 * Math.max(1, maxAbs) * Math.sqrt(c.cin * c.kernel[0] * c.kernel[1]));
  return rewritten;
}

describe(rewriteConvTransposes.name, () => {
  it("computes the U-Net decoder's map (5×5, stride 2, no pads) with Convs, DepthToSpace and a Slice", async () => {
    const model = await expectSameMap({
      cin: 8,
      cout: 16,
      kernel: [5, 5],
      input: [6, 9],
      attrs: { strides: [2, 2] },
    });
    const ops = model.graph!.node!.map((n) => n.opType);
    expect(ops).toEqual(['Conv', 'Conv', 'Conv', 'Conv', 'Concat', 'DepthToSpace', 'Slice', 'Relu']);
    // The ConvTranspose's weight is gone; each phase carries only its own taps (3×3, 3×2, 2×3, 2×2).
    const names = model.graph!.initializer!.map((t) => t.name);
    expect(names).not.toContain('w');
    const phaseDims = model.graph!.node!.slice(0, 4).map((n) => {
      const w = model.graph!.initializer!.find((t) => t.name === n.input![1])!;
      return w.dims!.map(Number);
    });
    expect(phaseDims).toEqual([
      [16, 8, 3, 3],
      [16, 8, 3, 2],
      [16, 8, 2, 3],
      [16, 8, 2, 2],
    ]);
  });

  it('honours pads, output_padding, other kernels and strides, and a missing bias', async () => {
    await expectSameMap({
      cin: 4,
      cout: 16,
      kernel: [5, 5],
      input: [7, 5],
      attrs: { strides: [2, 2], pads: [2, 1, 1, 2], output_padding: [1, 0] },
    });
    await expectSameMap({
      cin: 3,
      cout: 16,
      kernel: [4, 3],
      input: [5, 6],
      attrs: { strides: [2, 2] },
      bias: false,
    });
    await expectSameMap({
      cin: 2,
      cout: 16,
      kernel: [3, 5],
      input: [4, 4],
      attrs: { strides: [3, 3], pads: [1, 2, 0, 0] },
    });
    // Values the graph already names as the rewrite would name its own keep their names.
    await expectSameMap({
      cin: 4,
      cout: 16,
      kernel: [5, 5],
      input: [5, 6],
      attrs: { strides: [2, 2] },
      clash: true,
    });
    // Kernel = stride: every phase is a 1×1 Conv and nothing is cropped.
    const model = await expectSameMap({
      cin: 5,
      cout: 16,
      kernel: [2, 2],
      input: [3, 4],
      attrs: { strides: [2, 2] },
    });
    expect(model.graph!.node!.map((n) => n.opType)).not.toContain('Slice');
  });

  it('leaves alone what it does not cover', () => {
    const cases: Case[] = [
      { cin: 4, cout: 1, kernel: [5, 5], input: [4, 4], attrs: { strides: [2, 2] } }, // few output channels
      { cin: 4, cout: 16, kernel: [5, 5], input: [4, 4], attrs: { strides: [1, 1] } }, // stride 1
      { cin: 4, cout: 16, kernel: [5, 5], input: [4, 4], attrs: { strides: [2, 1] } }, // unequal strides
      { cin: 4, cout: 16, kernel: [3, 3], input: [4, 4], attrs: { strides: [2, 2], dilations: [2, 2] } },
      { cin: 4, cout: 16, kernel: [3, 3], input: [4, 4], attrs: { strides: [2, 2], group: 2 } },
      { cin: 4, cout: 16, kernel: [3, 3], input: [4, 4], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' } },
      { cin: 4, cout: 16, kernel: [3, 3], input: [4, 4], attrs: { strides: [2, 2], output_shape: [8, 8] } },
      // An even kernel with output_padding ends past the interleaved plane.
      { cin: 4, cout: 16, kernel: [4, 4], input: [4, 4], attrs: { strides: [2, 2], output_padding: [1, 1] } },
      { cin: 4, cout: 16, kernel: [3, 3], input: [4, 4], attrs: { strides: [2, 2] }, weightAsInput: true },
      { cin: 4, cout: 16, kernel: [3, 3], input: [4, 4], attrs: { strides: [2, 2] }, opset: 10 },
    ];
    for (const c of cases) {
      const model = build(c);
      const before = encodeModel(model);
      expect(rewriteConvTransposes(model)).toEqual({ rewritten: 0, skipped: 1 });
      expect(encodeModel(model)).toEqual(before);
    }
  });
});
