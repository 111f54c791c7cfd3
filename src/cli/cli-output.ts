import { SpleeterError } from '../core/errors';

/** Exit codes: 2 validation, 3 audio, 4 model, 130 canceled, 1 anything else. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof SpleeterError)) return 1;
  switch (err.kind) {
    case 'validation':
      return 2;
    case 'audio':
      return 3;
    case 'model':
      return 4;
    case 'separation':
      return err.code === 'JOB_CANCELED' ? 130 : 1;
    default:
      return 1;
  }
}

export function formatError(err: unknown): string {
  if (err instanceof SpleeterError) return `error [${err.code}]: ${err.message}`;
  const e = err as Error;
  return `error: ${e?.message ?? String(err)}`;
}

export function printError(err: unknown, prefix = ''): void {
  process.stderr.write(`${prefix}${formatError(err)}\n`);
  // Anything but a domain error is a bug: the stack is what a bug report needs.
  if (!(err instanceof SpleeterError) && (err as Error)?.stack) {
    process.stderr.write(`${(err as Error).stack}\n`);
  }
}
