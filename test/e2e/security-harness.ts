/**
 * Shared set-up for the security and audit e2e/integration specs: the real app (createApp) on a
 * throw-away SQLite file or a throw-away PostgreSQL database, JWT signing helpers and a local JWKS
 * server. Nothing is mocked.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { createApp } from '../../src/app.factory';

export interface TestApp {
  app: INestApplication;
  server: http.Server;
  dir: string;
  close(): Promise<void>;
}

/** Deep-merges test overrides over a config that keeps every file inside a temp dir. */
export function testConfig(dir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    env: 'test',
    database: { sqlite_path: path.join(dir, 'db.sqlite') },
    storage: { dir: path.join(dir, 'storage') },
    cache: { dir: path.join(dir, 'cache') },
    models: { dir: path.join(dir, 'models') },
    monitoring: { enabled: false },
    audit: { flush_interval_ms: 50 },
  };
  return merge(base, overrides);
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
        ? merge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export async function startApp(overrides: Record<string, unknown> = {}, dir?: string): Promise<TestApp> {
  const workDir = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-sec-'));
  let app: INestApplication;
  try {
    app = await createApp({ config: { env: {}, overrides: testConfig(workDir, overrides) }, logger: false });
    await app.init();
  } catch (err) {
    if (!dir) fs.rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  const server = app.getHttpServer() as http.Server;
  let closed = false;
  return {
    app,
    server,
    dir: workDir,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      if (!dir) fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export const PG_ADMIN_URL = process.env.SPLEETER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh database per run (CREATE DATABASE spleeter_test_<random>), so parallel runs never clash. */
export async function createPgDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> } | null> {
  const admin = new Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (err) {
    process.stderr.write(`PostgreSQL not reachable at ${PG_ADMIN_URL} (${(err as Error).message}): PostgreSQL cases skipped\n`);
    return null;
  }
  const name = `spleeter_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Polls until `fn` returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

/** A JWKS endpoint on 127.0.0.1 serving whatever `keys` holds at request time. */
export async function startJwksServer(keys: () => object[]): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
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
  const express = app.getHttpAdapter().getInstance() as { router?: { stack: unknown[] }; _router?: { stack: unknown[] } };
  const stack = (express.router ?? express._router)?.stack ?? [];
  const out: RouteInfo[] = [];
  for (const layer of stack as Array<{ route?: { path: string | string[]; methods: Record<string, boolean> } }>) {
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
  return pattern.replace(/\{[^}]*\}/g, '').replace(/:[A-Za-z0-9_]+/g, 'x0000000').replace(/\*[A-Za-z0-9_]*/g, 'x');
}
