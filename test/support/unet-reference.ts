/**
 * Naive reference forward pass of Spleeter's U-Net with TensorFlow/Keras layer semantics (NHWC,
 * "same" padding from TF's own formula, Conv2DTranspose as the adjoint of a strided conv, Keras
 * BatchNormalization with moving statistics), written independently of the ONNX graph so that tests
 * of the graph builder and of the TF-checkpoint converter have something to compare against.
 * Float64 accumulation; deliberately simple loops; use small T/F (multiples of 64).
 */
import {
  BATCH_NORM_EPSILON,
  LEAKY_RELU_ALPHA,
  type BatchNormWeights,
  type ConvWeights,
  type UnetActivation,
  type UnetInstrumentWeights,
  type UnetModelSpec,
} from '../../src/core/spleeter/unet-weights';

// Module-level aliases: inside jest's vm sandbox every global lookup (Math…) costs ~0.2 µs.
const { ceil, floor, max, sqrt, exp, expm1 } = Math;

/** A single image in NHWC without the batch axis: data[(y * W + x) * C + c]. */
export interface HwcTensor {
  data: Float32Array;
  H: number;
  W: number;
  C: number;
}

/** TF "same": out = ceil(in / stride), total padding split with the smaller half before. */
function samePadding(
  inSize: number,
  k: number,
  stride: number,
  dilation: number,
): { out: number; before: number } {
  const out = ceil(inSize / stride);
  const total = max((out - 1) * stride + (k - 1) * dilation + 1 - inSize, 0);
  return { out, before: floor(total / 2) };
}

/** tf.keras Conv2D(padding='same'); kernel [kh, kw, in, out]. */
export function conv2dSame(x: HwcTensor, w: ConvWeights, stride = 1, dilation = 1): HwcTensor {
  const [kh, kw, cin, cout] = w.kernelShape;
  if (cin !== x.C) throw new Error(`conv2dSame: input has ${x.C} channels, kernel expects ${cin}`);
  const ph = samePadding(x.H, kh, stride, dilation);
  const pw = samePadding(x.W, kw, stride, dilation);
  const out = new Float32Array(ph.out * pw.out * cout);
  const acc = new Float64Array(cout);
  for (let oy = 0; oy < ph.out; oy++) {
    for (let ox = 0; ox < pw.out; ox++) {
      for (let co = 0; co < cout; co++) acc[co] = w.bias[co];
      for (let ky = 0; ky < kh; ky++) {
        const iy = oy * stride + ky * dilation - ph.before;
        if (iy < 0 || iy >= x.H) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ix = ox * stride + kx * dilation - pw.before;
          if (ix < 0 || ix >= x.W) continue;
          const xBase = (iy * x.W + ix) * cin;
          for (let ci = 0; ci < cin; ci++) {
            const xv = x.data[xBase + ci];
            if (xv === 0) continue;
            const kBase = ((ky * kw + kx) * cin + ci) * cout;
            for (let co = 0; co < cout; co++) acc[co] += xv * w.kernel[kBase + co];
          }
        }
      }
      const oBase = (oy * pw.out + ox) * cout;
      for (let co = 0; co < cout; co++) out[oBase + co] = acc[co];
    }
  }
  return { data: out, H: ph.out, W: pw.out, C: cout };
}

/**
 * tf.keras Conv2DTranspose(padding='same'); kernel [kh, kw, out, in]. Output = in × stride; it is
 * the adjoint of a "same" strided conv from that output size, whence the padding offset.
 */
export function conv2dTransposeSame(x: HwcTensor, w: ConvWeights, stride = 2): HwcTensor {
  const [kh, kw, cout, cin] = w.kernelShape;
  if (cin !== x.C) throw new Error(`conv2dTransposeSame: input has ${x.C} channels, kernel expects ${cin}`);
  const Ho = x.H * stride;
  const Wo = x.W * stride;
  const padTop = floor(max((x.H - 1) * stride + kh - Ho, 0) / 2);
  const padLeft = floor(max((x.W - 1) * stride + kw - Wo, 0) / 2);
  const acc = new Float64Array(Ho * Wo * cout);
  for (let iy = 0; iy < x.H; iy++) {
    for (let ix = 0; ix < x.W; ix++) {
      const xBase = (iy * x.W + ix) * cin;
      for (let ky = 0; ky < kh; ky++) {
        const oy = iy * stride + ky - padTop;
        if (oy < 0 || oy >= Ho) continue;
        for (let kx = 0; kx < kw; kx++) {
          const ox = ix * stride + kx - padLeft;
          if (ox < 0 || ox >= Wo) continue;
          const oBase = (oy * Wo + ox) * cout;
          for (let co = 0; co < cout; co++) {
            const kBase = ((ky * kw + kx) * cout + co) * cin;
            let s = 0;
            for (let ci = 0; ci < cin; ci++) s += x.data[xBase + ci] * w.kernel[kBase + ci];
            acc[oBase + co] += s;
          }
        }
      }
    }
  }
  const out = new Float32Array(acc.length);
  for (let i = 0; i < acc.length; i++) out[i] = acc[i] + w.bias[i % cout];
  return { data: out, H: Ho, W: Wo, C: cout };
}

/** Keras BatchNormalization at inference (moving statistics), eps 1e-3. */
export function batchNormInference(x: HwcTensor, bn: BatchNormWeights, eps = BATCH_NORM_EPSILON): HwcTensor {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = i % x.C;
    out[i] = ((x.data[i] - bn.movingMean[c]) / sqrt(bn.movingVariance[c] + eps)) * bn.gamma[c] + bn.beta[c];
  }
  return { ...x, data: out };
}

export function applyActivation(x: HwcTensor, kind: UnetActivation): HwcTensor {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i];
    out[i] = v >= 0 ? v : kind === 'relu' ? 0 : kind === 'leaky_relu' ? LEAKY_RELU_ALPHA * v : expm1(v);
  }
  return { ...x, data: out };
}

/** Channel concatenation [a, b] (Keras Concatenate(axis=-1)). */
export function concatChannels(a: HwcTensor, b: HwcTensor): HwcTensor {
  if (a.H !== b.H || a.W !== b.W) throw new Error(`concat: ${a.H}x${a.W} vs ${b.H}x${b.W}`);
  const C = a.C + b.C;
  const out = new Float32Array(a.H * a.W * C);
  for (let p = 0; p < a.H * a.W; p++) {
    out.set(a.data.subarray(p * a.C, (p + 1) * a.C), p * C);
    out.set(b.data.subarray(p * b.C, (p + 1) * b.C), p * C + a.C);
  }
  return { data: out, H: a.H, W: a.W, C };
}

/**
 * Spleeter's apply_unet for one segment: returns the head output before its sigmoid (the logits),
 * [T, F, 2].
 */
export function referenceUnetLogits(
  input: HwcTensor,
  w: UnetInstrumentWeights,
  convActivation: UnetActivation,
  deconvActivation: UnetActivation,
): HwcTensor {
  const convs: HwcTensor[] = [];
  let h = input;
  for (let l = 0; l < 6; l++) {
    const c = conv2dSame(h, w.encoder[l], 2);
    convs.push(c);
    if (l < 5) h = applyActivation(batchNormInference(c, w.encoderBn[l]), convActivation);
  }
  let d = convs[5];
  for (let l = 0; l < 6; l++) {
    const u = batchNormInference(
      applyActivation(conv2dTransposeSame(d, w.decoder[l], 2), deconvActivation),
      w.decoderBn[l],
    );
    d = l < 5 ? concatChannels(convs[4 - l], u) : u;
  }
  return conv2dSame(d, w.head, 1, 2);
}

/**
 * Whole-model reference for one segment: per instrument the estimated magnitude, [T, F, 2] each.
 * unet: sigmoid(logits) × input; softmax_unet: softmax of the logits across instruments × input.
 */
export function referenceSpleeterSegment(spec: UnetModelSpec, input: HwcTensor): HwcTensor[] {
  const logits = spec.instruments.map((w) =>
    referenceUnetLogits(input, w, spec.convActivation, spec.deconvActivation),
  );
  const n = logits.length;
  const outs = logits.map(() => new Float32Array(input.data.length));
  for (let i = 0; i < input.data.length; i++) {
    if (spec.architecture === 'unet') {
      for (let k = 0; k < n; k++) outs[k][i] = (1 / (1 + exp(-logits[k].data[i]))) * input.data[i];
    } else {
      let maxLogit = -Infinity;
      for (let k = 0; k < n; k++) maxLogit = max(maxLogit, logits[k].data[i]);
      let sum = 0;
      for (let k = 0; k < n; k++) sum += exp(logits[k].data[i] - maxLogit);
      for (let k = 0; k < n; k++) outs[k][i] = (exp(logits[k].data[i] - maxLogit) / sum) * input.data[i];
    }
  }
  return outs.map((data) => ({ data, H: input.H, W: input.W, C: input.C }));
}

/** CSTF [2, S, T, F] -> segment s as HWC [T, F, 2]. */
export function cstfSegmentToHwc(x: Float32Array, S: number, T: number, F: number, s: number): HwcTensor {
  const data = new Float32Array(T * F * 2);
  for (let c = 0; c < 2; c++) {
    const base = (c * S + s) * T * F;
    for (let i = 0; i < T * F; i++) data[i * 2 + c] = x[base + i];
  }
  return { data, H: T, W: F, C: 2 };
}

/** Writes segment s from HWC [T, F, 2] into CSTF [2, S, T, F]. */
export function hwcSegmentToCstf(seg: HwcTensor, out: Float32Array, S: number, s: number): void {
  const TF = seg.H * seg.W;
  for (let c = 0; c < 2; c++) {
    const base = (c * S + s) * TF;
    for (let i = 0; i < TF; i++) out[base + i] = seg.data[i * 2 + c];
  }
}

/**
 * Reference for a SegmentModel.run(): CSTF [2, S, T, F] in, per instrument CSTF magnitudes out.
 */
export function referenceSpleeterForward(
  spec: UnetModelSpec,
  inputCstf: Float32Array,
  S: number,
  T: number,
  F: number,
): Float32Array[] {
  if (inputCstf.length !== 2 * S * T * F)
    throw new Error(`input length ${inputCstf.length} != 2·${S}·${T}·${F}`);
  const outs = spec.instruments.map(() => new Float32Array(inputCstf.length));
  for (let s = 0; s < S; s++) {
    const segOuts = referenceSpleeterSegment(spec, cstfSegmentToHwc(inputCstf, S, T, F, s));
    segOuts.forEach((o, k) => hwcSegmentToCstf(o, outs[k], S, s));
  }
  return outs;
}

/** Reference logits of instrument k (what a softmax_unet ONNX file outputs), CSTF in and out. */
export function referenceUnetLogitsForward(
  spec: UnetModelSpec,
  k: number,
  inputCstf: Float32Array,
  S: number,
  T: number,
  F: number,
): Float32Array {
  const out = new Float32Array(inputCstf.length);
  for (let s = 0; s < S; s++) {
    const logits = referenceUnetLogits(
      cstfSegmentToHwc(inputCstf, S, T, F, s),
      spec.instruments[k],
      spec.convActivation,
      spec.deconvActivation,
    );
    hwcSegmentToCstf(logits, out, S, s);
  }
  return out;
}
