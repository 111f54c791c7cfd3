/**
 * Builds the ONNX graph of one Spleeter U-Net (one instrument) from TF-layout weights, exactly as
 * MODEL-FORMATS A5 describes the network. The graph computes in NCHW, where TF's per-segment NHWC
 * [S, T=512, F, 2] becomes [S, 2, T, F]; that is the SCTF file layout, so a CSTF file only adds a
 * Transpose at each end.
 *
 * File contract (compatible with sherpa-onnx's Spleeter files, MODEL-FORMATS B): input `x` float32
 * [2, 'num_splits', T, F] (CSTF) or ['num_splits', 2, T, F] (SCTF), output `y` of the same shape:
 * the estimated magnitude mask × x for `unet`, the head logits for `softmax_unet` (the softmax runs
 * across instrument files, in the loader). metadata_props key `output` says which.
 */
import { ModelError, ErrorCodes, ValidationError } from '../errors';
import type { ModelPrecision } from '../models/model-catalog';
import { SPLEETER_SAMPLE_RATE, SPLEETER_T, type SegmentLayout } from '../spleeter/types';
import {
  BATCH_NORM_EPSILON,
  LEAKY_RELU_ALPHA,
  UNET_DECODER_FILTERS,
  UNET_ENCODER_FILTERS,
  type BatchNormWeights,
  type ConvWeights,
  type UnetActivation,
  type UnetInstrumentWeights,
  type UnetModelSpec,
} from '../spleeter/unet-weights';
import { floatAttr, OnnxGraphBuilder, onnxElementTypeCode } from './onnx-graph-builder';

// Aliased: global lookups are slow inside jest's vm sandbox, and this runs per weight.
const { round, min, max, fround } = Math;

export interface SpleeterUnetBuildOptions {
  layout: SegmentLayout;
  /**
   * fp32; fp16 = every float initializer stored as binary16 and Cast to float32 in the graph (half
   * the file size, float32 compute and I/O); int8 = the 7 Conv layers dynamically quantized to
   * QUInt8 the way onnxruntime's quantize_dynamic does it (ConvTranspose has no integer op and
   * stays float32, as in quantize_dynamic's output); fp16c = float16 compute: the input is Cast to
   * float16 once, every initializer is binary16 and every op runs in float16, the output is Cast back
   * (I/O stays float32). Meant for GPU providers; onnxruntime's CPU provider, lacking float16
   * kernels for most of these ops, runs it through Casts it inserts itself (slower than fp32).
   */
  precision: ModelPrecision;
  /** Declared time size per segment; default 512. Must be a multiple of 64 (6 stride-2 levels). */
  T?: number;
  /** Override spec.F (tests use small F with the real filter counts). Multiple of 64. */
  F?: number;
  /** metadata `model_name`; sherpa writes the checkpoint archive name, e.g. '2stems.tar.gz'. */
  modelName?: string;
  /** Extra metadata_props (e.g. source checkpoint checksum). */
  metadata?: Record<string, string>;
}

/** Down-sampling levels of the encoder: T and F must be divisible by 2^6 for the skips to line up. */
export const UNET_SIZE_MULTIPLE = 64;
export const SPLEETER_INPUT_NAME = 'x';
export const SPLEETER_OUTPUT_NAME = 'y';
export const SPLEETER_BATCH_DIM = 'num_splits';

/** TF Conv2D kernel [kh, kw, in, out] -> ONNX Conv W [out, in, kh, kw]. */
export function tfConvKernelToOnnx(
  kernel: Float32Array,
  shape: readonly [number, number, number, number],
): Float32Array {
  const [kh, kw, cin, cout] = shape;
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++) {
        const src = ((y * kw + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = kernel[src + o];
      }
  return out;
}

/**
 * TF Conv2DTranspose kernel [kh, kw, out, in] -> ONNX ConvTranspose W [in, out, kh, kw]. Both ops
 * are the adjoint of the same forward convolution, so no spatial flip is needed.
 */
export function tfConvTransposeKernelToOnnx(
  kernel: Float32Array,
  shape: readonly [number, number, number, number],
): Float32Array {
  const [kh, kw, cout, cin] = shape;
  const out = new Float32Array(kernel.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let o = 0; o < cout; o++) {
        const src = ((y * kw + x) * cout + o) * cin;
        for (let i = 0; i < cin; i++) out[((i * cout + o) * kh + y) * kw + x] = kernel[src + i];
      }
  return out;
}

/** Expected TF kernel shapes of one instrument's U-Net (A5/A9), for validating checkpoint weights. */
export function expectedUnetShapes(): {
  encoder: [number, number, number, number][];
  decoder: [number, number, number, number][];
  head: [number, number, number, number];
} {
  const encoder = UNET_ENCODER_FILTERS.map(
    (f, l) => [5, 5, l === 0 ? 2 : UNET_ENCODER_FILTERS[l - 1], f] as [number, number, number, number],
  );
  // Decoder l input: conv6 (512) for l = 0, else concat [conv(5-l), d(l-1)] = 2 × filters of d(l-1).
  const decoder = UNET_DECODER_FILTERS.map(
    (f, l) =>
      [5, 5, f, l === 0 ? UNET_ENCODER_FILTERS[5] : 2 * UNET_DECODER_FILTERS[l - 1]] as [
        number,
        number,
        number,
        number,
      ],
  );
  return { encoder, decoder, head: [4, 4, 1, 2] };
}

export function validateUnetWeights(w: UnetInstrumentWeights): void {
  const shapes = expectedUnetShapes();
  const check = (what: string, c: ConvWeights, shape: readonly number[]) => {
    const ok =
      c.kernelShape.every((d, i) => d === shape[i]) && c.kernel.length === shape.reduce((a, b) => a * b, 1);
    if (!ok || c.bias.length !== (what.startsWith('decoder') ? shape[2] : shape[3])) {
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        `${w.instrument} ${what}: kernel [${c.kernelShape.join(',')}] (${c.kernel.length} values), bias ${c.bias.length}; expected kernel [${shape.join(',')}]`,
        { instrument: w.instrument, layer: what },
      );
    }
  };
  const checkBn = (what: string, bn: BatchNormWeights, n: number) => {
    for (const k of ['gamma', 'beta', 'movingMean', 'movingVariance'] as const) {
      if (bn[k].length !== n) {
        throw new ModelError(
          ErrorCodes.MODEL_INVALID,
          `${w.instrument} ${what}.${k}: ${bn[k].length} values, expected ${n}`,
          {
            instrument: w.instrument,
            layer: what,
          },
        );
      }
    }
  };
  if (
    w.encoder.length !== 6 ||
    w.encoderBn.length !== 5 ||
    w.decoder.length !== 6 ||
    w.decoderBn.length !== 6
  ) {
    throw new ModelError(
      ErrorCodes.MODEL_INVALID,
      `${w.instrument}: expected 6 encoder convs, 5 encoder BNs, 6 deconvs, 6 decoder BNs`,
    );
  }
  w.encoder.forEach((c, l) => check(`encoder[${l}]`, c, shapes.encoder[l]));
  w.decoder.forEach((c, l) => check(`decoder[${l}]`, c, shapes.decoder[l]));
  check('head', w.head, shapes.head);
  w.encoderBn.forEach((bn, l) => checkBn(`encoderBn[${l}]`, bn, UNET_ENCODER_FILTERS[l]));
  w.decoderBn.forEach((bn, l) => checkBn(`decoderBn[${l}]`, bn, UNET_DECODER_FILTERS[l]));
}

export function buildSpleeterUnetOnnx(
  spec: UnetModelSpec,
  instrumentIndex: number,
  opts: SpleeterUnetBuildOptions,
): Uint8Array {
  return buildSpleeterUnetGraph(spec, instrumentIndex, opts).serialize();
}

/** Same as buildSpleeterUnetOnnx but returns the builder (tests inspect or extend it). */
export function buildSpleeterUnetGraph(
  spec: UnetModelSpec,
  instrumentIndex: number,
  opts: SpleeterUnetBuildOptions,
): OnnxGraphBuilder {
  const T = opts.T ?? SPLEETER_T;
  const F = opts.F ?? spec.F;
  for (const [k, v] of [
    ['T', T],
    ['F', F],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0 || v % UNET_SIZE_MULTIPLE !== 0) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `U-Net ${k} must be a positive multiple of ${UNET_SIZE_MULTIPLE}, got ${v}`,
      );
    }
  }
  const w = spec.instruments[instrumentIndex];
  if (!w)
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `no instrument #${instrumentIndex} in the spec`);
  validateUnetWeights(w);

  const b = new OnnxGraphBuilder({ graphName: `spleeter_${w.instrument}` });
  const g = new UnetGraph(b, opts.precision);
  const shape = opts.layout === 'CSTF' ? [2, SPLEETER_BATCH_DIM, T, F] : [SPLEETER_BATCH_DIM, 2, T, F];
  b.addInput(SPLEETER_INPUT_NAME, 'float32', shape);
  const fp16Compute = opts.precision === 'fp16c';
  const x = fp16Compute
    ? b.op('Cast', [SPLEETER_INPUT_NAME], { to: onnxElementTypeCode('float16') }, 'x_fp16')
    : SPLEETER_INPUT_NAME;
  const input = opts.layout === 'CSTF' ? b.op('Transpose', [x], { perm: [1, 0, 2, 3] }, 'x_nchw') : x;

  // Encoder: the raw (pre-BN) conv outputs feed the skips; conv6's BN/activation are dead in TF.
  const raw: string[] = [];
  let h = input;
  for (let l = 0; l < 6; l++) {
    const c = g.conv(`enc${l + 1}`, h, w.encoder[l], { strides: [2, 2], pads: [1, 1, 2, 2] });
    raw.push(c);
    if (l < 5) h = g.activation(spec.convActivation, g.batchNorm(`enc${l + 1}_bn`, c, w.encoderBn[l]));
  }

  // Decoder: full transposed conv (2n+3) cropped [1:-2] = TF "same"; then activation, then BN.
  let d = raw[5];
  for (let l = 0; l < 6; l++) {
    const u = g.convTranspose(`dec${l + 1}`, d, w.decoder[l]);
    const cropped = b.op('Slice', [
      u,
      g.ints('crop_start', [1, 1]),
      g.ints('crop_end', [-2, -2]),
      g.ints('crop_axes', [2, 3]),
    ]);
    const bn = g.batchNorm(`dec${l + 1}_bn`, g.activation(spec.deconvActivation, cropped), w.decoderBn[l]);
    d = l < 5 ? b.op('Concat', [raw[4 - l], bn], { axis: 1 }, `merge${l + 1}`) : bn;
  }

  const head = g.conv('head', d, w.head, { dilations: [2, 2], pads: [3, 3, 3, 3] });
  const outNchw =
    spec.architecture === 'unet'
      ? b.op('Mul', [b.op('Sigmoid', [head], {}, 'mask'), input], {}, 'y_nchw')
      : head;
  if (fp16Compute) {
    const out =
      opts.layout === 'CSTF' ? b.op('Transpose', [outNchw], { perm: [1, 0, 2, 3] }, 'y_fp16') : outNchw;
    b.addNode('Cast', [out], [SPLEETER_OUTPUT_NAME], { to: onnxElementTypeCode('float32') });
  } else if (opts.layout === 'CSTF')
    b.addNode('Transpose', [outNchw], [SPLEETER_OUTPUT_NAME], { perm: [1, 0, 2, 3] });
  else b.addNode('Identity', [outNchw], [SPLEETER_OUTPUT_NAME]);
  b.addOutput(SPLEETER_OUTPUT_NAME, 'float32', shape);

  const meta: Record<string, string> = {
    // sherpa-onnx keys (sherpa writes sample_rate "41000", a typo; the audio is 44100 Hz).
    model_type: 'spleeter',
    sample_rate: String(SPLEETER_SAMPLE_RATE),
    version: '1',
    stems: String(spec.instruments.length),
    comment: w.instrument,
    model_name: opts.modelName ?? `${spec.instruments.length}stems`,
    // Ours: everything a loader needs without a manifest.
    architecture: spec.architecture,
    F: String(F),
    T: String(T),
    output: spec.architecture === 'unet' ? 'magnitude' : 'logits',
    conv_activation: spec.convActivation,
    deconv_activation: spec.deconvActivation,
    instruments: spec.instruments.map((i) => i.instrument).join(','),
    instrument: w.instrument,
    layout: opts.layout,
    precision: opts.precision,
    ...opts.metadata,
  };
  for (const [k, v] of Object.entries(meta)) b.setMetadata(k, v);
  return b;
}

/** Emits layers with the precision-specific weight handling. */
class UnetGraph {
  private readonly intConstants = new Map<string, string>();

  constructor(
    private readonly b: OnnxGraphBuilder,
    private readonly precision: ModelPrecision,
  ) {}

  /**
   * Float weights: fp16 storage is cast back to float32 once (onnxruntime constant-folds the Cast);
   * fp16c keeps them float16 (the ops compute in float16).
   */
  floatWeight(name: string, dims: number[], data: Float32Array): string {
    if (this.precision === 'fp16c') return this.b.constant(name, 'float16', dims, data);
    if (this.precision !== 'fp16') return this.b.constant(name, 'float32', dims, data);
    return this.b.op('Cast', [this.b.constant(`${name}_fp16`, 'float16', dims, data)], { to: 1 }, name);
  }

  ints(name: string, values: number[]): string {
    const key = `${name}:${values.join(',')}`;
    let v = this.intConstants.get(key);
    if (!v) {
      v = this.b.constant(name, 'int64', [values.length], values);
      this.intConstants.set(key, v);
    }
    return v;
  }

  conv(
    name: string,
    x: string,
    c: ConvWeights,
    attrs: { strides?: number[]; pads: number[]; dilations?: number[] },
  ): string {
    const [kh, kw, cin, cout] = c.kernelShape;
    const wOnnx = tfConvKernelToOnnx(c.kernel, c.kernelShape);
    const convAttrs = {
      kernel_shape: [kh, kw],
      strides: attrs.strides ?? [1, 1],
      pads: attrs.pads,
      dilations: attrs.dilations ?? [1, 1],
    };
    if (this.precision !== 'int8') {
      const W = this.floatWeight(`${name}_W`, [cout, cin, kh, kw], wOnnx);
      const B = this.floatWeight(`${name}_B`, [cout], c.bias);
      return this.b.op('Conv', [x, W, B], convAttrs, name);
    }
    // quantize_dynamic's Conv pattern: activations quantized per call (uint8, per tensor), weights
    // per tensor to QUInt8; ConvInteger pads with the input zero point, i.e. with real 0.
    const q = quantizeUInt8(wOnnx);
    const W = this.b.constant(`${name}_W_quantized`, 'uint8', [cout, cin, kh, kw], q.values);
    const wScale = this.b.constant(`${name}_W_scale`, 'float32', [], new Float32Array([q.scale]));
    const wZero = this.b.constant(`${name}_W_zero_point`, 'uint8', [], new Uint8Array([q.zeroPoint]));
    const [xq, xScale, xZero] = this.b.opN('DynamicQuantizeLinear', [x], 3, {}, `${name}_x_q`);
    const acc = this.b.op('ConvInteger', [xq, W, xZero, wZero], convAttrs, `${name}_int32`);
    const scale = this.b.op('Mul', [xScale, wScale], {}, `${name}_scale`);
    const deq = this.b.op(
      'Mul',
      [this.b.op('Cast', [acc], { to: 1 }, `${name}_float`), scale],
      {},
      `${name}_deq`,
    );
    const B = this.b.constant(`${name}_B`, 'float32', [cout, 1, 1], c.bias);
    return this.b.op('Add', [deq, B], {}, name);
  }

  /** Transposed conv without padding: output 2n+3 per axis (the caller crops to TF "same"). */
  convTranspose(name: string, x: string, c: ConvWeights): string {
    const [kh, kw, cout, cin] = c.kernelShape;
    const W = this.floatWeight(
      `${name}_W`,
      [cin, cout, kh, kw],
      tfConvTransposeKernelToOnnx(c.kernel, c.kernelShape),
    );
    const B = this.floatWeight(`${name}_B`, [cout], c.bias);
    return this.b.op('ConvTranspose', [x, W, B], { kernel_shape: [kh, kw], strides: [2, 2] }, name);
  }

  batchNorm(name: string, x: string, bn: BatchNormWeights): string {
    const n = bn.gamma.length;
    const inputs = [
      this.floatWeight(`${name}_gamma`, [n], bn.gamma),
      this.floatWeight(`${name}_beta`, [n], bn.beta),
      this.floatWeight(`${name}_mean`, [n], bn.movingMean),
      this.floatWeight(`${name}_var`, [n], bn.movingVariance),
    ];
    return this.b.op('BatchNormalization', [x, ...inputs], { epsilon: floatAttr(BATCH_NORM_EPSILON) }, name);
  }

  activation(kind: UnetActivation, x: string): string {
    switch (kind) {
      case 'leaky_relu':
        return this.b.op('LeakyRelu', [x], { alpha: floatAttr(LEAKY_RELU_ALPHA) });
      case 'relu':
        return this.b.op('Relu', [x]);
      case 'elu':
        return this.b.op('Elu', [x], { alpha: floatAttr(1) });
    }
  }
}

/**
 * Asymmetric per-tensor uint8 quantization as onnxruntime's quantize_dynamic (QUInt8): the range
 * always includes 0 so that 0 is exactly representable.
 */
export function quantizeUInt8(values: Float32Array): {
  values: Uint8Array;
  scale: number;
  zeroPoint: number;
} {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  const scale = hi > lo ? fround((hi - lo) / 255) : 1;
  const zeroPoint = min(255, max(0, round(-lo / scale)));
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = min(255, max(0, round(values[i] / scale) + zeroPoint));
  return { values: out, scale, zeroPoint };
}
