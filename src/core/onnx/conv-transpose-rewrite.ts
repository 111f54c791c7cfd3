/**
 * Rewrites strided ConvTranspose nodes as the same map in the form onnxruntime's CPU provider runs
 * fastest: one ordinary Conv per node (its NCHWc kernels), then DepthToSpace and a Slice.
 *
 * Why: onnxruntime runs ConvTranspose on the CPU as a GEMM followed by col2im, a scatter-add over
 * the whole output. On the Spleeter U-Net's decoder that costs 60 % of a model call, and the
 * layer with few channels over a large plane (64 → 16 channels, 128 × 256 → 259 × 515) runs at
 * a quarter of the speed per multiply-add of the encoder's Convs (`scripts/bench/bench-deconv.ts`).
 *
 * The identity (sub-pixel decomposition), per spatial axis with stride s and kernel length K:
 * the full (unpadded) output is y[o] = Σ_i x[i]·w[o − s·i]. Writing o = s·m + r (0 ≤ r < s) and
 * j = m − i gives y[s·m + r] = Σ_{j=0}^{J−1} x[m − j]·w[s·j + r], J = ⌈K / s⌉ (taps past K are
 * zero): for each phase r an ordinary convolution of x with the kernel k_r[t] = w[s·(J−1−t) + r]
 * and J−1 zeros of padding on both sides (output length H + J − 1). The s² phases of both axes
 * are the output channels of one Conv, (r_h·s + r_w)·C_out + c, which DepthToSpace (DCR)
 * interleaves into the s·(H + J − 1) plane; the Slice then drops what the ConvTranspose's pads
 * drop at the start and the samples past its output length at the end. The bias is added once to
 * every output sample, as ConvTranspose does.
 *
 * Same multiply-adds per output sample as ConvTranspose, summed in a different order: outputs agree
 * to float32 rounding, not bit for bit. Only nodes whose form is covered are rewritten (float32
 * weights and bias held as initializers, group 1, dilations 1, equal strides ≥ 2 on both axes,
 * explicit pads, no output_shape); everything else is left as it was.
 */
import {
  AttributeType,
  DataType,
  int64ToNumber,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from './onnx-protos';

/** DepthToSpace's `mode` attribute needs opset 11; Slice's tensor inputs opset 10. */
const MIN_OPSET = 11;
const MIN_OUTPUT_CHANNELS = 16;

export interface ConvTransposeRewriteResult {
  /** ConvTranspose nodes replaced. */
  rewritten: number;
  /** ConvTranspose nodes left as they were (a form the rewrite does not cover). */
  skipped: number;
}

/**
 * Replaces, in place, every covered ConvTranspose of the model's main graph (see the file comment).
 * Node outputs keep their names, so the rest of the graph and the model's outputs are unchanged.
 */
export function rewriteConvTransposes(model: ModelProto): ConvTransposeRewriteResult {
  const graph = model.graph;
  const result = { rewritten: 0, skipped: 0 };
  if (!graph?.node) return result;
  const opset = (model.opsetImport ?? [])
    .filter((o) => !o.domain || o.domain === 'ai.onnx')
    .reduce((v, o) => Math.max(v, int64ToNumber(o.version)), 0);
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  // Initializers also declared as graph inputs can be overridden at run time: not constant weights.
  for (const input of graph.input ?? []) initializers.delete(input.name ?? '');
  const uses = new Map<string, number>();
  for (const n of graph.node) for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  // Every value name in the graph, so that the values added here get names of their own.
  const taken = new Set<string>([
    ...uses.keys(),
    ...graph.node.flatMap((n) => n.output ?? []),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...[...(graph.input ?? []), ...(graph.output ?? [])].map((v) => v.name ?? ''),
  ]);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };

  const nodes: NodeProto[] = [];
  for (const node of graph.node) {
    if (node.opType !== 'ConvTranspose') {
      nodes.push(node);
      continue;
    }
    const plan = opset >= MIN_OPSET ? planRewrite(node, initializers) : null;
    if (!plan) {
      result.skipped++;
      nodes.push(node);
      continue;
    }
    result.rewritten++;
    const name = node.name || node.output![0];
    const add = (t: TensorProto) => {
      graph.initializer!.push(t);
      initializers.set(t.name!, t);
    };
    // One Conv per phase, each with only its own taps, concatenated in DepthToSpace's channel order.
    const phaseOutputs = plan.phases.map((ph, q) => {
      const out = fresh(`${name}_phase${q}`);
      const wName = fresh(`${out}_W`);
      add(floatTensor(wName, [plan.cout, plan.cin, ph.th, ph.tw], ph.weights));
      const inputs = [node.input![0], wName];
      if (plan.bias) {
        const bName = fresh(`${out}_B`);
        add(floatTensor(bName, [plan.cout], plan.bias));
        inputs.push(bName);
      }
      nodes.push({
        name: out,
        opType: 'Conv',
        input: inputs,
        output: [out],
        attribute: [
          ints('kernel_shape', [ph.th, ph.tw]),
          ints('pads', [ph.th - 1, ph.tw - 1, plan.jh - 1, plan.jw - 1]),
          ints('strides', [1, 1]),
        ],
      });
      return out;
    });
    const conv = fresh(`${name}_phases`);
    nodes.push({
      name: conv,
      opType: 'Concat',
      input: phaseOutputs,
      output: [conv],
      attribute: [int('axis', 1)],
    });
    const out = node.output![0];
    const d2s = plan.slice ? fresh(`${name}_interleaved`) : out;
    nodes.push({
      name: `${name}_interleave`,
      opType: 'DepthToSpace',
      input: [conv],
      output: [d2s],
      attribute: [int('blocksize', plan.s), str('mode', 'DCR')],
    });
    if (plan.slice) {
      const [starts, ends, axes] = ['starts', 'ends', 'axes'].map((n) => fresh(`${name}_crop_${n}`));
      add(int64Tensor(starts, plan.slice.starts));
      add(int64Tensor(ends, plan.slice.ends));
      add(int64Tensor(axes, [2, 3]));
      nodes.push({ name: `${name}_crop`, opType: 'Slice', input: [d2s, starts, ends, axes], output: [out] });
    }
    // The original weights stay when something else reads them; otherwise they are dropped.
    for (const i of node.input!.slice(1)) {
      const left = (uses.get(i) ?? 0) - 1;
      uses.set(i, left);
      if (left === 0 && initializers.has(i)) {
        initializers.delete(i);
        graph.initializer = graph.initializer!.filter((t) => t.name !== i);
      }
    }
  }
  graph.node = nodes;
  return result;
}

interface RewritePlan {
  s: number;
  cin: number;
  cout: number;
  jh: number;
  jw: number;
  /** Per phase (r_h·s + r_w): its taps per axis and its kernel [cout, cin, th, tw]. */
  phases: { th: number; tw: number; weights: Float32Array }[];
  bias: Float32Array | null;
  /** Crop of the interleaved plane on axes 2 and 3; null when it is the output exactly. */
  slice: { starts: number[]; ends: number[] } | null;
}

function planRewrite(node: NodeProto, initializers: Map<string, TensorProto>): RewritePlan | null {
  const inputs = node.input ?? [];
  if (inputs.length < 2 || (node.output ?? []).length !== 1) return null;
  const attrs = new Map((node.attribute ?? []).map((a) => [a.name ?? '', a]));
  for (const name of attrs.keys())
    if (
      !['kernel_shape', 'strides', 'pads', 'dilations', 'group', 'output_padding', 'auto_pad'].includes(name)
    )
      return null;
  const autoPad = attrs.get('auto_pad')?.s;
  if (autoPad && autoPad.length > 0 && new TextDecoder().decode(autoPad) !== 'NOTSET') return null;
  if (attrs.has('group') && int64ToNumber(attrs.get('group')!.i) !== 1) return null;

  const W = initializers.get(inputs[1]);
  const wValues = W ? floatValues(W) : null;
  const dims = (W?.dims ?? []).map(int64ToNumber);
  if (!wValues || dims.length !== 4) return null;
  const [cin, cout, kh, kw] = dims;
  // onnxruntime's NCHWc Convs compute output channels in blocks of 8 or 16: with fewer, most of
  // each block is wasted and the four phase Convs cost more than the ConvTranspose (the U-Net's
  // last 32 → 1 layer: 3.9 ms → 20.6 ms).
  if (cout < MIN_OUTPUT_CHANNELS) return null;
  let bias: Float32Array | null = null;
  if (inputs.length > 2 && inputs[2] !== '') {
    const B = initializers.get(inputs[2]);
    const b = B ? floatValues(B) : null;
    if (!b || b.length !== cout) return null;
    bias = b;
  }
  const list = (name: string, fallback: number[]) =>
    attrs.has(name) ? (attrs.get(name)!.ints ?? []).map(int64ToNumber) : fallback;
  const kernel = list('kernel_shape', [kh, kw]);
  const strides = list('strides', [1, 1]);
  const dilations = list('dilations', [1, 1]);
  const pads = list('pads', [0, 0, 0, 0]);
  const outputPadding = list('output_padding', [0, 0]);
  if (kernel[0] !== kh || kernel[1] !== kw || dilations.some((d) => d !== 1)) return null;
  const s = strides[0];
  if (strides.length !== 2 || strides[1] !== s || s < 2) return null;
  if (pads.length !== 4 || pads.some((p) => p < 0) || outputPadding.length !== 2) return null;

  const jh = Math.ceil(kh / s);
  const jw = Math.ceil(kw / s);
  // Samples past the output at the end of each axis: the interleaved plane is s·(H + J − 1) long,
  // the ConvTranspose's output ends at s·(H − 1) + K − pad_end + output_padding.
  const endExcess = [s * jh - kh + pads[2] - outputPadding[0], s * jw - kw + pads[3] - outputPadding[1]];
  if (endExcess.some((e) => e < 0)) return null;

  // Phase (rh, rw) has ⌈(K − r) / s⌉ taps per axis; its kernel index t reads w[s·(T − 1 − t) + r].
  const phases: RewritePlan['phases'] = [];
  for (let rh = 0; rh < s; rh++)
    for (let rw = 0; rw < s; rw++) {
      const th = Math.ceil((kh - rh) / s);
      const tw = Math.ceil((kw - rw) / s);
      const weights = new Float32Array(cout * cin * th * tw);
      for (let c = 0; c < cout; c++)
        for (let ci = 0; ci < cin; ci++)
          for (let t = 0; t < th; t++)
            for (let u = 0; u < tw; u++)
              weights[((c * cin + ci) * th + t) * tw + u] =
                wValues[((ci * cout + c) * kh + s * (th - 1 - t) + rh) * kw + s * (tw - 1 - u) + rw];
      phases.push({ th, tw, weights });
    }
  const crop = pads[0] > 0 || pads[1] > 0 || endExcess[0] > 0 || endExcess[1] > 0;
  const END = Number.MAX_SAFE_INTEGER;
  return {
    s,
    cin,
    cout,
    jh,
    jw,
    phases,
    bias,
    slice: crop ? { starts: [pads[0], pads[1]], ends: endExcess.map((e) => (e > 0 ? -e : END)) } : null,
  };
}

function floatValues(t: TensorProto): Float32Array | null {
  if (t.dataType !== DataType.FLOAT) return null;
  const count = (t.dims ?? []).map(int64ToNumber).reduce((a, b) => a * b, 1);
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * 4) return null;
    const copy = new Uint8Array(t.rawData); // aligned copy; little-endian as ONNX stores it
    return new Float32Array(copy.buffer, 0, count);
  }
  if (t.floatData && t.floatData.length === count) return Float32Array.from(t.floatData);
  return null;
}

function floatTensor(name: string, dims: number[], values: Float32Array): TensorProto {
  const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, dims, dataType: DataType.FLOAT, rawData: raw };
}

function int64Tensor(name: string, values: number[]): TensorProto {
  return { name, dims: [values.length], dataType: DataType.INT64, int64Data: values };
}

const ints = (name: string, values: number[]): AttributeProto => ({
  name,
  type: AttributeType.INTS,
  ints: values,
});
const int = (name: string, value: number): AttributeProto => ({ name, type: AttributeType.INT, i: value });
const str = (name: string, value: string): AttributeProto => ({
  name,
  type: AttributeType.STRING,
  s: new TextEncoder().encode(value),
});
