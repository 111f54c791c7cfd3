/** Programmatic API of spleeter-server. */
export { SpleeterEngine, type SpleeterEngineOptions, type BatchItemResult } from './lib/spleeter-engine';
export * from './lib/types';
export {
  AudioProcessingError,
  ModelError,
  ValidationError,
  SeparationError,
  SpleeterError,
  ErrorCodes,
  type ErrorCode,
} from './core/errors';
export { loadConfig, ConfigError } from './infra/config/config.loader';
export type { SpleeterConfig } from './infra/config/config.schema';
