import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { describeRoute, type RequestWithAudit } from '../../../common/decorators/audit-route';
import { AuthenticationService, type AuthenticatedRequest } from '../authentication.service';

/**
 * Global guard #1: every route requires credentials unless marked @Public(). Resolves X-API-KEY or
 * a Bearer JWT into `req.principal` (AuthenticationService). It also labels the request for the
 * HTTP audit record first, so a refused request is still logged with the action it tried.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authn: AuthenticationService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest & RequestWithAudit>();
    const route = describeRoute(context, this.reflector);
    req.auditRoute = route;
    if (route.isPublic) return true;
    try {
      req.principal = await this.authn.authenticate(req);
    } catch (err) {
      context
        .switchToHttp()
        .getResponse<Response>()
        .setHeader('WWW-Authenticate', 'Bearer realm="spleeter-server", ApiKey header="X-API-KEY"');
      throw err;
    }
    return true;
  }
}
