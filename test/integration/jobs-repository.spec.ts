/**
 * SeparationJobRepository against real databases, through the real migrations: embedded SQLite and
 * PostgreSQL (a throw-away database per run). Checks what the services rely on: compare-and-set
 * transitions, keyset pagination order, ms-precise instants, bigint sizes, atomic batch inserts.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../src/infra/database/migrations';
import { SeparationBatchEntity } from '../../src/modules/separation/entities/separation-batch.entity';
import { SeparationJobEntity } from '../../src/modules/separation/entities/separation-job.entity';
import { SeparationJobRepository } from '../../src/modules/separation/repositories/separation-job.repository';
import { SeparationStatus } from '../../src/modules/separation/separation-status';
import { aJob } from '../support/separation-test-kit';
import { createPgDatabase, type PgTestDatabase } from '../factories/app';

jest.setTimeout(60_000);

/** A fresh job row (unique id, now) on top of the shared factory; a > 2^32 input size must survive. */
function job(overrides: Partial<SeparationJobEntity> = {}): SeparationJobEntity {
  const id = randomUUID();
  const now = new Date();
  return aJob({
    id,
    ownerId: 'owner-a',
    inputKey: `uploads/${id}`,
    inputFilename: 'song.mp3',
    inputSize: 5 * 1024 ** 3,
    inputFormat: 'mp3',
    inputInfo: { format: 'mp3', codec: 'mp3', sampleRate: 44100, channels: 2, durationSec: 11.05 },
    cacheKey: 'b'.repeat(64),
    createdAt: now,
    updatedAt: now,
    ...overrides,
  });
}

describe.each(['sqlite', 'postgres'] as const)('SeparationJobRepository on %s', (db) => {
  let ds: DataSource | null = null;
  let pg: PgTestDatabase | null = null;
  let dir: string;
  let sut: SeparationJobRepository;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-repo-'));
    const common = {
      entities: [SeparationJobEntity, SeparationBatchEntity],
      migrations: MIGRATIONS,
      migrationsRun: true,
      synchronize: false,
    };
    if (db === 'postgres') {
      pg = await createPgDatabase();
      if (!pg) return;
      ds = new DataSource({ ...common, type: 'postgres', url: pg.url });
    } else {
      ds = new DataSource({ ...common, type: 'better-sqlite3', database: path.join(dir, 'db.sqlite') });
    }
    await ds.initialize();
    sut = new SeparationJobRepository(
      ds.getRepository(SeparationJobEntity),
      ds.getRepository(SeparationBatchEntity),
      ds,
    );
  });
  afterAll(async () => {
    await ds?.destroy();
    await pg?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips a job: JSON columns, bigint size, ms-precise instants', async () => {
    if (!ds) return;
    const created = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const analysis = {
      sampleRate: 44100,
      channels: 2,
      durationSec: 11.05,
      loudness: {
        integratedLufs: -14.25,
        loudnessRangeLu: 5.5,
        truePeakDbtp: -0.8,
        samplePeakDbfs: -1,
        maxMomentaryLufs: -9,
        maxShortTermLufs: -11,
      },
      silence: {
        ranges: [{ startSec: 2, endSec: 3.5 }],
        truncated: false,
        silentSec: 1.5,
        silentFraction: 0.136,
        thresholdDbfs: -60,
        minDurationSec: 0.5,
      },
      empty: false,
    };
    const j = job({
      createdAt: created,
      expiresAt: new Date(created.getTime() + 1),
      // The input's analysis (its own column, added by a later migration) and a stem's (in `stems`).
      analysis,
      stems: [
        {
          name: 'center',
          key: 'results/x/center.wav',
          codec: 'wav',
          contentType: 'audio/wav',
          size: 1,
          etag: 'e',
          analysis: { ...analysis, empty: true },
        },
      ],
    });
    await sut.insert(j);
    const back = await sut.findById(j.id);
    expect(back).toMatchObject({
      id: j.id,
      inputSize: 5 * 1024 ** 3,
      options: j.options,
      inputInfo: j.inputInfo,
      analysis,
      stems: j.stems,
      modelStems: ['center', 'sides'],
      cached: false,
    });
    expect(back!.createdAt.getTime()).toBe(created.getTime());
    expect(back!.expiresAt!.getTime()).toBe(created.getTime() + 1);
    expect(back!.startedAt).toBeNull();
  });

  it('transition is a compare-and-set on status', async () => {
    if (!ds) return;
    const j = job();
    await sut.insert(j);
    expect(
      await sut.transition(j.id, [SeparationStatus.Queued], {
        status: SeparationStatus.Running,
        attempts: 1,
      }),
    ).toBe(true);
    // A second worker (or a stale cancel) sees the changed status and loses.
    expect(await sut.transition(j.id, [SeparationStatus.Queued], { status: SeparationStatus.Running })).toBe(
      false,
    );
    expect(
      await sut.transition(j.id, [SeparationStatus.Queued, SeparationStatus.Running], {
        status: SeparationStatus.Canceled,
      }),
    ).toBe(true);
    expect(
      await sut.transition(j.id, [SeparationStatus.Running], { status: SeparationStatus.Succeeded }),
    ).toBe(false);
    await sut.updateProgress(j.id, 50, 'inference'); // only while running: ignored
    expect(await sut.findById(j.id)).toMatchObject({ status: 'canceled', progress: 0, attempts: 1 });
  });

  it('never lowers the stored progress (a late or re-run write cannot move a client back), but updates the stage', async () => {
    if (!ds) return;
    const j = job();
    await sut.insert(j);
    await sut.transition(j.id, [SeparationStatus.Queued], { status: SeparationStatus.Running, attempts: 1 });
    await sut.updateProgress(j.id, 40, 'separate');
    await sut.updateProgress(j.id, 25, 'encode');
    expect(await sut.findById(j.id)).toMatchObject({ progress: 40, stage: 'encode' });
    await sut.updateProgress(j.id, 41, 'encode');
    expect(await sut.findById(j.id)).toMatchObject({ progress: 41 });
  });

  it('lists newest first with a stable keyset cursor, filtered by owner and status', async () => {
    if (!ds) return;
    const owner = `owner-${randomUUID()}`;
    const base = Date.UTC(2026, 5, 1);
    // Two rows share a createdAt: the id breaks the tie, so pages never skip or repeat.
    const rows = [0, 1, 1, 2, 3, 4, 5].map((ms, i) =>
      job({
        ownerId: owner,
        createdAt: new Date(base + ms),
        status: i % 2 ? SeparationStatus.Succeeded : SeparationStatus.Queued,
      }),
    );
    for (const r of rows) await sut.insert(r);
    const expected = [...rows]
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .map((r) => r.id);
    const seen: string[] = [];
    let before: { createdAt: Date; id: string } | undefined;
    for (;;) {
      const page = await sut.list({ ownerId: owner, limit: 3, before });
      seen.push(...page.map((r) => r.id));
      if (page.length < 3) break;
      before = { createdAt: page[2].createdAt, id: page[2].id };
    }
    expect(seen).toEqual(expected);
    const succeeded = await sut.list({ ownerId: owner, limit: 100, statuses: [SeparationStatus.Succeeded] });
    expect(succeeded.map((r) => r.id).sort()).toEqual(
      rows
        .filter((r) => r.status === 'succeeded')
        .map((r) => r.id)
        .sort(),
    );
    expect((await sut.list({ ownerId: 'nobody', limit: 10 })).length).toBe(0);
    expect((await sut.list({ ownerId: null, limit: 1000 })).length).toBeGreaterThanOrEqual(rows.length);
  });

  it('finds unfinished jobs oldest first, expired files, and pending callbacks', async () => {
    if (!ds) return;
    const now = new Date();
    const running = job({ status: SeparationStatus.Running, createdAt: new Date(now.getTime() - 5000) });
    const expired = job({ status: SeparationStatus.Succeeded, expiresAt: new Date(now.getTime() - 1000) });
    const fresh = job({ status: SeparationStatus.Succeeded, expiresAt: new Date(now.getTime() + 3600_000) });
    const purged = job({
      status: SeparationStatus.Failed,
      expiresAt: new Date(now.getTime() - 1000),
      filesDeletedAt: now,
    });
    const callback = job({
      status: SeparationStatus.Failed,
      callbackUrl: 'https://example.com/h',
      callbackStatus: 'pending',
    });
    for (const r of [running, expired, fresh, purged, callback]) await sut.insert(r);
    const unfinished = (await sut.findUnfinished()).map((r) => r.id);
    expect(unfinished).toContain(running.id);
    expect(unfinished).not.toContain(expired.id);
    const exp = (await sut.findExpired(now, 100)).map((r) => r.id);
    expect(exp).toContain(expired.id);
    expect(exp).not.toContain(fresh.id);
    expect(exp).not.toContain(purged.id);
    expect((await sut.findPendingCallbacks(100)).map((r) => r.id)).toEqual([callback.id]);
  });

  it('inserts a batch and its jobs atomically', async () => {
    if (!ds) return;
    const batch = Object.assign(new SeparationBatchEntity(), {
      id: randomUUID(),
      ownerId: 'owner-a',
      jobCount: 2,
      createdAt: new Date(),
    });
    const a = job({ batchId: batch.id });
    const dup = job({ batchId: batch.id, id: a.id }); // same primary key: the second insert fails
    await expect(sut.insertBatch(batch, [a, dup])).rejects.toThrow();
    expect(await sut.findBatch(batch.id)).toBeNull();
    expect(await sut.findById(a.id)).toBeNull();
    const b = job({ batchId: batch.id });
    await sut.insertBatch(batch, [a, b]);
    expect((await sut.findByBatch(batch.id)).map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
  });
});
