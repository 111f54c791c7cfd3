import { ErrorCodes, SpleeterError } from '../core/errors';

/** The program name users type; hints print whole commands they can copy. */
export const CLI_NAME = 'spleeter-server';

/** Which command failed, for a hint that fits it. */
export interface HintContext {
  command:
    | 'separate'
    | 'analyze'
    | 'models install'
    | 'models remove'
    | 'models validate'
    | 'models convert'
    | 'models';
  /** The model argument of `models install` (for the `--from` hint). */
  model?: string;
  prefix?: string;
}

/** Exit codes: 2 validation, 3 audio, 4 model, 6 GPU required and unavailable, 130 canceled, 1 anything else. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof SpleeterError)) return 1;
  if (err.code === ErrorCodes.GPU_UNAVAILABLE) return 6;
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

/** A line that tells the user what to run next, or null when there is nothing useful to say. */
export function hintFor(err: unknown, ctx: HintContext): string | null {
  if (!(err instanceof SpleeterError)) return null;
  const model = typeof err.context.model === 'string' ? err.context.model : ctx.model;
  switch (err.code) {
    case ErrorCodes.OUTPUT_EXISTS:
      return ctx.command === 'separate'
        ? 'add --overwrite to replace the existing output files'
        : 'choose another output directory (-o) or remove the existing one';
    case ErrorCodes.MODEL_NOT_INSTALLED:
      // Unknown names carry the catalog's names; installed-but-missing ones do not.
      if (Array.isArray(err.context.available) || !model)
        return `list the models you can use with: ${CLI_NAME} models list`;
      return `install it with: ${CLI_NAME} models install ${model}   (or set SPLEETER_AUTO_DOWNLOAD=true)`;
    case ErrorCodes.GPU_UNAVAILABLE:
      return 'run without --require-gpu (and performance.require_gpu=false) to fall back to the CPU, or install the CUDA provider libraries (see README, GPU)';
    case ErrorCodes.MODEL_DOWNLOAD_FAILED:
      return ctx.command === 'models install' || ctx.command === 'separate'
        ? `without network access, download the model archive on another machine and run: ${CLI_NAME} models install ${model ?? '<name>'} --from <archive>`
        : null;
    default:
      return null;
  }
}

/** The error line, a hint line when there is one, and the stack of an unexpected error. */
export function formatErrorWithHint(err: unknown, ctx: HintContext): string {
  const lines = [`${ctx.prefix ?? ''}${formatError(err)}`];
  const hint = hintFor(err, ctx);
  if (hint) lines.push(`hint: ${hint}`);
  if (!(err instanceof SpleeterError) && (err as Error)?.stack) lines.push((err as Error).stack!);
  return lines.join('\n');
}

export function printError(err: unknown, prefix = ''): void {
  process.stderr.write(`${prefix}${formatError(err)}\n`);
  // Anything but a domain error is a bug: the stack is what a bug report needs.
  if (!(err instanceof SpleeterError) && (err as Error)?.stack) {
    process.stderr.write(`${(err as Error).stack}\n`);
  }
}
