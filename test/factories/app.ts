/**
 * Boots the real application for e2e/integration tests: every file (SQLite database, storage,
 * cache, models) inside a fresh temp directory, config overrides deep-merged on top, optional
 * provider overrides, optional listening socket (for raw HTTP clients, SSE, callbacks). PostgreSQL
 * runs get a throw-away database per run (`createPgDatabase`), so parallel runs never clash.
 *
 *   const t = await startTestApp({ config: { queue: { capacity: 2 } } });
 *   await request(t.server).get('/v1/separations').expect(200);
 *   await t.close();
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import type * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { INestApplication, Provider } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { Client } from 'pg';
import type { DestinationStream } from 'pino';
import { configureApp } from '../../src/app.factory';
import { AppModule } from '../../src/app.module';
import type { ProcessRole } from '../../src/infra/queue/process-role';

export interface TestAppOptions {
  /** Config overrides (keys as in config.schema.ts), merged over the temp-dir defaults. */
  config?: Record<string, unknown>;
  /** Environment the config loader reads (default none), e.g. SPLEETER_CONFIG naming a YAML file. */
  env?: NodeJS.ProcessEnv;
  /** Reuse this working directory (restart tests); it is then not deleted on close. */
  dir?: string;
  /** Replace providers, e.g. `{ provide: EngineService, useValue: fake }`. */
  overrides?: Array<{
    provide: Provider | string | symbol | (abstract new (...args: never[]) => unknown);
    useValue: unknown;
  }>;
  role?: ProcessRole;
  /** Listen on 127.0.0.1:<ephemeral> and expose `url` (default false: supertest needs no socket). */
  listen?: boolean;
  /** Nest logger (default off). */
  logger?: boolean;
  /**
   * Capture the app's JSON log lines here (the Nest logger then goes through pino, as in
   * production); set `logging.level` in `config`, the test default is silent. The Nest logger is
   * process-wide: only one app per test process should capture at a time.
   */
  logDestination?: DestinationStream;
}

export interface TestApp {
  app: INestApplication;
  server: http.Server;
  dir: string;
  /** Where the app keeps storage (uploads/, results/, tmp/). */
  storageDir: string;
  /** Storage scratch directory: must be empty when no request or job is in flight. */
  scratchDir: string;
  /** Base URL when started with `listen`. */
  url: string;
  get<T>(token: string | symbol | (abstract new (...args: never[]) => T)): T;
  close(): Promise<void>;
}

/** Deep merge for config objects (arrays and scalars replace). */
export function mergeConfig(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
        ? mergeConfig(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** Config that keeps every file of the app inside `dir`, with quiet, test-friendly defaults. */
export function testConfig(dir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return mergeConfig(
    {
      env: 'test',
      database: { sqlite_path: path.join(dir, 'db.sqlite') },
      storage: { dir: path.join(dir, 'storage') },
      cache: { dir: path.join(dir, 'cache'), redis_enabled: false },
      models: { dir: path.join(dir, 'models') },
      monitoring: { enabled: false },
      logging: { level: 'silent' },
      server: { shutdown_timeout_s: 5 },
    },
    overrides,
  );
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownsDir = !options.dir;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-e2e-'));
  const config = testConfig(dir, options.config);
  let app: NestExpressApplication;
  try {
    let builder = Test.createTestingModule({
      imports: [
        AppModule.forRoot(
          { env: options.env ?? {}, configDir: path.join(dir, 'no-config'), overrides: config },
          { role: options.role, logDestination: options.logDestination },
        ),
      ],
    });
    for (const o of options.overrides ?? [])
      builder = builder.overrideProvider(o.provide).useValue(o.useValue);
    const moduleRef = await builder.compile();
    const capture = options.logDestination !== undefined;
    app = moduleRef.createNestApplication<NestExpressApplication>({
      bodyParser: false,
      logger: options.logger || capture ? undefined : false,
      bufferLogs: capture,
    });
    if (capture) app.useLogger(app.get(PinoNestLogger));
    await configureApp(app);
    if (options.listen) await app.listen(0, '127.0.0.1');
    else await app.init();
  } catch (err) {
    if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const server = app.getHttpServer() as http.Server;
  const address = options.listen ? server.address() : null;
  const storageDir = path.resolve((config.storage as { dir: string }).dir);
  let closed = false;
  return {
    app,
    server,
    dir,
    storageDir,
    scratchDir: path.join(storageDir, 'tmp'),
    url: address && typeof address === 'object' ? `http://127.0.0.1:${address.port}` : '',
    get: (token) => app.get(token as never),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      if (ownsDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const PG_TEST_URL = process.env.SPLEETER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PgTestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh PostgreSQL database for this run, or null (with a note on stderr) when PostgreSQL is down. */
export async function createPgDatabase(): Promise<PgTestDatabase | null> {
  const admin = new Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (err) {
    process.stderr.write(
      `PostgreSQL not reachable at ${PG_TEST_URL} (${(err as Error).message}): PostgreSQL cases skipped\n`,
    );
    return null;
  }
  const name = `spleeter_test_${randomBytes(6).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_TEST_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new Client({ connectionString: PG_TEST_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Polls `fn` until it returns something truthy; throws with the last error after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 15_000,
  stepMs = 50,
): Promise<T> {
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

/** Files (recursively) under `dir`; [] when it does not exist. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

/**
 * Absolute paths of this machine quoted in `text` (a response body): any `/<top-level dir>/…`
 * that exists under `/` here, and the given directories. [] when the text gives nothing away.
 */
export function serverPathsIn(text: string, ...dirs: string[]): string[] {
  const found = new Set<string>();
  for (const d of dirs) if (d && text.includes(d)) found.add(d);
  const roots = fs.readdirSync('/').filter((n) => /^[\w.-]+$/.test(n));
  const re = new RegExp(
    `(?:^|[^\\w.:/-])(/(?:${roots.map((r) => r.replace(/\./g, '\\.')).join('|')})/[^\\s"'<>]*)`,
    'g',
  );
  for (const m of text.matchAll(re)) found.add(m[1]);
  return [...found];
}
