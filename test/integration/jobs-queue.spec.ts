/**
 * The JobQueue contract, run against both implementations: the in-process queue and the BullMQ one
 * on the real Redis at 127.0.0.1:6379 (skipped with a note when Redis is down).
 */
import { randomBytes } from 'crypto';
import IORedis from 'ioredis';
import { ErrorCodes, SeparationError } from '../../src/core/errors';
import { BullMqJobQueue } from '../../src/infra/queue/bullmq-job-queue';
import { InProcessJobQueue } from '../../src/infra/queue/in-process-job-queue';
import { JobName } from '../../src/infra/queue/job-names';
import { abortReasonOf, type JobContext, type JobQueue } from '../../src/infra/queue/job-queue';

jest.setTimeout(60_000);

const REDIS_URL = process.env.SPLEETER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Key prefixes this run created in Redis (deleted at the end). */
const prefixes: string[] = [];

function newPrefix(): string {
  const p = `spleeter-test-${randomBytes(4).toString('hex')}`;
  prefixes.push(p);
  return p;
}

afterAll(async () => {
  if (prefixes.length === 0) return;
  const r = new IORedis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    for (const p of prefixes) {
      const keys = await r.keys(`${p}:*`);
      if (keys.length) await r.del(...keys);
    }
  } catch {
    // Redis down: nothing was created.
  } finally {
    r.disconnect();
  }
});

interface Factory {
  name: string;
  available(): Promise<boolean>;
  create(opts: { concurrency: number; capacity: number; consume?: boolean; prefix?: string }): JobQueue;
}

const factories: Factory[] = [
  {
    name: 'InProcessJobQueue',
    available: async () => true,
    create: (o) =>
      new InProcessJobQueue({
        concurrency: o.concurrency,
        capacity: o.capacity,
        consume: o.consume ?? true,
        abortGraceMs: 2000,
      }),
  },
  {
    name: 'BullMqJobQueue',
    available: async () => {
      const r = new IORedis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 1000 });
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } catch {
        process.stderr.write(`Redis not reachable at ${REDIS_URL}: BullMqJobQueue cases skipped\n`);
        return false;
      } finally {
        r.disconnect();
      }
    },
    create: (o) =>
      new BullMqJobQueue({
        redisUrl: REDIS_URL,
        prefix: o.prefix ?? newPrefix(),
        concurrency: o.concurrency,
        capacity: o.capacity,
        consume: o.consume ?? true,
        abortGraceMs: 2000,
      }),
  },
];

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(factories)('$name (JobQueue contract)', (factory) => {
  let ok = false;
  const queues: JobQueue[] = [];
  const make = (o: Parameters<Factory['create']>[0]) => {
    const q = factory.create(o);
    queues.push(q);
    return q;
  };

  beforeAll(async () => {
    ok = await factory.available();
  });
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.shutdown(100)));
  });

  it('runs jobs in FIFO order with at most `concurrency` at a time', async () => {
    if (!ok) return;
    const q = make({ concurrency: 2, capacity: 100 });
    const started: string[] = [];
    let running = 0;
    let peak = 0;
    const done = deferred();
    q.process(JobName.Separate, async ({ jobId }) => {
      started.push(jobId);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
      if (started.length === 6) done.resolve();
    });
    for (let i = 0; i < 6; i++) await q.enqueue(JobName.Separate, `job-${i}`, { jobId: `job-${i}` });
    await done.promise;
    await until(() => running === 0);
    expect(started).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4', 'job-5']);
    expect(peak).toBe(2);
  });

  it('refuses past capacity with QUEUE_FULL and a retry hint; enqueue is idempotent per id', async () => {
    if (!ok) return;
    const q = make({ concurrency: 1, capacity: 2, consume: false });
    await q.enqueue(JobName.Separate, 'a', { jobId: 'a' });
    await q.enqueue(JobName.Separate, 'a', { jobId: 'a' });
    await q.enqueue(JobName.Separate, 'b', { jobId: 'b' });
    expect(await q.hasCapacity()).toBe(false);
    const err = await q.enqueue(JobName.Separate, 'c', { jobId: 'c' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeparationError);
    expect((err as SeparationError).code).toBe(ErrorCodes.QUEUE_FULL);
    expect((err as SeparationError).context.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    await q.enqueue(JobName.Separate, 'c', { jobId: 'c' }, { bypassCapacity: true });
    expect(await q.position('a')).toBe(1);
    expect(await q.position('b')).toBe(2);
    expect(await q.position('c')).toBe(3);
    expect(await q.position('zzz')).toBeNull();
    expect((await q.stats()).waiting).toBe(3);
  });

  it('cancel removes a waiting job (it never runs) and aborts a running one with reason "canceled"', async () => {
    if (!ok) return;
    const q = make({ concurrency: 1, capacity: 10 });
    const ran: string[] = [];
    const aborted = deferred<string | null>();
    const first = deferred();
    q.process(JobName.Separate, async ({ jobId }, ctx: JobContext) => {
      ran.push(jobId);
      if (jobId === 'long') {
        first.resolve();
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
        aborted.resolve(abortReasonOf(ctx.signal));
      }
    });
    await q.enqueue(JobName.Separate, 'long', { jobId: 'long' });
    await first.promise;
    await q.enqueue(JobName.Separate, 'waiting', { jobId: 'waiting' });
    expect(await q.cancel('waiting')).toBe('removed');
    expect(await q.cancel('long')).toBe('aborted');
    expect(await aborted.promise).toBe('canceled');
    await q.enqueue(JobName.Separate, 'after', { jobId: 'after' });
    await until(() => ran.includes('after'));
    expect(ran).toEqual(['long', 'after']);
    expect(await q.cancel('nothing')).toBe('unknown');
  });

  it('shutdown waits for running jobs, aborts them with "shutdown" past the timeout, then refuses work', async () => {
    if (!ok) return;
    const q = make({ concurrency: 2, capacity: 10 });
    const reasons: Array<string | null> = [];
    const started = deferred();
    let count = 0;
    q.process(JobName.Separate, async ({ jobId }, ctx) => {
      if (++count === 2) started.resolve();
      if (jobId === 'quick') return void (await new Promise((r) => setTimeout(r, 50)));
      await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
      reasons.push(abortReasonOf(ctx.signal));
    });
    await q.enqueue(JobName.Separate, 'quick', { jobId: 'quick' });
    await q.enqueue(JobName.Separate, 'stuck', { jobId: 'stuck' });
    await started.promise;
    const t0 = Date.now();
    await q.shutdown(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(reasons).toEqual(['shutdown']);
    const err = await q.enqueue(JobName.Separate, 'late', { jobId: 'late' }).catch((e: unknown) => e);
    expect((err as SeparationError).code).toBe(ErrorCodes.SHUTTING_DOWN);
  });
});

describe('BullMqJobQueue across processes', () => {
  it('an API-only queue enqueues, a worker queue runs, and cancel reaches the worker', async () => {
    if (!(await factories[1].available())) return;
    const prefix = newPrefix();
    const api = factories[1].create({ concurrency: 1, capacity: 10, consume: false, prefix });
    const worker = factories[1].create({ concurrency: 1, capacity: 10, consume: true, prefix });
    try {
      const reason = deferred<string | null>();
      const running = deferred();
      worker.process(JobName.Separate, async (_p, ctx) => {
        running.resolve();
        await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
        reason.resolve(abortReasonOf(ctx.signal));
      });
      await api.enqueue(JobName.Separate, 'x1', { jobId: 'x1' });
      await running.promise;
      expect(await api.cancel('x1')).toBe('aborted');
      expect(await reason.promise).toBe('canceled');
    } finally {
      await Promise.all([api.shutdown(100), worker.shutdown(100)]);
    }
  });
});
