import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import type { RequestWithAudit } from '../../common/decorators/audit-route';

/**
 * Completes the HTTP audit record of a handled request: when a handler creates something (POST
 * answering `{ id }`), the new resource's id becomes the record's resource id. The record itself is
 * written by AuditHttpMiddleware, which also sees requests refused before any interceptor runs.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<RequestWithAudit>();
    return next.handle().pipe(
      tap((body: unknown) => {
        const route = req.auditRoute;
        if (!route || route.resourceId) return;
        const id = body && typeof body === 'object' ? (body as { id?: unknown }).id : undefined;
        if (typeof id === 'string' || typeof id === 'number') route.resourceId = String(id).slice(0, 255);
      }),
    );
  }
}
