/**
 * Variable → layer mapping of the official Spleeter checkpoints (MODEL-FORMATS A1, A5, A9): which
 * tensors each instrument's U-Net needs, with which shapes, and loading them into a UnetModelSpec.
 * Keras auto-naming: the first layer of a type has no suffix (`conv2d`), then `conv2d_1`, …
 */
import { ErrorCodes, ModelError } from '../errors';
import { SPLEETER_CONFIGS, SpleeterConfigName } from '../onnx/spleeter-configs';
import {
  BatchNormWeights,
  ConvWeights,
  UNET_DECODER_FILTERS,
  UNET_ENCODER_FILTERS,
  UnetInstrumentWeights,
  UnetModelSpec,
} from '../spleeter/unet-weights';
import type { BundleEntry } from './bundle-protos';
import { TF_DTYPE } from './bundle-protos';
import type { TensorBundleReader } from './tensor-bundle-reader';

export { SPLEETER_CONFIGS, isSpleeterConfigName } from '../onnx/spleeter-configs';
export type { SpleeterConfigName, SpleeterConfigInfo } from '../onnx/spleeter-configs';

/** Keras layer name: index 0 has no suffix. */
export function kerasName(base: string, index: number): string {
  return index === 0 ? base : `${base}_${index}`;
}

export interface ExpectedVariable {
  name: string;
  shape: number[];
}

interface ConvNames {
  layer: string;
  kernelShape: [number, number, number, number];
}

interface InstrumentLayout {
  encoder: ConvNames[];
  head: ConvNames;
  decoder: ConvNames[];
  encoderBn: { layer: string; size: number }[];
  decoderBn: { layer: string; size: number }[];
}

/** Layer names and kernel shapes of instrument k (0-based, config order). */
export function spleeterInstrumentLayout(k: number): InstrumentLayout {
  const encoder = UNET_ENCODER_FILTERS.map((out, i) => ({
    layer: kerasName('conv2d', 7 * k + i),
    kernelShape: [5, 5, i === 0 ? 2 : UNET_ENCODER_FILTERS[i - 1], out] as [number, number, number, number],
  }));
  // Decoder input j ≥ 1 is concat(encoder skip, previous decoder output) = 2 × previous filters.
  const decoder = UNET_DECODER_FILTERS.map((out, j) => ({
    layer: kerasName('conv2d_transpose', 6 * k + j),
    kernelShape: [5, 5, out, j === 0 ? UNET_ENCODER_FILTERS[5] : 2 * UNET_DECODER_FILTERS[j - 1]] as [
      number,
      number,
      number,
      number,
    ],
  }));
  return {
    encoder,
    decoder,
    head: { layer: kerasName('conv2d', 7 * k + 6), kernelShape: [4, 4, 1, 2] },
    // 12k+5 (BN of the 6th conv) exists in checkpoints but the graph never uses it.
    encoderBn: UNET_ENCODER_FILTERS.slice(0, 5).map((size, i) => ({
      layer: kerasName('batch_normalization', 12 * k + i),
      size,
    })),
    decoderBn: UNET_DECODER_FILTERS.map((size, j) => ({
      layer: kerasName('batch_normalization', 12 * k + 6 + j),
      size,
    })),
  };
}

const BN_PARAMS = ['gamma', 'beta', 'moving_mean', 'moving_variance'] as const;

/** Every variable the converted graph needs, for all instruments of a config. */
export function expectedSpleeterVariables(config: SpleeterConfigName): ExpectedVariable[] {
  const out: ExpectedVariable[] = [];
  SPLEETER_CONFIGS[config].instruments.forEach((_, k) => {
    const l = spleeterInstrumentLayout(k);
    for (const c of [...l.encoder, l.head, ...l.decoder]) {
      out.push({ name: `${c.layer}/kernel`, shape: [...c.kernelShape] });
      out.push({
        name: `${c.layer}/bias`,
        shape: [c.kernelShape[c.layer.startsWith('conv2d_transpose') ? 2 : 3]],
      });
    }
    for (const bn of [...l.encoderBn, ...l.decoderBn]) {
      for (const p of BN_PARAMS) out.push({ name: `${bn.layer}/${p}`, shape: [bn.size] });
    }
  });
  return out;
}

/** Optimizer state and bookkeeping that a converter skips. */
export function isIgnoredCheckpointVariable(name: string): boolean {
  return (
    /\/Adam(_\d+)?$/.test(name) || name === 'beta1_power' || name === 'beta2_power' || name === 'global_step'
  );
}

export interface VariableCheck {
  missing: string[];
  mismatched: { name: string; expected: number[]; actual: number[]; dtype: number }[];
}

export function checkSpleeterVariables(
  entries: ReadonlyMap<string, BundleEntry>,
  config: SpleeterConfigName,
): VariableCheck {
  const result: VariableCheck = { missing: [], mismatched: [] };
  for (const v of expectedSpleeterVariables(config)) {
    const e = entries.get(v.name);
    if (!e) result.missing.push(v.name);
    else if (e.dtype !== TF_DTYPE.DT_FLOAT || e.shape.join(',') !== v.shape.join(',')) {
      result.mismatched.push({ name: v.name, expected: v.shape, actual: e.shape, dtype: e.dtype });
    }
  }
  return result;
}

export function assertSpleeterVariables(
  entries: ReadonlyMap<string, BundleEntry>,
  config: SpleeterConfigName,
): void {
  const { missing, mismatched } = checkSpleeterVariables(entries, config);
  if (missing.length === 0 && mismatched.length === 0) return;
  const parts: string[] = [];
  if (missing.length) parts.push(`missing: ${missing.join(', ')}`);
  if (mismatched.length) {
    parts.push(
      `wrong shape/dtype: ${mismatched.map((m) => `${m.name} [${m.actual}] (expected [${m.expected}] float32)`).join(', ')}`,
    );
  }
  throw new ModelError(
    ErrorCodes.MODEL_INVALID,
    `Checkpoint does not match the Spleeter ${config} layout; ${parts.join('; ')}`,
    { config, missing, mismatched: mismatched.map((m) => m.name) },
  );
}

async function readConv(reader: TensorBundleReader, c: ConvNames): Promise<ConvWeights> {
  const kernel = await reader.readFloat32(`${c.layer}/kernel`);
  const bias = await reader.readFloat32(`${c.layer}/bias`);
  return { kernel: kernel.data, kernelShape: [...c.kernelShape], bias: bias.data };
}

async function readBn(reader: TensorBundleReader, layer: string): Promise<BatchNormWeights> {
  const [gamma, beta, movingMean, movingVariance] = await Promise.all(
    BN_PARAMS.map(async (p) => (await reader.readFloat32(`${layer}/${p}`)).data),
  );
  return { gamma, beta, movingMean, movingVariance };
}

export async function readSpleeterInstrument(
  reader: TensorBundleReader,
  k: number,
  instrument: string,
): Promise<UnetInstrumentWeights> {
  const l = spleeterInstrumentLayout(k);
  const encoder: ConvWeights[] = [];
  for (const c of l.encoder) encoder.push(await readConv(reader, c));
  const decoder: ConvWeights[] = [];
  for (const c of l.decoder) decoder.push(await readConv(reader, c));
  const encoderBn: BatchNormWeights[] = [];
  for (const bn of l.encoderBn) encoderBn.push(await readBn(reader, bn.layer));
  const decoderBn: BatchNormWeights[] = [];
  for (const bn of l.decoderBn) decoderBn.push(await readBn(reader, bn.layer));
  return { instrument, encoder, encoderBn, decoder, decoderBn, head: await readConv(reader, l.head) };
}

/**
 * The inverse mapping: checkpoint variables (name → shape + data) for a spec, including the unused
 * batch_normalization_{12k+5} (mean 0, variance 1) a real checkpoint carries. Tests write these
 * with `writeTensorBundle` to get checkpoints with known weights.
 */
export function spleeterCheckpointTensors(
  spec: UnetModelSpec,
): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const conv = (layer: string, c: ConvWeights, transposed: boolean) => {
    out.set(`${layer}/kernel`, { shape: [...c.kernelShape], data: c.kernel });
    out.set(`${layer}/bias`, { shape: [c.kernelShape[transposed ? 2 : 3]], data: c.bias });
  };
  const bn = (layer: string, w: BatchNormWeights) => {
    out.set(`${layer}/gamma`, { shape: [w.gamma.length], data: w.gamma });
    out.set(`${layer}/beta`, { shape: [w.beta.length], data: w.beta });
    out.set(`${layer}/moving_mean`, { shape: [w.movingMean.length], data: w.movingMean });
    out.set(`${layer}/moving_variance`, { shape: [w.movingVariance.length], data: w.movingVariance });
  };
  spec.instruments.forEach((w, k) => {
    const l = spleeterInstrumentLayout(k);
    l.encoder.forEach((c, i) => conv(c.layer, w.encoder[i], false));
    conv(l.head.layer, w.head, false);
    l.decoder.forEach((c, j) => conv(c.layer, w.decoder[j], true));
    l.encoderBn.forEach((b, i) => bn(b.layer, w.encoderBn[i]));
    l.decoderBn.forEach((b, j) => bn(b.layer, w.decoderBn[j]));
    const n = UNET_ENCODER_FILTERS[5];
    bn(kerasName('batch_normalization', 12 * k + 5), {
      gamma: new Float32Array(n).fill(1),
      beta: new Float32Array(n),
      movingMean: new Float32Array(n),
      movingVariance: new Float32Array(n).fill(1),
    });
  });
  return out;
}
