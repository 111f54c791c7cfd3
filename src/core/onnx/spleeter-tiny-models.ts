/**
 * Stand-in Spleeter model files for fast tests: the exact file contract of the real U-Net files
 * (input `x` / output `y`, same declared shapes and layouts, same metadata keys) with a trivial,
 * analytically known graph. For softmax_unet configs each file outputs logits, like the real ones,
 * so the loader's cross-instrument softmax is exercised.
 *
 * - identity: y_i = x
 * - scale:    y_i = k_i · x                  (default k_i = (i + 1) / n)
 * - bandpass: instrument i owns bins [⌊iF/n⌋, ⌊(i+1)F/n⌋): y_i = x on its band, 0 elsewhere;
 *             softmax variant: logits = BANDPASS_LOGIT on its band, 0 elsewhere.
 */
import { ValidationError, ErrorCodes } from '../errors';
import { SPLEETER_SAMPLE_RATE, SPLEETER_T, type SegmentLayout } from '../spleeter/types';
import { OnnxGraphBuilder } from './onnx-graph-builder';
import { SPLEETER_CONFIGS, type SpleeterConfigName } from './spleeter-configs';
import { SPLEETER_BATCH_DIM, SPLEETER_INPUT_NAME, SPLEETER_OUTPUT_NAME } from './spleeter-unet';

export type TinySpleeterKind = 'identity' | 'scale' | 'bandpass';

/** Large enough that softmax gives 1 in float32 on the owning instrument's band. */
export const BANDPASS_LOGIT = 40;

export interface TinySpleeterOptions {
  layout: SegmentLayout;
  F?: number;
  T?: number;
  /** Per-instrument factors for `scale`; default (i + 1) / n. */
  scales?: readonly number[];
}

export function defaultTinyScales(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i + 1) / n);
}

/** Band [start, end) of instrument i for `bandpass`. */
export function bandpassRange(i: number, n: number, F: number): [number, number] {
  return [Math.floor((i * F) / n), Math.floor(((i + 1) * F) / n)];
}

export function buildTinySpleeterOnnx(
  kind: TinySpleeterKind,
  config: SpleeterConfigName,
  instrumentIndex: number,
  opts: TinySpleeterOptions,
): Uint8Array {
  const info = SPLEETER_CONFIGS[config];
  const n = info.instruments.length;
  const instrument = info.instruments[instrumentIndex];
  if (instrument === undefined)
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      `${config} has no instrument #${instrumentIndex}`,
    );
  const F = opts.F ?? 1024;
  const T = opts.T ?? SPLEETER_T;
  const logits = info.architecture === 'softmax_unet';

  const b = new OnnxGraphBuilder({ graphName: `spleeter_${kind}_${instrument}` });
  const shape = opts.layout === 'CSTF' ? [2, SPLEETER_BATCH_DIM, T, F] : [SPLEETER_BATCH_DIM, 2, T, F];
  b.addInput(SPLEETER_INPUT_NAME, 'float32', shape);
  switch (kind) {
    case 'identity':
      b.addNode('Identity', [SPLEETER_INPUT_NAME], [SPLEETER_OUTPUT_NAME]);
      break;
    case 'scale': {
      const k = (opts.scales ?? defaultTinyScales(n))[instrumentIndex];
      if (k === undefined)
        throw new ValidationError(
          ErrorCodes.VALIDATION_FAILED,
          `no scale for instrument #${instrumentIndex}`,
        );
      b.addNode(
        'Mul',
        [SPLEETER_INPUT_NAME, b.constant('k', 'float32', [], new Float32Array([k]))],
        [SPLEETER_OUTPUT_NAME],
      );
      break;
    }
    case 'bandpass': {
      const [start, end] = bandpassRange(instrumentIndex, n, F);
      const band = new Float32Array(F);
      band.fill(logits ? BANDPASS_LOGIT : 1, start, end);
      const bandInit = b.constant('band', 'float32', [F], band);
      if (logits) {
        // y = 0·x + band keeps the data dependency on x (shape and batch follow the input).
        const zero = b.constant('zero', 'float32', [], new Float32Array([0]));
        b.addNode('Add', [b.op('Mul', [SPLEETER_INPUT_NAME, zero]), bandInit], [SPLEETER_OUTPUT_NAME]);
      } else {
        b.addNode('Mul', [SPLEETER_INPUT_NAME, bandInit], [SPLEETER_OUTPUT_NAME]);
      }
      break;
    }
  }
  b.addOutput(SPLEETER_OUTPUT_NAME, 'float32', shape);
  const meta: Record<string, string> = {
    model_type: 'spleeter',
    sample_rate: String(SPLEETER_SAMPLE_RATE),
    version: '1',
    stems: String(n),
    comment: instrument,
    model_name: `test-${kind}-${config}`,
    architecture: info.architecture,
    F: String(F),
    T: String(T),
    output: logits ? 'logits' : 'magnitude',
    conv_activation: info.convActivation,
    deconv_activation: info.deconvActivation,
    instruments: info.instruments.join(','),
    instrument,
    layout: opts.layout,
    precision: 'fp32',
    test_model: kind,
  };
  for (const [k, v] of Object.entries(meta)) b.setMetadata(k, v);
  return b.serialize();
}
