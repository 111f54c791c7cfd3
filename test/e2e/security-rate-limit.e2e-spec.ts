/**
 * Rate limits (per principal, per IP for failed authentication; in memory and in Redis across two
 * app instances) and quotas (concurrent jobs, audio minutes per day) — 429 with Retry-After, and
 * in the audit log.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EventEmitter2 } from '@nestjs/event-emitter';
import Redis from 'ioredis';
import request from 'supertest';
import type { Principal } from '../../src/common/auth/principal';
import { DomainEvents } from '../../src/common/events/domain-events';
import { AuditService } from '../../src/modules/audit/audit.service';
import { QuotaService } from '../../src/modules/security/quota.service';
import { RateLimitStorage } from '../../src/modules/security/throttler/rate-limit.storage';
import { createPgDatabase, startApp, type TestApp } from './security-harness';

const ENV_KEY = 'rate-limit-admin-key-0123456789abcdef';
const REDIS_URL = process.env.SPLEETER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function userKey(t: TestApp, name: string): Promise<string> {
  const res = await request(t.server).post('/v1/admin/api-keys').set('X-API-KEY', ENV_KEY).send({ name });
  return res.body.key;
}

describe('Rate limits (e2e, memory storage)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ api_key: ENV_KEY, security: { rate_limit: { limit: 5, ttl_s: 60 } } });
  });
  afterAll(() => t?.close());

  it('gives each principal its own budget and answers 429 RATE_LIMITED with Retry-After past it', async () => {
    const a = await userKey(t, 'a');
    const b = await userKey(t, 'b');
    for (let i = 0; i < 5; i++)
      expect((await request(t.server).get('/v1/auth/me').set('X-API-KEY', a)).status).toBe(200);
    const limited = await request(t.server).get('/v1/auth/me').set('X-API-KEY', a);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(limited.body.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Same IP, other principal: untouched budget.
    expect((await request(t.server).get('/v1/auth/me').set('X-API-KEY', b)).status).toBe(200);
  });

  it('limits failed authentication per client IP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      statuses.push((await request(t.server).get('/v1/auth/me').set('X-API-KEY', `wrong-${i}`)).status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
  });

  it('records the 429s as denied', async () => {
    const audit = t.app.get(AuditService);
    await audit.verify();
    const limited = [];
    for await (const e of audit.stream({ outcome: 'denied' })) if (e.httpStatus === 429) limited.push(e);
    expect(limited.length).toBeGreaterThanOrEqual(3);
    expect(limited.some((e) => e.principalId?.startsWith('apikey:'))).toBe(true);
  });
});

describe('Rate limits (e2e, Redis storage shared by two replicas)', () => {
  let redis: Redis;
  let one: TestApp;
  let two: TestApp;
  const prefix = `spltest${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const config = {
      api_key: ENV_KEY,
      redis: { url: REDIS_URL },
      queue: { prefix, driver: 'memory' },
      cache: { redis_enabled: false },
      security: { rate_limit: { limit: 6, ttl_s: 60 } },
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-rl-'));
    one = await startApp(config, dir);
    two = await startApp(config, dir); // same SQLite file: the same keys on both replicas
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    const keys = await redis.keys(`${prefix}:rl:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    fs.rmSync(one.dir, { recursive: true, force: true });
  });

  it('shares one budget across replicas', async () => {
    expect(one.app.get(RateLimitStorage).backend).toBe('redis');
    const key = await userKey(one, 'shared');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (
          await request((i % 2 ? two : one).server)
            .get('/v1/auth/me')
            .set('X-API-KEY', key)
        ).status,
      );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const res = await request(two.server).get('/v1/auth/me').set('X-API-KEY', key);
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect((await redis.keys(`${prefix}:rl:*`)).length).toBeGreaterThan(0);
  });
});

describe('Rate limits fall back to memory when Redis is unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({
      api_key: ENV_KEY,
      redis: { url: 'redis://127.0.0.1:1' },
      queue: { driver: 'memory' },
      cache: { redis_enabled: false },
      security: { rate_limit: { limit: 3, ttl_s: 60 } },
    });
  });
  afterAll(() => t?.close());

  it('still limits', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await request(t.server).get('/v1/auth/me').set('X-API-KEY', ENV_KEY)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(t.app.get(RateLimitStorage).backend).toBe('memory');
  });
});

const alice: Principal = { id: 'apikey:alice000000000', role: 'user', method: 'api-key' };
const admin: Principal = { id: 'apikey:admin00000000', role: 'admin', method: 'api-key' };

describe.each(['sqlite', 'postgres'] as const)('Quotas (%s)', (driver) => {
  let t: TestApp | null = null;
  let drop: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    let database: Record<string, unknown> = {};
    if (driver === 'postgres') {
      const db = await createPgDatabase();
      if (!db) return;
      drop = db.drop;
      database = { url: db.url };
    }
    t = await startApp({
      api_key: ENV_KEY,
      database,
      security: { quotas: { max_concurrent_jobs: 2, audio_minutes_per_day: 10 } },
    });
  });
  afterAll(async () => {
    await t?.close();
    await drop?.();
  });

  it('holds the concurrency limit under simultaneous reservations and frees slots on terminal events', async () => {
    if (!t) return;
    const quotas = t.app.get(QuotaService);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => quotas.reserve(alice, `job-${driver}-${i}`, 1)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'QUOTA_EXCEEDED', context: { retryAfterSeconds: 30 } });
    const running = results
      .map((r, i) => (r.status === 'fulfilled' ? `job-${driver}-${i}` : null))
      .filter(Boolean) as string[];
    t.app
      .get(EventEmitter2)
      .emit(DomainEvents.SeparationSucceeded, { jobId: running[0], model: 'm', principal: alice });
    await new Promise((r) => setTimeout(r, 100));
    await expect(quotas.reserve(alice, `job-${driver}-next`, 1)).resolves.toBeUndefined();
    await expect(quotas.reserve(alice, `job-${driver}-again`, 1)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
    });
    // Admins are exempt.
    for (let i = 0; i < 4; i++) await quotas.reserve(admin, `admin-${driver}-${i}`, 3600);
    await quotas.release(running[1]);
    await quotas.release(`job-${driver}-next`);
  });

  it('enforces audio minutes per UTC day with Retry-After until midnight', async () => {
    if (!t) return;
    const quotas = t.app.get(QuotaService);
    const bob: Principal = { id: `apikey:bob-${driver}`, role: 'user', method: 'api-key' };
    await quotas.reserve(bob, `b1-${driver}`, 500);
    await quotas.release(`b1-${driver}`);
    await expect(quotas.assertCanStart(bob, 100)).resolves.toBeUndefined();
    let err: { code?: string; context?: { retryAfterSeconds?: number } } = {};
    await quotas.reserve(bob, `b2-${driver}`, 101).catch((e) => (err = e));
    expect(err.code).toBe('QUOTA_EXCEEDED');
    const untilMidnight = Math.ceil(
      (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) -
        Date.now()) /
        1000,
    );
    expect(Math.abs((err.context?.retryAfterSeconds ?? 0) - untilMidnight)).toBeLessThanOrEqual(2);
    const status = await quotas.status(bob);
    expect(status).toMatchObject({ activeJobs: 0, audioSecondsToday: 500, exempt: false });
  });
});
