import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { RequestWithPrincipal } from '../../../common/auth/principal';
import { IS_PUBLIC_KEY } from '../../../common/decorators/public.decorator';
import { ROLES_KEY, type Role } from '../../../common/decorators/roles.decorator';
import { ErrorCodes, SecurityError } from '../../../core/errors';

/** Every route under this prefix needs `admin`, decorator or not (defence in depth). */
const ADMIN_PREFIX = '/v1/admin';

/**
 * Global guard #3: `@Roles(...)` metadata decides; `admin` satisfies every role. Whether a route is an
 * admin route is also read from its registered path, so a controller under /v1/admin that forgets
 * `@Roles('admin')` is still closed to users. Ownership (a user's own jobs) is not a role question:
 * services filter by principal.id and answer 404 for other people's resources.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets)) return true;
    const req = context.switchToHttp().getRequest<Request & RequestWithPrincipal>();
    let required = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (isAdminPath(req)) required = ['admin'];
    const principal = req.principal;
    if (!principal) {
      // Only reachable if the auth guard did not run: fail closed.
      throw new SecurityError(ErrorCodes.UNAUTHENTICATED, 'Authentication required');
    }
    if (!required || required.length === 0 || principal.role === 'admin' || required.includes(principal.role))
      return true;
    throw new SecurityError(
      ErrorCodes.FORBIDDEN,
      `This operation requires the ${required.join(' or ')} role`,
    );
  }
}

function isAdminPath(req: Request): boolean {
  // The registered pattern, lower-cased: Express matches paths case-insensitively, so /V1/ADMIN/x
  // reaches the same handler and must be judged the same.
  const pattern = typeof req.route?.path === 'string' ? req.route.path : req.path;
  const p = pattern.toLowerCase().replace(/\/{2,}/g, '/');
  return p === ADMIN_PREFIX || p.startsWith(`${ADMIN_PREFIX}/`);
}
