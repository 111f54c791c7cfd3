import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { IS_PUBLIC_KEY } from './public.decorator';

export const AUDIT_ACTION_KEY = 'spleeter:auditAction';

export interface AuditActionOptions {
  /** Defaults to the controller name (`ModelsController` → `models`). */
  resourceType?: string;
  /** Route param holding the resource id; defaults to `id`, `jobId`, `name`, then the first param. */
  resourceIdParam?: string;
}

/**
 * Names the audit action of a handler, e.g. `@AuditAction('model.install', { resourceType: 'model',
 * resourceIdParam: 'name' })`. Without it the action is derived: `<controller>.<handler>`
 * (`SeparationsController.create` → `separations.create`).
 */
export const AuditAction = (
  action: string,
  options: AuditActionOptions = {},
): MethodDecorator & ClassDecorator => SetMetadata(AUDIT_ACTION_KEY, { action, ...options });

/** What the HTTP audit record says about the matched route; left on the request by the auth guard. */
export interface AuditRouteInfo {
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  isPublic: boolean;
  /** Route pattern (e.g. `/v1/jobs/:id`), never the raw URL with its query string. */
  route: string | null;
}

export type RequestWithAudit = Request & { auditRoute?: AuditRouteInfo };

const ID_PARAMS = ['id', 'jobId', 'name', 'keyId'];

export function describeRoute(context: ExecutionContext, reflector: Reflector): AuditRouteInfo {
  const req = context.switchToHttp().getRequest<RequestWithAudit>();
  const handler = context.getHandler();
  const cls = context.getClass();
  const meta = reflector.getAllAndOverride<({ action: string } & AuditActionOptions) | undefined>(
    AUDIT_ACTION_KEY,
    [handler, cls],
  );
  const base = kebab(cls.name.replace(/Controller$/, '')) || 'app';
  const params = (req.params ?? {}) as Record<string, string>;
  const idParam =
    meta?.resourceIdParam ?? ID_PARAMS.find((p) => typeof params[p] === 'string') ?? Object.keys(params)[0];
  const resourceId = idParam && typeof params[idParam] === 'string' ? params[idParam].slice(0, 255) : null;
  return {
    action: (meta?.action ?? `${base}.${handler.name}`).slice(0, 64),
    resourceType: meta?.resourceType ?? base,
    resourceId,
    isPublic: reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [handler, cls]) === true,
    route: typeof req.route?.path === 'string' ? req.route.path : null,
  };
}

function kebab(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}
