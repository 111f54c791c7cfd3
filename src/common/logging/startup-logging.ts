/**
 * Logging before the pino logger exists, and when start-up fails. Containers ship logs to
 * collectors that parse one JSON object per line, so nothing a process prints may be plain text:
 * not Nest's buffered start-up lines (flushed through this JSON console logger when building the
 * module graph fails), not the final fatal error (a pino line, written synchronously because the
 * process exits right after).
 */
import { ConsoleLogger } from '@nestjs/common';
import pino from 'pino';
import { ErrorCodes, SpleeterError } from '../../core/errors';

/** Logger for Nest until app.useLogger(pino) takes over: JSON, no colours. */
export function startupConsoleLogger(): ConsoleLogger {
  return new ConsoleLogger({ json: true, colors: false });
}

/**
 * One pino JSON line at level fatal on stderr: the message, and for unexpected errors the error
 * with its stack (configuration errors are the operator's to fix; a stack adds nothing there).
 */
export function logFatalStartupError(err: unknown, options: { expected?: boolean } = {}): void {
  const logger = pino(
    { base: { pid: process.pid, service: 'spleeter-server' } },
    pino.destination({ fd: 2, sync: true }),
  );
  const message = err instanceof Error ? err.message : String(err);
  // A machine without the GPU that performance.require_gpu demands: the operator's to fix, no stack.
  if (err instanceof SpleeterError && err.code === ErrorCodes.GPU_UNAVAILABLE)
    logger.fatal({ context: 'Bootstrap', code: err.code }, `Start-up failed: ${message}`);
  else if (options.expected) logger.fatal({ context: 'Bootstrap' }, `Start-up failed: ${message}`);
  else logger.fatal({ context: 'Bootstrap', err }, `Start-up failed: ${message}`);
}
