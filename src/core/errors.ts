/**
 * Domain errors shared by the engine, the CLI, the library API and the HTTP layer.
 * Every error carries a stable machine-readable `code`; the HTTP layer maps codes to statuses
 * in one place (src/common/filters), the CLI maps them to exit codes.
 */
export type ErrorContext = Record<string, unknown>;

export abstract class SpleeterError extends Error {
  abstract readonly kind: 'audio' | 'model' | 'validation' | 'separation' | 'security' | 'internal';
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

/** Authentication, authorisation, rate limits and quotas (never carries secrets in `context`). */
export class SecurityError extends SpleeterError {
  readonly kind = 'security' as const;
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
  /** performance.require_gpu is set and no GPU execution provider could be created (HTTP 503). */
  GPU_UNAVAILABLE: 'GPU_UNAVAILABLE',
  // validation
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  UNKNOWN_STEM: 'UNKNOWN_STEM',
  OUTPUT_EXISTS: 'OUTPUT_EXISTS',
  /** A valid option that the chosen model has no use for (e.g. MDX-Net's overlap on a Spleeter model). */
  OPTION_NOT_SUPPORTED: 'OPTION_NOT_SUPPORTED',
  // separation / jobs
  JOB_NOT_FOUND: 'JOB_NOT_FOUND',
  JOB_CANCELED: 'JOB_CANCELED',
  QUEUE_FULL: 'QUEUE_FULL',
  /** The job queue's back-end (Redis) cannot be reached; nothing was accepted. */
  QUEUE_UNAVAILABLE: 'QUEUE_UNAVAILABLE',
  /** The separation's estimated engine memory exceeds performance.memory_limit_mb (HTTP 422). */
  MEMORY_LIMIT: 'MEMORY_LIMIT',
  // security
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMITED',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  API_KEY_NOT_FOUND: 'API_KEY_NOT_FOUND',
  /** The job exists but has no results yet (queued/running) or none at all (failed/canceled). */
  JOB_NOT_READY: 'JOB_NOT_READY',
  /** The job's files were deleted (retention expired or DELETE). */
  RESULT_EXPIRED: 'RESULT_EXPIRED',
  RANGE_NOT_SATISFIABLE: 'RANGE_NOT_SATISFIABLE',
  /** callbackUrl is malformed, not http(s), or resolves to a loopback/private/link-local address. */
  CALLBACK_URL_REJECTED: 'CALLBACK_URL_REJECTED',
  /** The server is shutting down and takes no new work. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
