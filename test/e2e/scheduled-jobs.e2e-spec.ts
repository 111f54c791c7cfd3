/**
 * The housekeeping loops run through @nestjs/schedule: the whole app registers them by name in
 * SchedulerRegistry, an API-only process leaves out the one that belongs to job runners, and
 * closing the app clears every one (no timer outlives the app).
 */
import { SchedulerRegistry } from '@nestjs/schedule';
import IORedis from 'ioredis';
import { startTestApp } from '../factories/app';

const ALWAYS = ['audit-retention', 'cache-purge', 'event-loop-monitor', 'quota-purge'];
const REDIS_URL = 'redis://127.0.0.1:6379/15';
const PREFIX = `sched-${process.pid}`;

describe('Scheduled housekeeping (e2e)', () => {
  afterAll(async () => {
    // The API process's queue writes its meta key: leave Redis as found.
    const redis = new IORedis(REDIS_URL);
    const keys = await redis.keys(`${PREFIX}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('registers every loop by name and clears them all when the app closes', async () => {
    const t = await startTestApp();
    const registry = t.get(SchedulerRegistry);
    try {
      expect(registry.getIntervals().sort()).toEqual([...ALWAYS, 'separation-retention'].sort());
      expect(registry.getTimeouts()).toEqual(['audit-retention-first']);
    } finally {
      await t.close();
    }
    expect(registry.getIntervals()).toEqual([]);
    expect(registry.getTimeouts()).toEqual([]);
  });

  it('runs no job-file retention in a process that does not run jobs', async () => {
    const t = await startTestApp({
      role: 'api',
      config: {
        queue: { driver: 'redis', prefix: `sched-${process.pid}` },
        redis: { url: 'redis://127.0.0.1:6379/15' },
      },
    });
    try {
      expect(t.get(SchedulerRegistry).getIntervals().sort()).toEqual(ALWAYS);
    } finally {
      await t.close();
    }
  });
});
