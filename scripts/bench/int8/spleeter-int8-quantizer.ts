/**
 * Quantizes an fp32 Spleeter U-Net ONNX file (as this project writes it, spleeter-unet.ts) to int8;
 * pure, bytes in → bytes out (decoded and re-encoded by src/core/onnx/onnx-protos). Activations are
 * quantized per call (DynamicQuantizeLinear, uint8, so no calibration data); weights are uint8, per
 * tensor (asymmetric, as onnxruntime's quantize_dynamic and `precision: int8` test models) or per
 * output channel (symmetric: codes q + 128, one zero point 128, one scale per channel).
 *
 * - Every Conv with constant weights (and at least MIN_INPUT_CHANNELS inputs) becomes DynamicQuantizeLinear → ConvInteger → Cast → Mul
 *   (x_scale · w_scale) → Add (bias). Everything else stays float32.
 * - With `deconv`, every ConvTranspose (5×5, stride 2, unpadded) whose only consumer is the
 *   TF-"same" crop Slice [1:-2] also becomes an integer conv, in polyphase form: the four output
 *   parities are four correlations of the input, packed as one 3×3 conv with 4·C_out channels and
 *   interleaved by DepthToSpace(DCR). onnxruntime has no integer ConvTranspose, and the decoder holds
 *   about 60% of the U-Net's multiply-adds, so without this no more than ~40% of the work is int8.
 *
 * Measured on the 2-core AVX2 build machine (no VNNI; scripts/bench/bench-int8.ts): onnxruntime's
 * u8·u8 ConvInteger does about as many multiply-adds per second as its fp32 Conv, so neither mode is
 * faster than fp32 there (≈1.0×). Tried and dropped: int8 weights (s8 ConvInteger: 2× slower than
 * fp32, no MLAS fast path), static QLinearConv (slower, needs calibration), four exact phase convs
 * instead of the packed 3×3 one (slower: four small ops).
 */
import { ErrorCodes, ModelError } from '../../../src/core/errors';
import {
  AttributeType as AT,
  DataType as DT,
  decodeModel,
  encodeModel,
  int64ToNumber as num,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from '../../../src/core/onnx/onnx-protos';
import { quantizeUInt8 } from '../../../src/core/onnx/spleeter-unet';

// Aliased: global lookups are slow inside jest's vm sandbox, and these run per weight.
const { round, abs, max, min } = Math;

export interface SpleeterInt8Options {
  /** One weight scale per output channel instead of one per tensor. Default false. */
  perChannel?: boolean;
  /** Also quantize the decoder's transposed convolutions (polyphase form). Default false. */
  deconv?: boolean;
}

export interface SpleeterInt8Result {
  bytes: Uint8Array;
  /** Conv layers made integer. */
  convs: number;
  /** ConvTranspose layers made integer (0 without `deconv`). */
  deconvs: number;
}

/** Zero point of the symmetric per-channel weight codes (uint8 128 = real 0). */
export const PER_CHANNEL_WEIGHT_ZERO_POINT = 128;

/**
 * Convs with fewer input channels stay float32: in the U-Net that is the first one (the raw
 * magnitude spectrogram, whose range one uint8 scale covers badly; keeping it float gave +2 dB of
 * stem SNR on the real clip) and the head (1 channel); together under 2% of the multiply-adds.
 */
export const MIN_INPUT_CHANNELS = 8;
/** DepthToSpace's DCR mode and every op used here are stable from opset 13. */
const MIN_OPSET = 13;

function invalid(message: string): ModelError {
  return new ModelError(ErrorCodes.MODEL_INVALID, message);
}

/** Checks that this is an fp32 Spleeter U-Net, rewrites its convolutions, re-encodes it. */
export function quantizeSpleeterUnetInt8(
  modelBytes: Uint8Array,
  options: SpleeterInt8Options = {},
): SpleeterInt8Result {
  let model: ModelProto;
  try {
    model = decodeModel(modelBytes);
  } catch (err) {
    throw invalid(`not an ONNX model: ${(err as Error).message}`);
  }
  const graph = model.graph;
  if (!graph?.node?.length) throw invalid('not an ONNX model: no graph');
  const meta = new Map((model.metadataProps ?? []).map((p) => [p.key, p.value]));
  if (meta.get('model_type') !== 'spleeter') {
    throw invalid(`not a Spleeter model: metadata model_type is '${meta.get('model_type') ?? '(none)'}'`);
  }
  const precision = meta.get('precision') ?? 'fp32';
  if (precision !== 'fp32') throw invalid(`expected an fp32 model, this one is ${precision}`);
  const opset = num((model.opsetImport ?? []).find((o) => (o.domain ?? '') === '')?.version);
  if (opset < MIN_OPSET) throw invalid(`opset ${opset} is below ${MIN_OPSET}`);
  const quantized = graph.node.find((n) => /Integer|QLinear|QuantizeLinear/.test(n.opType ?? ''));
  if (quantized) throw invalid(`already quantized (${quantized.opType})`);
  for (const v of [...(graph.input ?? []), ...(graph.output ?? [])]) {
    const t = v.type?.tensorType;
    if (t?.elemType !== DT.FLOAT || t.shape?.dim?.length !== 4) {
      throw invalid(`'${v.name}' is not a rank-4 float32 tensor: not a Spleeter U-Net`);
    }
  }

  const rewriter = new Rewriter(graph, {
    perChannel: options.perChannel ?? false,
    deconv: options.deconv ?? false,
  });
  const counts = rewriter.run();
  if (counts.convs === 0) throw invalid('no Conv with constant weights: not a Spleeter U-Net');

  const kept = (model.metadataProps ?? []).filter((p) => p.key !== 'precision' && p.key !== 'quantization');
  model.metadataProps = [
    ...kept,
    { key: 'precision', value: 'int8' },
    {
      key: 'quantization',
      value: `dynamic uint8 activations; uint8 weights ${options.perChannel ? 'per channel' : 'per tensor'}; ConvTranspose ${options.deconv ? 'int8 (polyphase)' : 'float32'}`,
    },
  ];
  return { bytes: encodeModel(model), ...counts };
}

class Rewriter {
  private readonly inits = new Map<string, TensorProto>();
  private readonly consumers = new Map<string, NodeProto[]>();
  private readonly graphOutputs: Set<string>;
  private readonly names = new Set<string>();
  private readonly added: TensorProto[] = [];
  private readonly dynamicQuant = new Map<string, string[]>();

  constructor(
    private readonly graph: GraphProto,
    private readonly options: Required<SpleeterInt8Options>,
  ) {
    for (const t of graph.initializer ?? []) {
      this.inits.set(t.name ?? '', t);
      this.names.add(t.name ?? '');
    }
    for (const n of graph.node ?? []) {
      for (const i of n.input ?? []) {
        const list = this.consumers.get(i) ?? [];
        list.push(n);
        this.consumers.set(i, list);
      }
      for (const name of [...(n.input ?? []), ...(n.output ?? [])]) this.names.add(name);
    }
    this.graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  }

  run(): { convs: number; deconvs: number } {
    const out: NodeProto[] = [];
    const replaced = new Set<NodeProto>();
    let convs = 0;
    let deconvs = 0;
    for (const node of this.graph.node ?? []) {
      if (replaced.has(node)) continue;
      let nodes: NodeProto[] | null = null;
      if (node.opType === 'Conv') {
        nodes = this.conv(node);
        if (nodes) convs++;
      } else if (node.opType === 'ConvTranspose' && this.options.deconv) {
        const crop = this.cropOf(node);
        nodes = crop && this.deconv(node, crop);
        if (nodes && crop) {
          replaced.add(crop);
          deconvs++;
        }
      }
      out.push(...(nodes ?? [node]));
    }
    this.graph.node = out;
    const used = new Set(out.flatMap((n) => n.input ?? []));
    this.graph.initializer = [...(this.graph.initializer ?? []), ...this.added].filter((t) =>
      used.has(t.name ?? ''),
    );
    return { convs, deconvs };
  }

  /** Conv → integer conv; null (left as is) unless a plain conv with constant float weights. */
  private conv(node: NodeProto): NodeProto[] | null {
    const [x, wName, bName] = node.input ?? [];
    const w = this.floatInit(wName);
    if (!w || w.dims.length !== 4 || num(attr(node, 'group')?.i ?? 1) !== 1) return null;
    const bias = bName ? this.floatInit(bName) : null;
    if (bName && !bias) return null;
    const [cout, cin, kh, kw] = w.dims;
    if (cin < MIN_INPUT_CHANNELS) return null;
    const attrs = (node.attribute ?? []).filter((a) => a.name !== 'group');
    if (!attrs.some((a) => a.name === 'kernel_shape')) attrs.push(intsAttr('kernel_shape', [kh, kw]));
    const name = node.name || 'conv';
    return this.integerConv(name, x, w.data, [cout, cin, kh, kw], attrs, bias?.data, node.output?.[0] ?? '');
  }

  /** The Slice [1:-2] on axes 2,3 that is this ConvTranspose's only consumer, if it is. */
  private cropOf(node: NodeProto): NodeProto | null {
    const y = node.output?.[0];
    if (!y || this.graphOutputs.has(y)) return null;
    const users = this.consumers.get(y) ?? [];
    if (users.length !== 1 || users[0].opType !== 'Slice') return null;
    const [, starts, ends, axes, steps] = users[0].input ?? [];
    const is = (name: string | undefined, expected: number[]) => {
      const v = name ? this.intInit(name) : null;
      return !!v && v.join() === expected.join();
    };
    if (!is(starts, [1, 1]) || !is(ends, [-2, -2]) || !is(axes, [2, 3])) return null;
    if (steps && !is(steps, [1, 1])) return null;
    return users[0];
  }

  /** ConvTranspose 5×5/2 + crop → polyphase integer conv; null when the layer is another shape. */
  private deconv(node: NodeProto, crop: NodeProto): NodeProto[] | null {
    const [x, wName, bName] = node.input ?? [];
    const w = this.floatInit(wName);
    if (!w || w.dims.length !== 4 || w.dims[2] !== 5 || w.dims[3] !== 5) return null;
    const bias = bName ? this.floatInit(bName) : null;
    if (bName && !bias) return null;
    for (const a of node.attribute ?? []) {
      const v = a.ints?.length ? a.ints.map(num) : [num(a.i)];
      const ok =
        (a.name === 'kernel_shape' && v.join() === '5,5') ||
        (a.name === 'strides' && v.join() === '2,2') ||
        (a.name === 'group' && v[0] === 1) ||
        (['dilations', 'pads', 'output_padding'].includes(a.name ?? '') &&
          v.every((d) => d === (a.name === 'dilations' ? 1 : 0)));
      if (!ok) return null;
    }
    const [cin, cout] = w.dims;
    const name = node.name || 'deconv';
    const y = crop.output?.[0] ?? '';
    const packed = this.fresh(`${name}_phases`);
    const interleaved = bias ? this.fresh(`${name}_interleaved`) : y;
    const nodes = this.integerConv(
      name,
      x,
      polyphaseKernel(w.data, cin, cout),
      [4 * cout, cin, 3, 3],
      [intsAttr('kernel_shape', [3, 3]), intsAttr('pads', [1, 1, 1, 1])],
      undefined,
      packed,
    );
    nodes.push({
      opType: 'DepthToSpace',
      name: `${name}_interleave`,
      input: [packed],
      output: [interleaved],
      attribute: [
        { name: 'blocksize', type: AT.INT, i: 2 },
        { name: 'mode', type: AT.STRING, s: new TextEncoder().encode('DCR') },
      ],
    });
    if (bias) {
      const b = this.constant(`${name}_B`, DT.FLOAT, [cout, 1, 1], bias.data);
      nodes.push(node_('Add', `${name}_bias`, [interleaved, b], [y]));
    }
    return nodes;
  }

  /** x → DynamicQuantizeLinear → ConvInteger → Cast → × (x_scale · w_scale) [→ + bias] → output. */
  private integerConv(
    name: string,
    x: string,
    weights: Float32Array,
    dims: [number, number, number, number],
    attrs: AttributeProto[],
    bias: Float32Array | undefined,
    output: string,
  ): NodeProto[] {
    const nodes: NodeProto[] = [];
    let xq = this.dynamicQuant.get(x);
    if (!xq) {
      xq = [this.fresh(`${x}_quantized`), this.fresh(`${x}_scale`), this.fresh(`${x}_zero_point`)];
      nodes.push(node_('DynamicQuantizeLinear', `${name}_x_quantize`, [x], xq));
      this.dynamicQuant.set(x, xq);
    }
    const q = quantizeWeightsUInt8(weights, dims[0], this.options.perChannel);
    const wq = this.constant(`${name}_W_quantized`, DT.UINT8, dims, q.codes);
    const wZero = this.constant(`${name}_W_zero_point`, DT.UINT8, [], new Uint8Array([q.zeroPoint]));
    const wScale = this.constant(
      `${name}_W_scale`,
      DT.FLOAT,
      q.scales.length > 1 ? [q.scales.length, 1, 1] : [],
      q.scales,
    );
    const acc = this.fresh(`${name}_int32`);
    const accF = this.fresh(`${name}_float`);
    const scale = this.fresh(`${name}_scale`);
    const deq = bias ? this.fresh(`${name}_dequantized`) : output;
    nodes.push(
      node_('ConvInteger', `${name}_integer`, [xq[0], wq, xq[2], wZero], [acc], attrs),
      node_('Cast', `${name}_cast`, [acc], [accF], [{ name: 'to', type: AT.INT, i: DT.FLOAT }]),
      node_('Mul', `${name}_scales`, [xq[1], wScale], [scale]),
      node_('Mul', `${name}_dequantize`, [accF, scale], [deq]),
    );
    if (bias) {
      const b = this.constant(`${name}_B`, DT.FLOAT, [bias.length, 1, 1], bias);
      nodes.push(node_('Add', `${name}_bias`, [deq, b], [output]));
    }
    return nodes;
  }

  private floatInit(name: string | undefined): { data: Float32Array; dims: number[] } | null {
    const t = name ? this.inits.get(name) : undefined;
    if (!t || t.dataType !== DT.FLOAT) return null;
    const dims = (t.dims ?? []).map(num);
    const count = dims.reduce((a, b) => a * b, 1);
    if (t.rawData?.length) {
      if (t.rawData.length !== count * 4) return null;
      const data = new Float32Array(count);
      new Uint8Array(data.buffer).set(t.rawData);
      return { data, dims };
    }
    return t.floatData?.length === count ? { data: Float32Array.from(t.floatData), dims } : null;
  }

  private intInit(name: string): number[] | null {
    const t = this.inits.get(name);
    if (!t || t.dataType !== DT.INT64) return null;
    if (t.rawData?.length) {
      const copy = new Uint8Array(t.rawData);
      return Array.from(new BigInt64Array(copy.buffer, 0, copy.length >> 3), Number);
    }
    return (t.int64Data ?? []).map(num);
  }

  private constant(hint: string, dataType: number, dims: number[], data: ArrayBufferView): string {
    const name = this.fresh(hint);
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.added.push({ name, dims, dataType, rawData });
    return name;
  }

  private fresh(hint: string): string {
    let name = hint;
    for (let i = 1; this.names.has(name); i++) name = `${hint}_${i}`;
    this.names.add(name);
    return name;
  }
}

function node_(
  opType: string,
  name: string,
  input: string[],
  output: string[],
  attribute: AttributeProto[] = [],
): NodeProto {
  return { opType, name, input, output, attribute };
}

function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

function intsAttr(name: string, ints: number[]): AttributeProto {
  return { name, type: AT.INTS, ints };
}

/**
 * ConvTranspose W [cin, cout, 5, 5] (stride 2, output cropped [1:-2]) as a 3×3 correlation kernel
 * [4·cout, cin, 3, 3] with pads 1. Output pixel 2m+p (after the crop) sums input m+u-1 with tap
 * (taps[p][u]) of the transposed kernel: parity 0 taps (3, 1, –), parity 1 taps (4, 2, 0) per axis.
 * Block (py, px) holds channels (2·py + px)·cout … (DCR order of DepthToSpace).
 */
export function polyphaseKernel(w: Float32Array, cin: number, cout: number): Float32Array {
  const taps = [
    [3, 1, -1],
    [4, 2, 0],
  ];
  const out = new Float32Array(4 * cout * cin * 9);
  for (let py = 0; py < 2; py++)
    for (let px = 0; px < 2; px++)
      for (let o = 0; o < cout; o++)
        for (let i = 0; i < cin; i++) {
          const dst = (((py * 2 + px) * cout + o) * cin + i) * 9;
          const src = (i * cout + o) * 25;
          for (let u = 0; u < 3; u++) {
            const ky = taps[py][u];
            for (let v = 0; v < 3 && ky >= 0; v++) {
              const kx = taps[px][v];
              if (kx >= 0) out[dst + u * 3 + v] = w[src + ky * 5 + kx];
            }
          }
        }
  return out;
}

/**
 * uint8 weight codes for ConvInteger. Per tensor: asymmetric, range including 0 (quantize_dynamic).
 * Per channel (first axis): symmetric, code = round(w / scale_c) + 128 with scale_c = max|w_c| / 127,
 * so that one zero point serves every channel (onnxruntime's ConvInteger takes a scalar one).
 */
export function quantizeWeightsUInt8(
  w: Float32Array,
  channels: number,
  perChannel: boolean,
): { codes: Uint8Array; scales: Float32Array; zeroPoint: number } {
  if (!perChannel) {
    const q = quantizeUInt8(w);
    return { codes: q.values, scales: new Float32Array([q.scale]), zeroPoint: q.zeroPoint };
  }
  const per = w.length / channels;
  const scales = new Float32Array(channels);
  const codes = new Uint8Array(w.length);
  const zero = PER_CHANNEL_WEIGHT_ZERO_POINT;
  for (let c = 0; c < channels; c++) {
    let m = 0;
    for (let i = c * per; i < (c + 1) * per; i++) m = max(m, abs(w[i]));
    scales[c] = m > 0 ? m / 127 : 1;
    const inv = 1 / scales[c];
    for (let i = c * per; i < (c + 1) * per; i++) codes[i] = zero + max(-127, min(127, round(w[i] * inv)));
  }
  return { codes, scales, zeroPoint: zero };
}
