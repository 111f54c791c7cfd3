import {
  AudioProcessingError,
  ModelError,
  SeparationError,
  SpleeterError,
  ValidationError,
  type ErrorContext,
} from '../../core/errors';

/** A domain error as it crosses a worker-thread boundary (structured clone drops classes). */
export interface SerializedError {
  kind?: SpleeterError['kind'];
  code?: string;
  message: string;
  context?: ErrorContext;
  stack?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof SpleeterError) {
    return {
      kind: err.kind,
      code: err.code,
      message: err.message,
      context: safeContext(err.context),
      stack: err.stack,
    };
  }
  const e = err as Error;
  return { message: e?.message ?? String(err), stack: e?.stack };
}

export function deserializeError(s: SerializedError): Error {
  const ctx = s.context ?? {};
  let err: Error;
  switch (s.kind) {
    case 'audio':
      err = new AudioProcessingError(s.code!, s.message, ctx);
      break;
    case 'model':
      err = new ModelError(s.code!, s.message, ctx);
      break;
    case 'validation':
      err = new ValidationError(s.code!, s.message, ctx);
      break;
    case 'separation':
      err = new SeparationError(s.code!, s.message, ctx);
      break;
    default:
      err = new Error(s.message);
  }
  if (s.stack) err.stack = s.stack;
  return err;
}

/** Keeps only structured-clone-safe values of an error context. */
function safeContext(ctx: ErrorContext): ErrorContext {
  try {
    return JSON.parse(JSON.stringify(ctx)) as ErrorContext;
  } catch {
    return {};
  }
}
