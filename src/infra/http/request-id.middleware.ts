import { randomUUID } from 'crypto';
import type { NextFunction, Request, Response } from 'express';

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (`req.id`, echoed as X-Request-Id): the caller's X-Request-Id when it is
 * sane, else a new UUID. Problem responses and logs quote it. A logger that assigns `req.id`
 * itself (pino-http) runs first and wins.
 */
export function requestIdMiddleware(req: Request & { id?: unknown }, res: Response, next: NextFunction): void {
  if (typeof req.id !== 'string' || !req.id) {
    const header = req.headers['x-request-id'];
    req.id = typeof header === 'string' && VALID_ID.test(header) ? header : randomUUID();
  }
  res.setHeader('X-Request-Id', req.id as string);
  next();
}
