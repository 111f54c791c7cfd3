/**
 * Shared set-up for the security and audit e2e/integration specs: the real app (createApp) on a
 * throw-away SQLite file or a throw-away PostgreSQL database, JWT signing helpers and a local JWKS
 * server. Nothing is mocked.
 */
import * as http from 'http';
import type { INestApplication } from '@nestjs/common';
import { EngineService } from '../../src/modules/engine/engine.service';
import { FakeEngineService } from '../support/fake-engine';
import { createPgDatabase, eventually, mergeConfig, startTestApp, type TestApp } from '../factories/app';

export { createPgDatabase, eventually, type TestApp };

export interface StartOptions {
  /** Reuse a working directory (restarts, two replicas on one SQLite file). */
  dir?: string;
  /** Swap in the fake engine (jobs without the real model stack). */
  fakeEngine?: boolean;
  /** Nest logger on (default off). */
  logger?: boolean;
}

/** The real app on a throw-away SQLite file (or `database.url`), audit flushed every 50 ms. */
export function startApp(
  config: Record<string, unknown> = {},
  dirOrOptions?: string | StartOptions,
): Promise<TestApp> {
  const options: StartOptions =
    typeof dirOrOptions === 'string' ? { dir: dirOrOptions } : (dirOrOptions ?? {});
  return startTestApp({
    config: mergeConfig({ audit: { flush_interval_ms: 50 } }, config),
    dir: options.dir,
    logger: options.logger,
    overrides: options.fakeEngine ? [{ provide: EngineService, useValue: new FakeEngineService() }] : [],
  });
}

/** A JWKS endpoint on 127.0.0.1 serving whatever `keys` holds at request time. */
export async function startJwksServer(
  keys: () => object[],
): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: keys() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    hits: () => hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface RouteInfo {
  method: string;
  path: string;
}

/** Every route registered on the Express app (Nest controllers and Swagger), params filled in. */
export function listRoutes(app: INestApplication): RouteInfo[] {
  const express = app.getHttpAdapter().getInstance() as {
    router?: { stack: unknown[] };
    _router?: { stack: unknown[] };
  };
  const stack = (express.router ?? express._router)?.stack ?? [];
  const out: RouteInfo[] = [];
  for (const layer of stack as Array<{
    route?: { path: string | string[]; methods: Record<string, boolean> };
  }>) {
    if (!layer.route) continue;
    for (const p of Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]) {
      // Catch-all layers are middleware bound with forRoutes('{*path}'), not endpoints.
      if (/^\/?\{?\*/.test(p)) continue;
      for (const [m, on] of Object.entries(layer.route.methods)) {
        if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: p });
      }
    }
  }
  return out;
}

/** `/v1/jobs/:id/stems/:stem` → `/v1/jobs/x0000000/stems/x0000000` */
export function concretePath(pattern: string): string {
  return pattern
    .replace(/\{[^}]*\}/g, '')
    .replace(/:[A-Za-z0-9_]+/g, 'x0000000')
    .replace(/\*[A-Za-z0-9_]*/g, 'x');
}
