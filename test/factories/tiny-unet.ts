/**
 * A miniature Spleeter U-Net ONNX file for the int8 quantizer's tests: the real layer shapes
 * (5×5 stride-2 Conv with TF padding, 5×5 stride-2 ConvTranspose cropped [1:-2], skip Concat,
 * dilated 4×4 head, sigmoid mask × input), the real file contract (x/y CSTF, spleeter metadata),
 * but 2 levels and a handful of channels, so it builds and runs in milliseconds.
 */
import { floatAttr, OnnxGraphBuilder } from '../../src/core/onnx/onnx-graph-builder';
import { mulberry32 } from '../../src/core/onnx/test-weights';

export interface TinyUnetOptions {
  instrument?: string;
  instruments?: readonly string[];
  /** Multiples of 4 (two stride-2 levels). Default 16 × 32. */
  T?: number;
  F?: number;
  seed?: number;
  /** metadata_props to add or override (e.g. model_type, precision). */
  metadata?: Record<string, string>;
}

export function buildTinyUnetOnnx(o: TinyUnetOptions = {}): Uint8Array {
  const T = o.T ?? 16;
  const F = o.F ?? 32;
  const instruments = o.instruments ?? ['vocals', 'accompaniment'];
  const instrument = o.instrument ?? instruments[0];
  const rand = mulberry32(o.seed ?? 7);
  const weights = (n: number, fanIn: number) =>
    Float32Array.from({ length: n }, () => (2 * rand() - 1) * Math.sqrt(6 / fanIn));
  const b = new OnnxGraphBuilder({ graphName: `tiny_unet_${instrument}` });
  const conv = (x: string, cin: number, cout: number, attrs: Record<string, number[]>, k = 5) =>
    b.op(
      'Conv',
      [
        x,
        b.constant('W', 'float32', [cout, cin, k, k], weights(cout * cin * k * k, cin * k * k)),
        b.constant('B', 'float32', [cout], weights(cout, 4)),
      ],
      { kernel_shape: [k, k], ...attrs },
    );
  const deconv = (x: string, cin: number, cout: number) => {
    const u = b.op(
      'ConvTranspose',
      [
        x,
        b.constant('W', 'float32', [cin, cout, 5, 5], weights(cin * cout * 25, cin * 25)),
        b.constant('B', 'float32', [cout], weights(cout, 4)),
      ],
      { kernel_shape: [5, 5], strides: [2, 2] },
    );
    const ints = (v: number[]) => b.constant('crop', 'int64', [2], v);
    return b.op('Relu', [b.op('Slice', [u, ints([1, 1]), ints([-2, -2]), ints([2, 3])])]);
  };

  b.addInput('x', 'float32', [2, 'num_splits', T, F]);
  const x = b.op('Transpose', ['x'], { perm: [1, 0, 2, 3] });
  const down = { strides: [2, 2], pads: [1, 1, 2, 2] };
  const c1 = conv(x, 2, 8, down);
  const c2 = conv(b.op('LeakyRelu', [c1], { alpha: floatAttr(0.2) }), 8, 16, down);
  const d1 = deconv(c2, 16, 8);
  const d2 = deconv(b.op('Concat', [c1, d1], { axis: 1 }), 16, 1);
  const head = conv(d2, 1, 2, { dilations: [2, 2], pads: [3, 3, 3, 3] }, 4);
  const y = b.op('Mul', [b.op('Sigmoid', [head]), x]);
  b.addNode('Transpose', [y], ['y'], { perm: [1, 0, 2, 3] });
  b.addOutput('y', 'float32', [2, 'num_splits', T, F]);
  const meta: Record<string, string> = {
    model_type: 'spleeter',
    architecture: 'unet',
    output: 'magnitude',
    layout: 'CSTF',
    precision: 'fp32',
    F: String(F),
    T: String(T),
    instrument,
    comment: instrument,
    instruments: instruments.join(','),
    ...o.metadata,
  };
  for (const [k, v] of Object.entries(meta)) b.setMetadata(k, v);
  return b.serialize();
}

/** A model directory's files (name → bytes): one tiny U-Net per instrument and spleeter.json. */
export function tinyUnetModelFiles(o: { T?: number; F?: number } = {}): Map<string, Uint8Array> {
  const instruments = ['vocals', 'accompaniment'];
  const T = o.T ?? 512;
  const F = o.F ?? 1024;
  const files = new Map<string, Uint8Array>();
  instruments.forEach((instrument, i) =>
    files.set(`${instrument}.onnx`, buildTinyUnetOnnx({ instrument, instruments, T, F, seed: 11 + i })),
  );
  const manifest = {
    format: 'spleeter-onnx',
    version: 1,
    name: 'tiny-unet-2stems',
    architecture: 'unet',
    instruments,
    F,
    T,
  };
  files.set('spleeter.json', new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  return files;
}
