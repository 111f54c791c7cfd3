/**
 * Domain errors shared by the engine, the CLI, the library API and the HTTP layer.
 * Every error carries a stable machine-readable `code`; the HTTP layer maps codes to statuses
 * in one place (src/common/filters), the CLI maps them to exit codes.
 */
export type ErrorContext = Record<string, unknown>;

export abstract class SpleeterError extends Error {
  abstract readonly kind: 'audio' | 'model' | 'validation' | 'separation' | 'internal';
  constructor(
    readonly code: string,
    message: string,
    readonly context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The input (or output) audio could not be read, decoded, resampled or encoded. */
export class AudioProcessingError extends SpleeterError {
  readonly kind = 'audio' as const;
}

/** A model is missing, corrupt, has the wrong signature, or failed to run. */
export class ModelError extends SpleeterError {
  readonly kind = 'model' as const;
}

/** The caller asked for something invalid (options, paths, names). */
export class ValidationError extends SpleeterError {
  readonly kind = 'validation' as const;
}

/** Job-level failures (cancelled, queue full, not found...). */
export class SeparationError extends SpleeterError {
  readonly kind = 'separation' as const;
}

/** Stable error codes. Add new ones here so the HTTP filter's exhaustive switch sees them. */
export const ErrorCodes = {
  // audio
  UNSUPPORTED_AUDIO: 'UNSUPPORTED_AUDIO',
  CORRUPT_AUDIO: 'CORRUPT_AUDIO',
  EMPTY_AUDIO: 'EMPTY_AUDIO',
  DECODER_UNAVAILABLE: 'DECODER_UNAVAILABLE',
  ENCODE_FAILED: 'ENCODE_FAILED',
  DURATION_LIMIT: 'DURATION_LIMIT',
  FILE_TOO_LARGE: 'FILE_TOO_LARGE',
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  // model
  MODEL_NOT_INSTALLED: 'MODEL_NOT_INSTALLED',
  MODEL_INVALID: 'MODEL_INVALID',
  MODEL_LOAD_FAILED: 'MODEL_LOAD_FAILED',
  MODEL_INFERENCE_FAILED: 'MODEL_INFERENCE_FAILED',
  MODEL_DOWNLOAD_FAILED: 'MODEL_DOWNLOAD_FAILED',
  MODEL_CHECKSUM_MISMATCH: 'MODEL_CHECKSUM_MISMATCH',
  MODEL_IN_USE: 'MODEL_IN_USE',
  // validation
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  UNKNOWN_STEM: 'UNKNOWN_STEM',
  OUTPUT_EXISTS: 'OUTPUT_EXISTS',
  // separation / jobs
  JOB_NOT_FOUND: 'JOB_NOT_FOUND',
  JOB_CANCELED: 'JOB_CANCELED',
  QUEUE_FULL: 'QUEUE_FULL',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
