import type { Request } from 'express';
import { authReasonLabel } from './metrics-events.listener';
import { routeTemplate } from './http-metrics.middleware';

describe('routeTemplate', () => {
  const req = (path?: string) => ({ route: path === undefined ? undefined : { path } }) as unknown as Request;
  it('uses the matched route template, and calls catch-all middleware routes unmatched', () => {
    expect(routeTemplate(req('/v1/separations/:id'))).toBe('/v1/separations/:id');
    expect(routeTemplate(req('/v1/files/{*key}'))).toBe('/v1/files/{*key}');
    expect(routeTemplate(req('/{*path}'))).toBe('unmatched');
    expect(routeTemplate(req())).toBe('unmatched');
  });
});

describe('authReasonLabel', () => {
  it('keeps only the method so free-text reasons cannot explode the series count', () => {
    expect(authReasonLabel('jwt: jwt expired at 2026-01-01')).toBe('jwt');
    expect(authReasonLabel('api-key: unknown key')).toBe('api-key');
    expect(authReasonLabel('weird reason with spaces')).toBe('other');
    expect(authReasonLabel(undefined)).toBe('other');
  });
});
