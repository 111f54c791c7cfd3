/**
 * Connecting to PostgreSQL at start-up, with retries that say what they are doing. TypeORM's own
 * retry (through @nestjs/typeorm) logged through Nest's buffered start-up logger: nothing for
 * half a minute, then coloured plain-text lines with stacks. Here every failed attempt is one JSON
 * line at once (pino, as the app logs), and the last one ends start-up with an error that names
 * `database.url`, with the password masked.
 */
import pino, { type Logger } from 'pino';
import { DataSource, type DataSourceOptions } from 'typeorm';

export interface ConnectRetryOptions {
  /** Attempts after the first failed one. */
  retries: number;
  delayMs: number;
  /** For messages: where the database is (password already masked). */
  target: string;
  logger: Pick<Logger, 'warn'>;
  sleep?: (ms: number) => Promise<void>;
}

/** `database.url` for messages: the password (and any query string) replaced. */
export function maskDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    u.search = '';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** A JSON logger on stdout for before the app's pino logger exists (the same line format). */
export function startupJsonLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, service: 'spleeter-server' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 1, sync: true }),
  );
}

export class DatabaseUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

/** Initializes `options` as a DataSource, retrying connection failures; migrations errors are not retried. */
export async function connectWithRetry(
  options: DataSourceOptions,
  retry: ConnectRetryOptions,
): Promise<DataSource> {
  const attempts = retry.retries + 1;
  const sleep = retry.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    const dataSource = new DataSource(options);
    try {
      return await dataSource.initialize();
    } catch (err) {
      if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
      const message = (err as Error).message || String(err);
      // A failed migration or a rejected password does not get better by waiting.
      if (!isConnectionError(err)) throw err;
      if (attempt >= attempts) {
        throw new DatabaseUnavailableError(
          `Cannot connect to PostgreSQL at database.url=${retry.target} after ${attempts} attempt(s): ${message}`,
          { cause: err },
        );
      }
      retry.logger.warn(
        { context: 'Database', attempt, attempts, retryInMs: retry.delayMs, error: message },
        `PostgreSQL at ${retry.target} not reachable (attempt ${attempt} of ${attempts}): ${message}; retrying in ${retry.delayMs / 1000} s`,
      );
      await sleep(retry.delayMs);
    }
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P03', // cannot_connect_now: the server is starting up
]);

/** Whether `err` says the server could not be reached (worth retrying), not that it refused us. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[] };
  if (typeof e?.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  // Node reports "localhost" failures over IPv4 and IPv6 as one AggregateError.
  if (Array.isArray(e?.errors) && e.errors.some((x) => isConnectionError(x))) return true;
  return (
    typeof e?.message === 'string' && /connection terminated|timeout expired|connect ECONN/i.test(e.message)
  );
}
