import { PinoLogger } from 'nestjs-pino';
import { storage, Store } from 'nestjs-pino/storage';

export interface LogBindings {
  jobId?: string;
  model?: string;
  principal?: string;
  requestId?: string;
  [key: string]: unknown;
}

/**
 * Runs `fn` with `bindings` added to every log line written inside it, through any Nest `Logger`
 * or `PinoLogger` (nestjs-pino keeps the current logger in AsyncLocalStorage). Use it where no HTTP
 * request carries the context, e.g. a queue processor:
 *
 *   await runWithLogContext({ jobId, model, requestId }, () => this.service.run(job));
 *
 * Inside an HTTP request, `PinoLogger.assign({ jobId, model })` does the same for that request.
 */
export function runWithLogContext<T>(bindings: LogBindings, fn: () => T): T {
  const base = storage.getStore()?.logger ?? (PinoLogger.root as PinoLogger['logger'] | undefined);
  if (!base) return fn();
  const clean = Object.fromEntries(Object.entries(bindings).filter(([, v]) => v !== undefined));
  return storage.run(new Store(base.child(clean)), fn);
}
