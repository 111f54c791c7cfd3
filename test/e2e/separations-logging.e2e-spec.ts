/**
 * Job log lines as operators read them: one JSON line when a job starts, succeeds or fails, with the
 * job id, model, provider, audio seconds and realtime factor, `time` in ISO 8601 and `level` as a
 * label. Checked on the captured pino destination of an API process that runs its own jobs, and
 * on the standard output of a separate worker process (Redis queue; skipped when Redis is down).
 */
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Logger } from '@nestjs/common';
import IORedis from 'ioredis';
import request from 'supertest';
import { ErrorCodes, AudioProcessingError } from '../../src/core/errors';
import { EngineService } from '../../src/modules/engine/engine.service';
import { FakeEngineService } from '../support/fake-engine';
import { eventually, startTestApp, testConfig, type TestApp } from '../factories/app';
import { mixtureWav, MODEL } from './separations-support';

jest.setTimeout(120_000);

type Line = Record<string, unknown>;

const REPO = path.resolve(__dirname, '..', '..');
const REDIS_URL = process.env.SPLEETER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const BASE = {
  security: { auth_enabled: false, rate_limit: { limit: 100_000 } },
  cache: { enabled: false },
  logging: { level: 'info' },
};

function parseLines(raw: string): Line[] {
  return raw
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

function jobLines(lines: Line[], jobId: string): Line[] {
  return lines.filter((l) => l.jobId === jobId && typeof l.event === 'string');
}

function expectJobLine(line: Line | undefined, level: string, event: string, jobId: string): void {
  expect(line).toMatchObject({ level, event, jobId, model: expect.stringContaining(MODEL) });
  expect(line!.time).toMatch(ISO_8601);
  expect(typeof line!.provider).toBe('string');
  expect(line!.audioSeconds).toBeCloseTo(2, 1);
}

describe('Separation job log lines (e2e)', () => {
  describe('in an API process that runs its jobs', () => {
    const raw: string[] = [];
    let t: TestApp;
    const failing = new FakeEngineService();
    let fail = false;
    const separate = failing.separate.bind(failing);
    failing.separate = async (params) => {
      // A line from deep inside the job that names no job: the processor's log context adds it.
      new Logger('FakeEngine').log(`separating ${path.basename(params.audioPath)}`);
      if (fail) throw new AudioProcessingError(ErrorCodes.CORRUPT_AUDIO, 'Cannot decode: invalid frame');
      return separate(params);
    };

    beforeAll(async () => {
      t = await startTestApp({
        config: BASE,
        overrides: [{ provide: EngineService, useValue: failing }],
        logDestination: { write: (s: string) => void raw.push(s) },
      });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('logs one line when a job starts and one when it succeeds, with realtime factor', async () => {
      fail = false;
      const res = await request(t.server)
        .post('/v1/separations?wait=30')
        .attach('file', mixtureWav(2), 'a.wav')
        .expect(200);
      expect(res.body.status).toBe('succeeded');
      const lines = await eventually(() => {
        const l = jobLines(parseLines(raw.join('')), res.body.id);
        return l.length >= 2 ? l : null;
      });
      expect(lines.map((l) => l.event)).toEqual(['separation.started', 'separation.succeeded']);
      expectJobLine(lines[0], 'info', 'separation.started', res.body.id);
      expectJobLine(lines[1], 'info', 'separation.succeeded', res.body.id);
      expect(lines[1].realtimeFactor).toEqual(expect.any(Number));
      expect(lines[1].realtimeFactor as number).toBeGreaterThan(0);
      // Other lines written while the job ran carry its id too.
      const inner = parseLines(raw.join('')).filter(
        (l) => l.context === 'FakeEngine' && l.jobId === res.body.id,
      );
      expect(inner).toHaveLength(1);
      expect(inner[0].msg).toMatch(/^separating /);
    });

    it('logs one warn line with the error code when a job fails', async () => {
      fail = true;
      const res = await request(t.server)
        .post('/v1/separations?wait=30')
        .attach('file', mixtureWav(2), 'b.wav')
        .expect(200);
      expect(res.body.status).toBe('failed');
      const lines = await eventually(() => {
        const l = jobLines(parseLines(raw.join('')), res.body.id);
        return l.length >= 2 ? l : null;
      });
      expect(lines.map((l) => l.event)).toEqual(['separation.started', 'separation.failed']);
      expectJobLine(lines[1], 'warn', 'separation.failed', res.body.id);
      expect(lines[1]).toMatchObject({ errorCode: 'CORRUPT_AUDIO', realtimeFactor: null });
    });
  });

  describe('in a worker process', () => {
    let up = false;
    let dir: string;
    let api: TestApp | undefined;
    let worker: ChildProcess | undefined;
    let workerOut = '';
    const prefix = `spleeter-e2e-log-${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      const r = new IORedis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 1000 });
      up = await r
        .connect()
        .then(async () => (await r.ping()) === 'PONG')
        .catch(() => false);
      r.disconnect();
      if (!up) {
        process.stderr.write(`Redis not reachable at ${REDIS_URL}: worker log case skipped\n`);
        return;
      }
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sep-log-'));
      const config = {
        ...BASE,
        redis: { url: REDIS_URL },
        queue: { driver: 'redis', prefix, concurrency: 1 },
      };
      api = await startTestApp({ dir, config: { ...config, logging: { level: 'silent' } }, role: 'api' });
      // The worker as production starts it: its own process, configured by a file, logging to stdout.
      const configFile = path.join(dir, 'worker.yaml');
      fs.writeFileSync(configFile, JSON.stringify({ spleeter: testConfig(dir, config) }));
      worker = spawn(process.execPath, ['-r', '@swc-node/register', path.join(REPO, 'src', 'worker.ts')], {
        cwd: REPO,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SPLEETER_CONFIG: configFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      worker.stdout!.on('data', (d: Buffer) => (workerOut += d.toString()));
      worker.stderr!.on('data', (d: Buffer) => (workerOut += d.toString()));
      await eventually(() => workerOut.includes('worker started'), 60_000, 100);
    });
    afterAll(async () => {
      if (worker && worker.exitCode === null) {
        const exited = new Promise((r) => worker!.once('exit', r));
        worker.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
        clearTimeout(timer);
        if (worker.exitCode === null) worker.kill('SIGKILL');
      }
      await api?.close();
      if (up) {
        const r = new IORedis(REDIS_URL);
        const keys = await r.keys(`${prefix}:*`);
        if (keys.length) await r.del(...keys);
        r.disconnect();
      }
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('writes the start and success lines of the job it ran to its standard output', async () => {
      if (!up) return;
      const res = await request(api!.server)
        .post('/v1/separations?wait=60')
        .attach('file', mixtureWav(2), 'w.wav')
        .expect(200);
      expect(res.body.status).toBe('succeeded');
      const lines = await eventually(() => {
        const l = jobLines(parseLines(workerOut), res.body.id);
        return l.length >= 2 ? l : null;
      });
      expect(lines.map((l) => l.event)).toEqual(['separation.started', 'separation.succeeded']);
      expectJobLine(lines[0], 'info', 'separation.started', res.body.id);
      expectJobLine(lines[1], 'info', 'separation.succeeded', res.body.id);
      expect(lines[1].realtimeFactor as number).toBeGreaterThan(0);
      // Every line of the worker is JSON, none of them pretty-printed.
      for (const line of parseLines(workerOut)) expect(line.time).toMatch(ISO_8601);
    });
  });
});
