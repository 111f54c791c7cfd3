import { ErrorCodes, type ErrorCode } from '../../core/errors';

/** The one place where domain error codes become HTTP statuses. */
export function statusForCode(code: ErrorCode): number {
  switch (code) {
    case ErrorCodes.UNSUPPORTED_AUDIO:
      return 415;
    case ErrorCodes.CORRUPT_AUDIO:
    case ErrorCodes.EMPTY_AUDIO:
    case ErrorCodes.VALIDATION_FAILED:
    case ErrorCodes.UNKNOWN_STEM:
    case ErrorCodes.OPTION_NOT_SUPPORTED:
    case ErrorCodes.DURATION_LIMIT:
    case ErrorCodes.CALLBACK_URL_REJECTED:
    case ErrorCodes.MEMORY_LIMIT:
      return 422;
    case ErrorCodes.FILE_TOO_LARGE:
      return 413;
    case ErrorCodes.FILE_NOT_FOUND:
    case ErrorCodes.JOB_NOT_FOUND:
    case ErrorCodes.MODEL_NOT_INSTALLED:
      return 404;
    case ErrorCodes.OUTPUT_EXISTS:
    case ErrorCodes.MODEL_IN_USE:
    case ErrorCodes.JOB_CANCELED:
    case ErrorCodes.JOB_NOT_READY:
      return 409;
    case ErrorCodes.RESULT_EXPIRED:
      return 410;
    case ErrorCodes.RANGE_NOT_SATISFIABLE:
      return 416;
    case ErrorCodes.QUEUE_FULL:
    case ErrorCodes.QUEUE_UNAVAILABLE:
    case ErrorCodes.SHUTTING_DOWN:
    case ErrorCodes.GPU_UNAVAILABLE:
      return 503;
    case ErrorCodes.UNAUTHENTICATED:
      return 401;
    case ErrorCodes.FORBIDDEN:
      return 403;
    case ErrorCodes.RATE_LIMITED:
    case ErrorCodes.QUOTA_EXCEEDED:
      return 429;
    case ErrorCodes.API_KEY_NOT_FOUND:
      return 404;
    case ErrorCodes.DECODER_UNAVAILABLE:
      return 501;
    case ErrorCodes.MODEL_INVALID:
    case ErrorCodes.MODEL_CHECKSUM_MISMATCH:
      return 422;
    case ErrorCodes.MODEL_DOWNLOAD_FAILED:
      return 502;
    case ErrorCodes.MODEL_LOAD_FAILED:
    case ErrorCodes.MODEL_INFERENCE_FAILED:
    case ErrorCodes.ENCODE_FAILED:
    case ErrorCodes.INTERNAL:
      return 500;
    default: {
      const exhaustive: never = code;
      return exhaustive;
    }
  }
}
