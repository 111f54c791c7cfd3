import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../infra/config/app-config';
import type { AuditHashedContent } from './audit-hash';
import { AuditMetrics } from './audit-metrics';
import type { AuditRepository } from './audit.repository';
import type { AuditSpool } from './audit-spool';
import { AuditWriter } from './audit-writer.service';

/** A collaborator whose every unexpected call fails the test. */
function strict<T extends object>(name: string, impl: Partial<T>): T {
  return new Proxy(impl as T, {
    get(target, prop) {
      if (prop in target) return (target as Record<string | symbol, unknown>)[prop];
      if (prop === 'then') return undefined;
      throw new Error(`unexpected call ${name}.${String(prop)}`);
    },
  });
}

interface Harness {
  sut: AuditWriter;
  written: AuditHashedContent[][];
  spooled: AuditHashedContent[][];
  removed: string[];
  failNext: (n: number) => void;
  metrics: AuditMetrics;
}

function build(
  options: { bufferSize?: number; spoolFiles?: Array<{ file: string; rows: AuditHashedContent[] }> } = {},
): Harness {
  const written: AuditHashedContent[][] = [];
  const spooled: AuditHashedContent[][] = [];
  const removed: string[] = [];
  let failures = 0;
  const repo = strict<AuditRepository>('AuditRepository', {
    isConnected: true,
    appendBatch: async (rows: AuditHashedContent[]) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('connection terminated');
      }
      written.push(rows);
    },
  });
  const spool = strict<AuditSpool>('AuditSpool', {
    loadAll: () => options.spoolFiles ?? [],
    save: (rows: AuditHashedContent[]) => {
      spooled.push(rows);
      return '/spool/file.ndjson';
    },
    remove: (file: string) => void removed.push(file),
  });
  const config = {
    audit: { buffer_size: options.bufferSize ?? 100, flush_interval_ms: 1_000_000, retention_days: 90 },
    server: { shutdown_timeout_s: 1 },
  } as unknown as AppConfig;
  const metrics = new AuditMetrics();
  const sut = new AuditWriter(config, repo, spool, metrics);
  return { sut, written, spooled, removed, failNext: (n) => (failures = n), metrics };
}

const ev = (i: number) => ({ action: 'test.event', outcome: 'success' as const, details: { i } });
const indices = (rows: AuditHashedContent[]) => rows.map((r) => JSON.parse(r.details!).i);

describe(AuditWriter.name, () => {
  let h: Harness;
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  afterEach(async () => {
    await h?.sut.onApplicationShutdown();
  });

  it('buffers and writes in recording order', async () => {
    h = build();
    h.sut.onModuleInit();
    for (let i = 0; i < 5; i++) h.sut.record(ev(i));
    expect(h.written).toEqual([]);
    expect(await h.sut.flush()).toBe(true);
    expect(h.written.flat().map((r) => JSON.parse(r.details!).i)).toEqual([0, 1, 2, 3, 4]);
    expect(h.sut.pending).toBe(0);
  });

  it('keeps events (in order) when the database refuses, and writes them on a later flush', async () => {
    h = build();
    h.sut.onModuleInit();
    for (let i = 0; i < 3; i++) h.sut.record(ev(i));
    h.failNext(2);
    expect(await h.sut.flush()).toBe(false);
    h.sut.record(ev(3));
    expect(await h.sut.flush()).toBe(false);
    expect(h.sut.pending).toBe(4);
    expect(await h.sut.flush()).toBe(true);
    expect(indices(h.written.flat())).toEqual([0, 1, 2, 3]);
  });

  it('drops past buffer_size, counts it, and records an audit.events_dropped event once writes succeed', async () => {
    h = build({ bufferSize: 10 });
    h.sut.onModuleInit();
    const before = (await h.metrics.dropped.get()).values[0]?.value ?? 0;
    for (let i = 0; i < 14; i++) h.sut.record(ev(i));
    expect(h.sut.pending).toBe(10);
    expect(((await h.metrics.dropped.get()).values[0]?.value ?? 0) - before).toBe(4);
    await h.sut.flush();
    const rows = h.written.flat();
    expect(indices(rows.slice(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(rows[10]).toMatchObject({ action: 'audit.events_dropped', outcome: 'failure' });
    expect(JSON.parse(rows[10].details!)).toMatchObject({ count: 4 });
  });

  it('spools what it cannot write at shutdown, and re-queues spool files at start, deleting them once written', async () => {
    h = build();
    h.sut.onModuleInit();
    h.sut.record(ev(0));
    h.failNext(1000);
    await h.sut.onApplicationShutdown();
    expect(h.spooled).toHaveLength(1);
    expect(indices(h.spooled[0])).toEqual([0]);

    const spooledRows = h.spooled[0];
    h = build({ spoolFiles: [{ file: '/spool/a.ndjson', rows: spooledRows }] });
    h.sut.onModuleInit();
    h.sut.record(ev(1));
    expect(h.removed).toEqual([]);
    await h.sut.flush();
    expect(indices(h.written.flat())).toEqual([0, 1]);
    expect(h.removed).toEqual(['/spool/a.ndjson']);
  });
});
