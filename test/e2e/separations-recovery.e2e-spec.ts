/**
 * Restart recovery and graceful shutdown, on SQLite and on PostgreSQL: queued jobs run after a
 * restart, a job interrupted mid-run is re-queued (never left 'running'), finished jobs and their
 * files are still served; SIGTERM exits cleanly.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import {
  createPgDatabase,
  eventually,
  listFiles,
  startTestApp,
  type PgTestDatabase,
  type TestApp,
} from '../factories/app';
import { binaryParser, decodeWav, ENGINE_KIND, engineOverrides, mixtureWav } from './separations-support';

jest.setTimeout(240_000);

const BASE = { security: { auth_enabled: false, rate_limit: { limit: 100_000 } }, cache: { enabled: false } };

describe.each(['sqlite', 'postgres'] as const)('Separations API: restart recovery on %s (e2e)', (db) => {
  let pg: PgTestDatabase | null = null;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `sep-restart-${db}-`));
    if (db === 'postgres') pg = await createPgDatabase();
  });
  afterAll(async () => {
    await pg?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = (extra: Record<string, unknown> = {}): Promise<TestApp> => {
    const database = db === 'postgres' ? { database: { url: pg!.url } } : {};
    return startTestApp({
      dir,
      config: { ...BASE, ...database, queue: { concurrency: 1 }, ...extra },
      overrides: engineOverrides(),
    });
  };

  it('runs queued and interrupted jobs after a restart; finished jobs keep their files', async () => {
    if (db === 'postgres' && !pg) return;
    // Short grace period: closing the app aborts the running job instead of waiting for it.
    const first = await start({ server: { shutdown_timeout_s: 0.2 } });
    const finished = (
      await request(first.server)
        .post('/v1/separations?wait=60')
        .attach('file', mixtureWav(2), 'done.wav')
        .expect(200)
    ).body;
    expect(finished.status).toBe('succeeded');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(first.server)
        .post('/v1/separations')
        .attach('file', mixtureWav(60 + i), `job${i}.wav`)
        .expect(202);
      ids.push(res.body.id);
    }
    await eventually(
      async () => (await request(first.server).get(`/v1/separations/${ids[0]}`)).body.status === 'running',
      // Returns as soon as the job runs; the margin is for a 2-core machine under the full suite.
      90_000,
      20,
    );
    await first.close();

    const second = await start();
    try {
      // Nothing is left 'running' by the dead process: each job is queued, running here, or done.
      const done = await eventually(
        async () => {
          const jobs = await Promise.all(
            ids.map(
              async (id) => (await request(second.server).get(`/v1/separations/${id}`).expect(200)).body,
            ),
          );
          return jobs.every((j) => j.status === 'succeeded') ? jobs : null;
        },
        180_000,
        200,
      );
      for (const [i, job] of done.entries()) {
        expect(job.stems).toHaveLength(2);
        for (const stem of job.stems) {
          const res = await request(second.server)
            .get(stem.url)
            .buffer(true)
            .parse(binaryParser as never)
            .expect(200);
          expect(decodeWav(res.body).data.length).toBe((60 + i) * 44100 * 2);
        }
      }
      const again = (await request(second.server).get(`/v1/separations/${finished.id}`).expect(200)).body;
      expect(again.status).toBe('succeeded');
      for (const stem of again.stems) {
        const res = await request(second.server)
          .get(stem.url)
          .buffer(true)
          .parse(binaryParser as never)
          .expect(200);
        expect(res.body.length).toBe(stem.sizeBytes);
      }
      expect(listFiles(path.join(second.storageDir, 'uploads'))).toEqual([]);
      await eventually(() => listFiles(second.scratchDir).length === 0, 5000);
    } finally {
      await second.close();
    }
  });

  it('graceful shutdown lets a running job finish within server.shutdown_timeout_s', async () => {
    if (db === 'postgres' && !pg) return;
    const app = await start({ server: { shutdown_timeout_s: 60 } });
    const job = (
      await request(app.server)
        .post('/v1/separations')
        .attach('file', mixtureWav(30), 'grace.wav')
        .expect(202)
    ).body;
    await eventually(
      async () => (await request(app.server).get(`/v1/separations/${job.id}`)).body.status === 'running',
      30_000,
      20,
    );
    await app.close();
    const after = await start();
    try {
      const res = (await request(after.server).get(`/v1/separations/${job.id}`).expect(200)).body;
      expect(res.status).toBe('succeeded');
    } finally {
      await after.close();
    }
  });
});

describe('Server process (e2e)', () => {
  it('shuts down cleanly on SIGTERM, re-queuing the running job', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sep-sigterm-'));
    const port = await freePort();
    const root = path.resolve(__dirname, '..', '..');
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        SPLEETER_PORT: String(port),
        SPLEETER_HOST: '127.0.0.1',
        SPLEETER_STORAGE_DIR: path.join(dir, 'storage'),
        SPLEETER_SQLITE_PATH: path.join(dir, 'db.sqlite'),
        SPLEETER_CACHE_DIR: path.join(dir, 'cache'),
        SPLEETER_MODELS_DIR: path.join(dir, 'models'),
        SPLEETER_SECURITY__AUTH_ENABLED: 'false',
        SPLEETER_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const base = `http://127.0.0.1:${port}`;
    try {
      await eventually(async () => (await request(base).get('/v1/separations')).status === 200, 90_000, 250);
      let jobId: string | null = null;
      if (ENGINE_KIND === 'real') {
        jobId = (
          await request(base).post('/v1/separations').attach('file', mixtureWav(120), 'term.wav').expect(202)
        ).body.id;
        await eventually(
          async () => (await request(base).get(`/v1/separations/${jobId}`)).body.status === 'running',
          30_000,
          20,
        );
      }
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        exited,
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 60_000))),
      ]);
      clearTimeout(timer);
      // Nest closes the app, then re-raises the signal: a clean exit is "killed by SIGTERM" (or 0).
      expect(result === 'timeout' ? result : result.code === 0 || result.signal === 'SIGTERM').toBe(true);
      expect(stderr).not.toMatch(/error/i);
      if (jobId) {
        const restarted = await startTestApp({
          dir,
          config: {
            ...BASE,
            database: { sqlite_path: path.join(dir, 'db.sqlite') },
            storage: { dir: path.join(dir, 'storage') },
          },
        });
        try {
          const job = await eventually(
            async () => {
              const j = (await request(restarted.server).get(`/v1/separations/${jobId}`).expect(200)).body;
              return j.status === 'succeeded' ? j : null;
            },
            120_000,
            200,
          );
          expect(job.stems).toHaveLength(2);
        } finally {
          await restarted.close();
        }
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      child.stderr.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}
