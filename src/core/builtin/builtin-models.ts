/**
 * Built-in DSP "models": no download, no network, no ONNX. Each is a StemSeparator with
 * executionProvider 'dsp' whose stems sum back to the mixture.
 */
import { ValidationError, ErrorCodes } from '../errors';
import type { StemSeparator } from '../separation/types';
import { CenterMaskEstimator, CenterOptions } from './center-mask-estimator';
import { HpssMaskEstimator, HpssOptions } from './hpss-mask-estimator';
import { SpectralMaskSeparator } from './spectral-mask-separator';

export type BuiltinModelId = 'builtin:hpss' | 'builtin:center';

export interface BuiltinModelInfo {
  id: BuiltinModelId;
  name: string;
  description: string;
  stems: readonly string[];
  sampleRate: number;
}

export const BUILTIN_MODELS: readonly BuiltinModelInfo[] = [
  {
    id: 'builtin:hpss',
    name: 'Harmonic / percussive (median filtering)',
    description:
      'Splits sustained tonal content from transients by median-filtering the magnitude spectrogram along time and frequency (soft masks).',
    stems: ['harmonic', 'percussive'],
    sampleRate: 44100,
  },
  {
    id: 'builtin:center',
    name: 'Centre / sides',
    description:
      'Separates centre-panned content (typically lead vocals, bass, kick) from the rest by inter-channel similarity per STFT bin.',
    stems: ['center', 'sides'],
    sampleRate: 44100,
  },
];

export interface BuiltinSeparatorOptions {
  hpss?: HpssOptions;
  center?: CenterOptions;
  /** Samples per stem per sink write. */
  blockSamples?: number;
}

export function createBuiltinSeparator(id: string, opts: BuiltinSeparatorOptions = {}): StemSeparator {
  switch (id) {
    case 'builtin:hpss':
      return new SpectralMaskSeparator({
        stems: ['harmonic', 'percussive'],
        createEstimator: (bins) => new HpssMaskEstimator(bins, opts.hpss),
        blockSamples: opts.blockSamples,
      });
    case 'builtin:center':
      return new SpectralMaskSeparator({
        stems: ['center', 'sides'],
        createEstimator: (bins) => new CenterMaskEstimator(bins, opts.center),
        blockSamples: opts.blockSamples,
      });
    default:
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `Unknown built-in model '${id}'`, {
        known: BUILTIN_MODELS.map((m) => m.id),
      });
  }
}
