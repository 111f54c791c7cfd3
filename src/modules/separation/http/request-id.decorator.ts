import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** The request id set by the request-id middleware (undefined if none ran). */
export const RequestId = createParamDecorator((_data: unknown, ctx: ExecutionContext): string | undefined => {
  const req = ctx.switchToHttp().getRequest<{ id?: unknown }>();
  return typeof req.id === 'string' ? req.id : undefined;
});
