import { SetMetadata } from '@nestjs/common';

/** Metadata key read by the global guards (auth, roles, rate limit). */
export const IS_PUBLIC_KEY = 'spleeter:isPublic';

/**
 * Marks a route (or a whole controller) as reachable without credentials. Reserved for health
 * probes, metrics (when `monitoring.metrics_public`) and the API docs: everything else is
 * authenticated by default because the auth guard is global.
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);
