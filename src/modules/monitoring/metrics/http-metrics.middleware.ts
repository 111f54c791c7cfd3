import { Injectable, type NestMiddleware } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { NextFunction, Request, Response } from 'express';
import type { Histogram } from 'prom-client';
import { MetricNames } from './metric-names';

/**
 * Request duration by route *template* (`/v1/separations/:id`, never the raw URL, so the series
 * count stays bounded) and status. A middleware rather than an interceptor so that requests
 * stopped by guards, pipes or the 404 handler are counted too. Express sets `req.route` when a
 * route matches; unmatched requests are labelled `unmatched`.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(@InjectMetric(MetricNames.HttpRequestDuration) private readonly histogram: Histogram<string>) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    let done = false;
    const observe = (): void => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.histogram.observe(
        { method: req.method, route: routeTemplate(req), status_code: String(res.statusCode) },
        seconds,
      );
    };
    res.once('finish', observe);
    // Client went away before the response completed: still a request we spent time on.
    res.once('close', observe);
    next();
  }
}

const CATCH_ALL = /^\/?(\{\/?\*\w*\}|\*\w*|\(\.\*\))$/;

export function routeTemplate(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route;
  // Nest mounts every controller route on the application router, so the route path is the full
  // template. Middleware applied with forRoutes('{*path}') is mounted as a catch-all route too and
  // leaves its pattern in req.route when no controller route matched: that is an unmatched request.
  if (route && typeof route.path === 'string' && !CATCH_ALL.test(route.path)) return route.path || '/';
  return 'unmatched';
}
