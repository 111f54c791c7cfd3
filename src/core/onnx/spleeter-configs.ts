/**
 * The official Spleeter configurations (MODEL-FORMATS A1): instrument order, architecture and the
 * activations each checkpoint was trained with. The `-16kHz` variants are the same networks fed
 * F = 1536 bins.
 */
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

/** Spleeter's F per bandwidth: 1024 bins (11 kHz) for the standard configs, 1536 for `-16kHz`. */
export const SPLEETER_F_VALUES = [1024, 1536] as const;
