import { SetMetadata } from '@nestjs/common';
import type { Principal } from '../auth/principal';

export type Role = Principal['role'];

/** Metadata key read by RolesGuard. */
export const ROLES_KEY = 'spleeter:roles';

/**
 * Restricts a route (or a controller) to principals holding one of `roles`. `admin` satisfies
 * every role. Routes without it accept any authenticated principal, except that every route under
 * `/v1/admin/` requires `admin` even when a controller forgets this decorator (RolesGuard).
 */
export const Roles = (...roles: [Role, ...Role[]]): MethodDecorator & ClassDecorator =>
  SetMetadata(ROLES_KEY, roles);
