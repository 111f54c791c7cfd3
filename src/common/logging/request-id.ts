import { randomUUID } from 'crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'http';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** What we accept from a client or proxy: short, printable, no separators that could forge log lines. */
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The caller's X-Request-Id when it is safe to echo (the first of several), else undefined. */
export function safeRequestId(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SAFE_REQUEST_ID.test(value) ? value : undefined;
}

/** The caller's X-Request-Id when it is safe to echo, else a fresh UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return safeRequestId(header) ?? randomUUID();
}

/**
 * The id of a request for audit rows, problem responses and service contexts: the one pino-http
 * gave it (genRequestId, also in the response header), else the caller's header when safe to echo
 * (outside the HTTP pipeline: unit tests, a request refused before the logger ran). Never a fresh
 * one: an id made here would match no log line.
 */
export function requestIdOf(req: { id?: unknown; headers?: IncomingHttpHeaders }): string | undefined {
  if (typeof req.id === 'string' || typeof req.id === 'number') return String(req.id);
  return safeRequestId(req.headers?.['x-request-id']);
}

/** pino-http genReqId: picks the id and returns it to the client in the response header. */
export function genRequestId(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdFrom(req.headers['x-request-id']);
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}
