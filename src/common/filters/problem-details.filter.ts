import { randomUUID } from 'crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ErrorCodes, SpleeterError, type ErrorCode } from '../../core/errors';
import { scrubPathsDeep } from '../../core/scrub-paths';
import { requestIdOf } from '../logging/request-id';
import { statusForCode } from './error-status';

/** RFC 7807 body. `code` is stable and documented; `detail` is for humans. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
  requestId?: string;
  errorId?: string;
  errors?: unknown;
  [extra: string]: unknown;
}

const HTTP_CODE_NAMES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'FILE_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  416: 'RANGE_NOT_SATISFIABLE',
  422: 'VALIDATION_FAILED',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/** Extra fields a domain error may expose to clients (everything else in `context` stays in the log). */
const PUBLIC_CONTEXT_KEYS = ['stem', 'model', 'format', 'limit', 'retryAfterSeconds', 'field', 'available'];

@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const problem = scrubProblem(this.toProblem(exception, req));
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const retryAfter = problem.retryAfterSeconds;
    if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(Math.ceil(retryAfter)));
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  toProblem(exception: unknown, req?: Request & { id?: string }): ProblemDetails {
    const requestId = req ? requestIdOf(req) : undefined;
    const instance = req?.originalUrl?.split('?')[0];
    if (exception instanceof SpleeterError) {
      const code = exception.code as ErrorCode;
      const status = code in ErrorCodes ? statusForCode(code) : 500;
      const extras: Record<string, unknown> = {};
      for (const k of PUBLIC_CONTEXT_KEYS)
        if (exception.context[k] !== undefined) extras[k] = exception.context[k];
      // 503s (queue full or unreachable, shutting down) are refusals, not faults: under load or
      // during a Redis outage a stack per request would flood the log (the queue logs the outage).
      if (status >= 500 && status !== 503)
        this.logger.error(`${exception.code}: ${exception.message}`, exception.stack);
      return {
        type: `https://spleeter-server.dev/problems/${exception.code.toLowerCase().replace(/_/g, '-')}`,
        title: titleFor(status),
        status,
        code: exception.code,
        detail: exception.message,
        instance,
        requestId,
        ...extras,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      let detail = exception.message;
      let errors: unknown;
      let code = HTTP_CODE_NAMES[status] ?? `HTTP_${status}`;
      const extras: Record<string, unknown> = {};
      if (typeof body === 'object' && body !== null) {
        const b = body as Record<string, unknown>;
        if (Array.isArray(b.message)) {
          errors = b.message;
          detail = (b.message as string[]).join('; ');
          code = ErrorCodes.VALIDATION_FAILED;
        } else if (typeof b.message === 'string') {
          detail = b.message;
        }
        if (typeof b.code === 'string') code = b.code;
        if (typeof b.retryAfterSeconds === 'number') extras.retryAfterSeconds = b.retryAfterSeconds;
      }
      // Validation failures come from Nest as 400: report them as 422 with a stable code.
      const finalStatus = code === ErrorCodes.VALIDATION_FAILED && status === 400 ? 422 : status;
      return {
        type: `https://spleeter-server.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
        title: titleFor(finalStatus),
        status: finalStatus,
        code,
        detail,
        instance,
        requestId,
        ...(errors ? { errors } : {}),
        ...extras,
      };
    }
    const bodyParserStatus = bodyParserErrorStatus(exception);
    if (bodyParserStatus) {
      const code = HTTP_CODE_NAMES[bodyParserStatus] ?? `HTTP_${bodyParserStatus}`;
      return {
        type: `https://spleeter-server.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
        title: titleFor(bodyParserStatus),
        status: bodyParserStatus,
        code,
        detail: (exception as Error).message,
        instance,
        requestId,
      };
    }
    const errorId = randomUUID();
    this.logger.error(
      `Unhandled error ${errorId} on ${req?.method} ${instance}: ${(exception as Error)?.message}`,
      (exception as Error)?.stack,
    );
    return {
      type: 'https://spleeter-server.dev/problems/internal',
      title: titleFor(500),
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      code: ErrorCodes.INTERNAL,
      detail: `An internal error occurred. Quote error id ${errorId} when reporting it.`,
      instance,
      requestId,
      errorId,
    };
  }
}

/** The API's own routes, which messages may quote (`Cannot GET /v1/…`); any other path is the server's. */
const API_ROUTE = /^\/(v1|health|metrics|docs)(\/|$)/;

/**
 * Last line of defence: no absolute server path leaves in a problem body, whichever error put it in
 * a message (ffmpeg, onnxruntime, the file system...). The full error still goes to the log.
 */
export function scrubProblem(problem: ProblemDetails): ProblemDetails {
  const keep = (p: string) => API_ROUTE.test(p);
  const out = { ...problem };
  for (const [k, v] of Object.entries(problem)) {
    // `instance` is the request's own URL path.
    if (k !== 'type' && k !== 'instance') out[k] = scrubPathsDeep(v, keep);
  }
  return out;
}

/** body-parser / multer errors carry `status` or `statusCode`. */
function bodyParserErrorStatus(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown };
  const s =
    typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  return s && s >= 400 && s < 500 ? s : undefined;
}

function titleFor(status: number): string {
  const name = HttpStatus[status];
  if (typeof name !== 'string') return 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join(' ');
}
