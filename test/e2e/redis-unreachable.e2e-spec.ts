/**
 * Issue 10 item 6, cluster faults, Redis side. The API on the Redis queue with nothing listening
 * at the Redis address: uploads are refused with 503 QUEUE_UNAVAILABLE (problem+json, Retry-After)
 * within 2 s, readiness is 503, the log says so in a few lines (not one per reconnect), and when
 * Redis comes back uploads succeed again without a restart. The outage is a TCP proxy this test
 * owns in front of the shared Redis (closed, then listening): the shared Redis is never stopped.
 */
import { randomBytes } from 'crypto';
import * as net from 'net';
import IORedis from 'ioredis';
import request from 'supertest';
import { eventually, startTestApp, type TestApp } from '../factories/app';
import { engineOverrides, mixtureWav } from './separations-support';

jest.setTimeout(60_000);

const REDIS_URL = process.env.SPLEETER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const OPEN = { security: { auth_enabled: false, rate_limit: { limit: 100_000 } }, cache: { enabled: false } };

interface LogLine {
  level: string;
  msg: string;
  context?: string;
}

function capture(): { destination: { write(s: string): void }; lines(): LogLine[] } {
  const raw: string[] = [];
  return {
    destination: { write: (s: string) => void raw.push(s) },
    lines: () =>
      raw
        .join('')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as LogLine),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A TCP proxy to the shared Redis that this test opens and closes: an outage nobody else sees. */
class RedisProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  async open(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port || 6379), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function redisUp(): Promise<boolean> {
  const r = new IORedis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 1000 });
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    process.stderr.write(`Redis not reachable at ${REDIS_URL}: the recovery case is skipped\n`);
    return false;
  } finally {
    r.disconnect();
  }
}

describe('Redis unreachable (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('uploads answer 503 QUEUE_UNAVAILABLE with Retry-After within 2 s, readiness is 503, a few log lines', async () => {
    const log = capture();
    t = await startTestApp({
      role: 'api',
      config: {
        ...OPEN,
        logging: { level: 'info' },
        redis: { url: 'redis://127.0.0.1:1' },
        queue: { driver: 'redis', prefix: `spleeter-e2e-down-${randomBytes(4).toString('hex')}` },
      },
      overrides: engineOverrides(),
      logDestination: log.destination,
    });
    const wav = mixtureWav(1);
    const started = Date.now();
    // Several uploads over ~5 s of outage: every one refused quickly, the log stays short.
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const res = await request(t.server).post('/v1/separations').attach('file', wav, 'a.wav');
      const ms = Date.now() - t0;
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('QUEUE_UNAVAILABLE');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(ms).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 1000));
    }
    // Probes come every few seconds: each answers 503, the log says so once.
    for (let i = 0; i < 3; i++) await request(t.server).get('/health/ready').expect(503);
    const ready = await request(t.server).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.details?.queue?.status ?? ready.body.error?.queue?.status).toBe('down');
    // Nothing was stored for the refused uploads.
    const list = await request(t.server).get('/v1/separations').expect(200);
    expect(list.body.items ?? list.body.data ?? []).toHaveLength(0);

    const elapsed = Date.now() - started;
    const redisLines = log.lines().filter((l) => /redis/i.test(l.msg) && !l.msg.startsWith('Health Check'));
    // One "unreachable" line (a second client may report its own), no line per reconnect or
    // per refused request: ioredis retries every ≤ 2 s, so one line each would be > 5 here.
    expect(elapsed).toBeGreaterThan(5000);
    expect(redisLines.length).toBeGreaterThanOrEqual(1);
    expect(redisLines.length).toBeLessThanOrEqual(3);
    // Errors: the rate limiter's switch to per-process limits and the first failed probe, once each.
    const errors = log.lines().filter((l) => l.level === 'error' || l.level === 'fatal');
    expect(errors.length).toBeLessThanOrEqual(2);
    expect(errors.filter((l) => l.msg.startsWith('Health Check has failed!'))).toHaveLength(1);
  });

  it('recovers without a restart when Redis comes back', async () => {
    if (!(await redisUp())) return;
    const proxy = new RedisProxy(await freePort(), new URL(REDIS_URL));
    const prefix = `spleeter-e2e-back-${randomBytes(4).toString('hex')}`;
    const log = capture();
    try {
      t = await startTestApp({
        config: {
          ...OPEN,
          logging: { level: 'info' },
          redis: { url: `redis://127.0.0.1:${proxy.port}` },
          queue: { driver: 'redis', prefix, concurrency: 1 },
        },
        overrides: engineOverrides(),
        logDestination: log.destination,
      });
      const wav = mixtureWav(1);
      const down = await request(t.server).post('/v1/separations').attach('file', wav, 'a.wav');
      expect(down.status).toBe(503);
      expect(down.body.code).toBe('QUEUE_UNAVAILABLE');

      await proxy.open();
      const back = Date.now();
      await eventually(
        async () => (await request(t!.server).get('/health/ready')).status === 200,
        15_000,
        200,
      );
      const res = await eventually(
        async () => {
          const r = await request(t!.server).post('/v1/separations?wait=30').attach('file', wav, 'a.wav');
          return r.status === 200 || r.status === 202 ? r : null;
        },
        20_000,
        250,
      );
      expect(['queued', 'running', 'succeeded']).toContain(res.body.status);
      const recoveredIn = Date.now() - back;
      process.stderr.write(`redis recovery: accepted ${recoveredIn} ms after Redis came back\n`);
      expect(log.lines().some((l) => /reachable again/.test(l.msg))).toBe(true);
      await eventually(
        async () =>
          (await request(t!.server).get(`/v1/separations/${res.body.id}`)).body.status === 'succeeded',
        30_000,
        200,
      );
    } finally {
      await t?.close();
      t = undefined;
      await proxy.close();
      const r = new IORedis(REDIS_URL);
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    }
  });
});
