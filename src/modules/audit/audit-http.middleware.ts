import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Principal } from '../../common/auth/principal';
import { outcomeForStatus } from './audit-record';
import type { AuditRouteInfo } from '../../common/decorators/audit-route';
import { AuditWriter } from './audit-writer.service';
import { requestIdOf } from '../../common/logging/request-id';

type AuditedRequest = Request & {
  principal?: Principal;
  auditRoute?: AuditRouteInfo;
  authAttempt?: { method: string; keyId?: string; reason?: string };
  id?: unknown;
};

/**
 * One audit row per HTTP request, written when the response finishes (or the client goes away).
 * A middleware rather than an interceptor on purpose: interceptors never see requests that a guard
 * refused (401/403/429), unknown routes or body-parser errors, and those are exactly the ones an
 * audit log must not miss. The auth guard labels the request (action, resource) before deciding;
 * the AuditInterceptor adds the id of a created resource.
 * Successful requests to @Public() routes (probes, metrics, docs) are not recorded: a load
 * balancer polling every few seconds would drown the log in noise.
 */
@Injectable()
export class AuditHttpMiddleware implements NestMiddleware {
  constructor(private readonly writer: AuditWriter) {}

  use(req: AuditedRequest, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    const occurredAt = new Date();
    let done = false;
    const finish = (aborted: boolean): void => {
      if (done) return;
      done = true;
      const route = req.auditRoute;
      const status = aborted && !res.writableFinished ? 499 : res.statusCode;
      if (route?.isPublic && status < 400) return;
      const principal = req.principal ?? null;
      const attempt = req.authAttempt;
      this.writer.record({
        action: route?.action ?? (status === 404 ? 'http.not_found' : 'http.request'),
        outcome: outcomeForStatus(status),
        occurredAt,
        requestId: requestIdOf(req) ?? null,
        principal,
        authMethod: principal ? undefined : attempt?.method,
        resourceType: route?.resourceType ?? null,
        resourceId: route?.resourceId ?? null,
        httpStatus: status,
        clientIp: req.ip ?? null,
        userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : null,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        details: {
          method: req.method,
          // The route pattern, or the path without its query string (which may carry tokens).
          path: route?.route ?? (req.originalUrl ?? req.url).split('?')[0].slice(0, 512),
          ...(principal ? {} : attempt?.keyId ? { keyId: attempt.keyId } : {}),
          ...(aborted && !res.writableFinished ? { aborted: true } : {}),
        },
      });
    };
    res.once('finish', () => finish(false));
    res.once('close', () => finish(true));
    next();
  }
}
