import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { Principal } from '../../../common/auth/principal';
import { IS_PUBLIC_KEY } from '../../../common/decorators/public.decorator';
import { ErrorCodes, SecurityError } from '../../../core/errors';

/**
 * Global guard #2: @nestjs/throttler keyed by principal id (one budget per caller across all routes,
 * not per route), falling back to the client IP when there is no real principal (auth disabled).
 * Public routes (health probes, metrics, docs) are not limited: a busy load balancer must never get
 * a pod marked unhealthy by a 429. Refusals are RATE_LIMITED problems with Retry-After.
 */
@Injectable()
export class PrincipalThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    return (
      this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
        context.getHandler(),
        context.getClass(),
      ]) === true
    );
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = req.principal as Principal | undefined;
    if (principal && principal.method !== 'anonymous') return `principal:${principal.id}`;
    return `ip:${String(req.ip ?? 'unknown')}`;
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new SecurityError(
      ErrorCodes.RATE_LIMITED,
      `Rate limit of ${detail.limit} requests per ${Math.round(detail.ttl / 1000)} s reached`,
      {
        limit: detail.limit,
        retryAfterSeconds: Math.max(1, detail.timeToBlockExpire),
      },
    );
  }
}
