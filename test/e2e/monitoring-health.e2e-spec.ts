/**
 * Kubernetes probes against the real application: readiness 200 → 503 while shutdown drains a
 * running job, on database loss (PostgreSQL behind a TCP proxy we cut) and recovery, with no
 * loadable model; liveness stays cheap. Redis readiness: degraded-but-ready as a cache tier.
 */
import * as net from 'net';
import request from 'supertest';
import { EngineService } from '../../src/modules/engine/engine.service';
import { FakeEngineService } from '../support/fake-engine';
import {
  createPgDatabase,
  eventually,
  startTestApp,
  serverPathsIn,
  type PgTestDatabase,
  type TestApp,
} from '../factories/app';
import { mixtureWav, MODEL } from './separations-support';

jest.setTimeout(120_000);

const OPEN = { security: { auth_enabled: false, rate_limit: { limit: 100_000 } } };

/** A TCP proxy we can cut and restore, standing in for a network partition to the database. */
class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const withModels = () => [{ provide: EngineService, useValue: new FakeEngineService() }];

describe('Health probes (e2e)', () => {
  it('is live and ready when everything is in place, and lists each check', async () => {
    const t = await startTestApp({ config: OPEN, overrides: withModels() });
    try {
      const live = await request(t.server).get('/health/live').expect(200);
      expect(live.body.info.eventLoop.status).toBe('up');
      const ready = await request(t.server).get('/health/ready').expect(200);
      expect(ready.headers['cache-control']).toBe('no-store');
      expect(Object.keys(ready.body.info).sort()).toEqual([
        'cache',
        'database',
        'disk',
        'models',
        'queue',
        'shutdown',
      ]);
      expect(ready.body.info.models).toMatchObject({ status: 'up', writable: true, installed: 2 });
      expect(ready.body.info.queue).toMatchObject({ status: 'up', waiting: 0, capacity: 100 });
      // The probe is public: free space by directory role, never where the directories are.
      expect(Object.keys(ready.body.info.disk.directories).sort()).toEqual(['cache', 'models', 'storage']);
      expect(serverPathsIn(ready.text, t.dir)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('is not ready without a loadable model, or with less free disk than configured', async () => {
    const noModels = new FakeEngineService();
    noModels.listModels = async () => [];
    const t = await startTestApp({
      config: { ...OPEN, monitoring: { min_free_disk_mb: 1e12 } },
      overrides: [{ provide: EngineService, useValue: noModels }],
    });
    try {
      const res = await request(t.server).get('/health/ready').expect(503);
      expect(res.body.status).toBe('error');
      expect(res.body.error.models).toMatchObject({
        status: 'down',
        message: 'no installed model can be loaded',
      });
      expect(res.body.error.disk.message).toMatch(/free space below threshold/);
      expect(serverPathsIn(res.text, t.dir)).toEqual([]);
      expect(res.body.info.database.status).toBe('up');
      // Liveness does not depend on any of that.
      await request(t.server).get('/health/live').expect(200);
    } finally {
      await t.close();
    }
  });

  it('turns 503 as soon as shutdown begins, while a running job drains', async () => {
    const engine = new FakeEngineService({ segmentDelayMs: 400 });
    const t = await startTestApp({
      config: { ...OPEN, server: { shutdown_timeout_s: 30 } },
      overrides: [{ provide: EngineService, useValue: engine }],
      listen: true,
    });
    let closing: Promise<void> | undefined;
    try {
      await request(t.url).get('/health/ready').expect(200);
      const job = await request(t.url)
        .post('/v1/separations')
        .field('model', MODEL)
        .attach('file', mixtureWav(6), 'long.wav')
        .expect(202);
      await eventually(
        async () => (await request(t.url).get(`/v1/separations/${job.body.id}`)).body.status === 'running',
      );
      closing = t.close();
      const during = await eventually(
        async () => {
          const r = await request(t.url).get('/health/ready');
          return r.status === 503 ? r : null;
        },
        5000,
        20,
      );
      expect(during.body.error.shutdown).toMatchObject({ status: 'down', since: expect.any(String) });
      // Liveness is unaffected: the process is healthy, only leaving.
      await request(t.url).get('/health/live').expect(200);
      // The job is still running: readiness went down before the drain, not after it.
      expect(engine.calls).toHaveLength(1);
    } finally {
      await (closing ?? t.close());
    }
  });
});

describe('Readiness on database loss (PostgreSQL, e2e)', () => {
  let db: PgTestDatabase | null;
  let proxy: CuttableProxy;
  let t: TestApp | undefined;

  beforeAll(async () => {
    db = await createPgDatabase();
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.cut();
    await db?.drop();
  });

  it('goes 503 when the database becomes unreachable and back to 200 when it returns', async () => {
    if (!db) return;
    const target = new URL(db.url);
    proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.open();
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    t = await startTestApp({
      config: { ...OPEN, database: { url: viaProxy.toString() } },
      overrides: withModels(),
    });

    await request(t.server).get('/health/ready').expect(200);
    await proxy.cut();
    const down = await eventually(
      async () => {
        const r = await request(t!.server).get('/health/ready');
        return r.status === 503 ? r : null;
      },
      10_000,
      100,
    );
    expect(down.body.error.database.status).toBe('down');
    expect(down.body.info.disk.status).toBe('up');

    await proxy.open();
    await eventually(async () => (await request(t!.server).get('/health/ready')).status === 200, 15_000, 200);
  });
});

describe('Readiness with Redis as the cache tier only (e2e)', () => {
  it('stays ready with Redis down, reporting the cache and Redis as degraded', async () => {
    const t = await startTestApp({
      config: {
        ...OPEN,
        redis: { url: 'redis://127.0.0.1:1' },
        queue: { driver: 'memory' },
        cache: { redis_enabled: true },
      },
      overrides: withModels(),
    });
    try {
      const res = await eventually(
        async () => {
          const r = await request(t.server).get('/health/ready');
          return r.body.info?.cache?.degraded ? r : null;
        },
        5000,
        100,
      );
      expect(res.status).toBe(200);
      expect(res.body.info.redis).toMatchObject({ status: 'up', degraded: true, usedBy: 'cache' });
      expect(res.body.info.cache).toMatchObject({
        status: 'up',
        degraded: true,
        tiers: { l1: 'up', l2: 'up', l3: 'degraded' },
      });
    } finally {
      await t.close();
    }
  });

  it('reports the L3 tier degraded on the first probe after Redis goes away, without cache traffic', async () => {
    const proxy = new CuttableProxy({ host: '127.0.0.1', port: 6379 });
    await proxy.open();
    const t = await startTestApp({
      config: {
        ...OPEN,
        redis: { url: `redis://127.0.0.1:${proxy.port}` },
        queue: { driver: 'memory', prefix: `spleeter-test-${process.pid}` },
        cache: { redis_enabled: true },
      },
      overrides: withModels(),
    });
    try {
      const before = await request(t.server).get('/health/ready').expect(200);
      expect(before.body.info.cache).toMatchObject({ degraded: false, tiers: { l3: 'up' } });
      await proxy.cut(); // the port now has nothing listening
      const t0 = Date.now();
      const after = await request(t.server).get('/health/ready').expect(200);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(after.body.info.cache).toMatchObject({ degraded: true, tiers: { l3: 'degraded' } });
    } finally {
      await t.close();
      await proxy.cut();
    }
  });

  it('is ready with the shared Redis up and the L3 tier serving', async () => {
    const t = await startTestApp({
      config: {
        ...OPEN,
        redis: { url: 'redis://127.0.0.1:6379' },
        queue: { driver: 'memory', prefix: `spleeter-test-${process.pid}` },
        cache: { redis_enabled: true },
      },
      overrides: withModels(),
    });
    try {
      const res = await request(t.server).get('/health/ready').expect(200);
      expect(res.body.info.redis).toMatchObject({ status: 'up', latencyMs: expect.any(Number) });
      expect(res.body.info.cache).toMatchObject({ degraded: false, tiers: { l3: 'up' } });
    } finally {
      await t.close();
    }
  });
});
