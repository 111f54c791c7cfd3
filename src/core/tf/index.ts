export { crc32c, crc32cExtend, maskCrc32c, unmaskCrc32c } from './crc32c';
export {
  readLevelDbTable,
  writeLevelDbTable,
  type TableEntry,
  type TableWriteOptions,
} from './leveldb-table';
export {
  TensorBundleReader,
  dataShardPath,
  elementCount,
  impliedShardSizes,
  parseTensorBundleIndex,
  type BundleEntry,
  type BundleHeader,
  type Float32Tensor,
  type TensorBundleIndex,
} from './tensor-bundle-reader';
export {
  writeTensorBundle,
  type BundleTensorInput,
  type TensorBundleWriteResult,
} from './tensor-bundle-writer';
export {
  assertSpleeterVariables,
  checkSpleeterVariables,
  expectedSpleeterVariables,
  isIgnoredCheckpointVariable,
  kerasName,
  readSpleeterModelSpec,
  spleeterCheckpointTensors,
  spleeterInstrumentLayout,
  type VariableCheck,
} from './spleeter-checkpoint';
export {
  convertSpleeterCheckpoint,
  resolveCheckpointPrefix,
  type ConvertSpleeterOptions,
  type ConvertSpleeterResult,
} from './spleeter-converter';
