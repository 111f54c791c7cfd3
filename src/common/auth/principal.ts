import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** Who is calling. Set on the request (`req.principal`) by the global auth guard (Security module). */
export interface Principal {
  id: string;
  role: 'user' | 'admin';
  method: 'api-key' | 'jwt' | 'anonymous';
  /** API key id or JWT subject, for the audit log. */
  keyId?: string;
}

/** When authentication is disabled (security.auth_enabled=false), every caller is this admin. */
export const ANONYMOUS_ADMIN: Principal = Object.freeze({
  id: 'anonymous',
  role: 'admin',
  method: 'anonymous',
});

export type RequestWithPrincipal = { principal?: Principal };

export const principalOf = (req: RequestWithPrincipal): Principal => req.principal ?? ANONYMOUS_ADMIN;

/** `@CurrentPrincipal() principal: Principal` in a handler. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal =>
  principalOf(ctx.switchToHttp().getRequest<RequestWithPrincipal>()),
);
