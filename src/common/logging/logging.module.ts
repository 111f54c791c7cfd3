import type { IncomingMessage, ServerResponse } from 'http';
import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule, type Params } from 'nestjs-pino';
import { stdTimeFunctions, type DestinationStream } from 'pino';
import type { Options } from 'pino-http';
import type { Principal } from '../auth/principal';
import { AppConfig } from '../../infra/config/app-config';
import { nodeEnv, stdoutIsTerminal } from '../../infra/config/system-env';
import { REDACTED, REDACT_PATHS, redactUrl } from './redaction';
import { genRequestId } from './request-id';

export interface LoggingModuleOptions {
  /** Where log lines go (default stdout); tests capture them here. */
  destination?: DestinationStream;
}

/** Probes and scrapes every few seconds would drown the request log. */
const QUIET_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/**
 * Structured JSON logs through nestjs-pino: one line per request with its id (X-Request-Id, echoed
 * back), principal and status; every Nest `Logger` call inside a request carries `requestId` too.
 * Lines carry `time` as ISO 8601 and `level` as a label ("info"), for log shippers and humans alike.
 * Pretty output (pino-pretty, a devDependency) only when asked for (logging.pretty) or for a
 * development run on a terminal (env development, NODE_ENV not production, stdout a TTY), and only
 * if pino-pretty is installed; otherwise JSON.
 */
@Module({})
export class LoggingModule {
  static forRoot(options: LoggingModuleOptions = {}): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig): Params => buildLoggerParams(config, options.destination),
        }),
      ],
      exports: [LoggerModule],
    };
  }
}

type LoggedRequest = IncomingMessage & { id?: unknown; principal?: Principal; originalUrl?: string };

export function buildLoggerParams(config: AppConfig, destination?: DestinationStream): Params {
  const pretty = wantsPretty(config) && prettyAvailable();
  const options: Options = {
    level: config.logging.level,
    genReqId: genRequestId,
    customAttributeKeys: { reqId: 'requestId' },
    // App log lines inside a request carry only the request id, not the whole request object.
    quietReqLogger: true,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    autoLogging: { ignore: (req) => QUIET_PATHS.test(req.url ?? '') },
    // A 503 is a refusal with Retry-After (queue full or unreachable, shutting down, readiness
    // down), not a fault: at error level every refused request of an outage would page someone.
    customLogLevel: (_req, res, err) =>
      res.statusCode === 503
        ? 'warn'
        : err || res.statusCode >= 500
          ? 'error'
          : res.statusCode >= 400
            ? 'warn'
            : 'info',
    customProps: (req: LoggedRequest) => principalProps(req.principal),
    serializers: {
      req: (req: {
        id?: unknown;
        method?: string;
        url?: string;
        raw?: LoggedRequest;
        headers?: Record<string, unknown>;
      }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.raw?.originalUrl ?? req.url),
        userAgent: req.headers?.['user-agent'],
        remoteAddress: req.raw?.socket?.remoteAddress,
      }),
      res: (res: { statusCode?: number; raw?: ServerResponse }) => ({
        statusCode: res.statusCode,
        contentLength: res.raw?.getHeader?.('content-length'),
      }),
    },
    base: { service: 'spleeter-server', env: config.env },
    timestamp: stdTimeFunctions.isoTime,
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { singleLine: true, colorize: true } } }
      : { formatters: { level: (label: string) => ({ level: label }) } }),
  };
  return { pinoHttp: destination && !pretty ? [options, destination] : options };
}

function principalProps(principal: Principal | undefined): Record<string, unknown> {
  return principal ? { principal: { id: principal.id, role: principal.role, method: principal.method } } : {};
}

export function wantsPretty(config: AppConfig): boolean {
  if (config.logging.pretty !== null) return config.logging.pretty;
  return config.env === 'development' && nodeEnv() !== 'production' && stdoutIsTerminal();
}

function prettyAvailable(): boolean {
  try {
    require.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}
