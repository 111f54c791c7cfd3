export {
  BUILTIN_MODELS,
  createBuiltinSeparator,
  isBuiltinModelId,
  type BuiltinModelId,
  type BuiltinModelInfo,
  type BuiltinSeparatorOptions,
} from './builtin-models';
export {
  SpectralMaskSeparator,
  BUILTIN_FRAMING,
  type SpectralMaskEstimator,
} from './spectral-mask-separator';
export { HpssMaskEstimator, type HpssOptions } from './hpss-mask-estimator';
export { CenterMaskEstimator, type CenterOptions } from './center-mask-estimator';
