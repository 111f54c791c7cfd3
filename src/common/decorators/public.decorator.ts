import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

/** Metadata key read by the global guards (auth, roles, rate limit). */
export const IS_PUBLIC_KEY = 'spleeter:isPublic';

/** OpenAPI extension marking an operation public; src/openapi.ts turns it into `security: []`. */
export const PUBLIC_OPENAPI_EXTENSION = 'x-spleeter-public';

/**
 * Marks a route (or a whole controller) as reachable without credentials. Reserved for health
 * probes, metrics (when `monitoring.metrics_public`) and the API docs: everything else is
 * authenticated by default because the auth guard is global.
 */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(IS_PUBLIC_KEY, true), ApiExtension(PUBLIC_OPENAPI_EXTENSION, true));
