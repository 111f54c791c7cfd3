import { randomUUID } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** What we accept from a client or proxy: short, printable, no separators that could forge log lines. */
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The caller's X-Request-Id when it is safe to echo, else a fresh UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SAFE_REQUEST_ID.test(value) ? value : randomUUID();
}

/** pino-http genReqId: picks the id and returns it to the client in the response header. */
export function genRequestId(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdFrom(req.headers['x-request-id']);
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}
