/**
 * The official Spleeter configurations (MODEL-FORMATS A1): instrument order, architecture and the
 * activations each checkpoint was trained with. The `-16kHz` variants are the same networks fed
 * F = 1536 bins.
 */
import type { ModelPrecision } from '../models/model-catalog';
import type { SpleeterArchitecture } from '../spleeter/types';
import type { UnetActivation } from '../spleeter/unet-weights';

export type SpleeterConfigName = '2stems' | '4stems' | '5stems';

export interface SpleeterConfigInfo {
  name: SpleeterConfigName;
  instruments: readonly string[];
  architecture: SpleeterArchitecture;
  convActivation: UnetActivation;
  deconvActivation: UnetActivation;
}

export const SPLEETER_CONFIGS: Readonly<Record<SpleeterConfigName, SpleeterConfigInfo>> = {
  '2stems': {
    name: '2stems',
    instruments: ['vocals', 'accompaniment'],
    architecture: 'unet',
    convActivation: 'leaky_relu',
    deconvActivation: 'relu',
  },
  '4stems': {
    name: '4stems',
    instruments: ['vocals', 'drums', 'bass', 'other'],
    architecture: 'unet',
    convActivation: 'elu',
    deconvActivation: 'elu',
  },
  '5stems': {
    name: '5stems',
    instruments: ['vocals', 'piano', 'drums', 'bass', 'other'],
    architecture: 'softmax_unet',
    convActivation: 'elu',
    deconvActivation: 'elu',
  },
};

export function isSpleeterConfigName(v: string): v is SpleeterConfigName {
  return Object.prototype.hasOwnProperty.call(SPLEETER_CONFIGS, v);
}

/**
 * The instruments of a Spleeter ONNX directory that has neither spleeter.json nor `instruments`
 * metadata, from the per-instrument files present for `precision` (`vocals.onnx`,
 * `vocals.fp16.onnx`...): the largest official configuration whose files are all there, in that
 * configuration's order (the ratio masks and the softmax depend on it). Null when no configuration
 * is complete.
 */
export function spleeterInstrumentsFromFiles(
  fileNames: readonly string[],
  precision: ModelPrecision,
): string[] | null {
  const suffix = precision === 'fp32' ? '.onnx' : `.${precision}.onnx`;
  const present = new Set(
    fileNames
      .filter((n) => n.endsWith(suffix))
      .map((n) => n.slice(0, -suffix.length))
      .filter((stem) => !stem.includes('.')),
  );
  const complete = Object.values(SPLEETER_CONFIGS)
    .filter((c) => c.instruments.every((i) => present.has(i)))
    .sort((a, b) => b.instruments.length - a.instruments.length);
  return complete.length ? [...complete[0].instruments] : null;
}
