export {
  KNOWN_MDX_MODELS,
  MDX_HASH_TAIL_BYTES,
  MDX_HOP,
  MDX_SAMPLE_RATE,
  findMdxParamsByHash,
  lookupMdxParams,
  mdxModelHash,
  validateMdxParams,
  type KnownMdxModel,
  type MdxModelParams,
} from './mdx-params';
export {
  MDX_DEFAULT_OVERLAP,
  MDX_MAX_OVERLAP,
  MDX_OVERLAP_RULE,
  assertMdxOverlap,
  isMdxOverlap,
  parseMdxOverlap,
  refuseMdxOptions,
  type MdxOverlap,
} from './mdx-options';
export { MdxSeparator, type MdxModelFn, type MdxSeparatorOptions } from './mdx-separator';
export {
  MDX_INPUT_NAME,
  MDX_OUTPUT_NAME,
  checkMdxSignature,
  createMdxOnnxModelFn,
  declaredMdxDims,
  resolveMdxParams,
  type MdxOnnxModelOptions,
  type MdxParamOverrides,
  type OrtSessionLike,
  type OrtTensorFactory,
  type OrtTensorLike,
} from './mdx-onnx-model';
