/**
 * The Redis (BullMQ) queue behind the same API: an API-only process and a worker process sharing
 * the database, the storage directory and Redis at 127.0.0.1:6379 (skipped when Redis is down).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import IORedis from 'ioredis';
import request from 'supertest';
import { eventually, startTestApp, type TestApp } from '../factories/app';
import { binaryParser, decodeWav, engineOverrides, mixture, mixtureWav } from './separations-support';

jest.setTimeout(120_000);

const REDIS_URL = process.env.SPLEETER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisUp(): Promise<boolean> {
  const r = new IORedis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 1000 });
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    process.stderr.write(`Redis not reachable at ${REDIS_URL}: Redis queue cases skipped\n`);
    return false;
  } finally {
    r.disconnect();
  }
}

describe('Separations API on the Redis queue, API and worker as two processes (e2e)', () => {
  let up = false;
  let dir: string;
  let api: TestApp | undefined;
  let worker: TestApp | undefined;
  const prefix = `spleeter-e2e-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    up = await redisUp();
    if (!up) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sep-redis-'));
    const config = {
      security: { auth_enabled: false, rate_limit: { limit: 100_000 } },
      cache: { enabled: false },
      redis: { url: REDIS_URL },
      queue: { driver: 'redis', prefix, concurrency: 1 },
    };
    api = await startTestApp({ dir, config, role: 'api', overrides: engineOverrides() });
    worker = await startTestApp({ dir, config, role: 'worker', overrides: engineOverrides() });
  });
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    if (up) {
      const r = new IORedis(REDIS_URL);
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the API accepts, the worker separates, the API serves the stems (wait mode sees the result)', async () => {
    if (!up) return;
    const res = await request(api!.server)
      .post('/v1/separations?wait=60')
      .attach('file', mixtureWav(2), 'r.wav')
      .expect(200);
    expect(res.body.status).toBe('succeeded');
    const stem = await request(api!.server)
      .get(res.body.stems[0].url)
      .buffer(true)
      .parse(binaryParser as never)
      .expect(200);
    expect(decodeWav(stem.body).data.length).toBe(mixture(2).data.length);
  });

  it('cancels a job running in the worker process', async () => {
    if (!up) return;
    const job = (
      await request(api!.server)
        .post('/v1/separations')
        .attach('file', mixtureWav(180), 'long.wav')
        .expect(202)
    ).body;
    await eventually(
      async () => (await request(api!.server).get(`/v1/separations/${job.id}`)).body.status === 'running',
      30_000,
      20,
    );
    expect((await request(api!.server).delete(`/v1/separations/${job.id}`).expect(200)).body.status).toBe(
      'canceled',
    );
    // The worker is free again: the next job runs to completion.
    const next = await request(api!.server)
      .post('/v1/separations?wait=60')
      .attach('file', mixtureWav(1), 'n.wav')
      .expect(200);
    expect(next.body.status).toBe('succeeded');
  });
});
