/**
 * Orphaned scratch after a killed process (issue 13 item 11): the sweep's ownership rule against a
 * real database and a real storage directory, and the sweep that runs when a process starts.
 * The storage volume is shared by every process of a cluster, so the rule must never delete what
 * a live worker is writing, however old its files look.
 */
import { randomUUID } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import IORedis from 'ioredis';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/infra/config/app-config';
import { MIGRATIONS } from '../../src/infra/database/migrations';
import { LocalStorageService } from '../../src/infra/storage/local-storage.service';
import { SeparationBatchEntity } from '../../src/modules/separation/entities/separation-batch.entity';
import { SeparationJobEntity } from '../../src/modules/separation/entities/separation-job.entity';
import { SeparationJobRepository } from '../../src/modules/separation/repositories/separation-job.repository';
import {
  jobScratchPrefix,
  SeparationScratchService,
} from '../../src/modules/separation/separation-scratch.service';
import { SeparationStatus } from '../../src/modules/separation/separation-status';
import { aJob } from '../support/separation-test-kit';
import { makeTempDir } from '../factories/audio';
import { startTestApp } from '../factories/app';

jest.setTimeout(60_000);

const DAY = 24 * 3600_000;
const REDIS_URL = process.env.SPLEETER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function ageBy(file: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await fsp.utimes(file, t, t);
}

/** A staging directory as a worker leaves it mid-job: one finished stem, one `.partial`. */
async function staging(scratchDir: string, jobId: string, attempt: number): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(scratchDir, jobScratchPrefix(jobId, attempt)));
  await fsp.writeFile(path.join(dir, 'vocals.wav'), 'RIFF');
  await fsp.writeFile(path.join(dir, '.accompaniment.wav.0123456789ab.partial'), 'RIFF');
  return dir;
}

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(
    () => true,
    () => false,
  );
}

describe(SeparationScratchService.name, () => {
  let dir: string;
  let ds: DataSource;
  let jobs: SeparationJobRepository;
  let storage: LocalStorageService;
  let sut: SeparationScratchService;

  async function insertJob(status: SeparationStatus, attempts: number): Promise<string> {
    const id = randomUUID();
    const now = new Date();
    await jobs.insert(
      aJob({ id, status, attempts, inputKey: `uploads/${id}`, createdAt: now, updatedAt: now }),
    );
    return id;
  }

  beforeEach(async () => {
    dir = await makeTempDir('scratch-sweep-');
    ds = new DataSource({
      type: 'better-sqlite3',
      database: path.join(dir, 'db.sqlite'),
      entities: [SeparationJobEntity, SeparationBatchEntity],
      migrations: MIGRATIONS,
      migrationsRun: true,
      synchronize: false,
    });
    await ds.initialize();
    jobs = new SeparationJobRepository(
      ds.getRepository(SeparationJobEntity),
      ds.getRepository(SeparationBatchEntity),
      ds,
    );
    storage = new LocalStorageService({ storage: { dir: path.join(dir, 'storage') } } as AppConfig);
    await storage.onModuleInit();
    sut = new SeparationScratchService(jobs, storage);
  });
  afterEach(async () => {
    await ds.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('deletes what no live job or request owns and keeps a running attempt, however old its files', async () => {
    const scratch = storage.scratchDir;
    const running = await insertJob(SeparationStatus.Running, 2);
    const live = await staging(scratch, running, 2);
    // A long inference writes nothing for a long time: age must not condemn it.
    await ageBy(live, 2 * DAY);
    await ageBy(path.join(live, '.accompaniment.wav.0123456789ab.partial'), 2 * DAY);
    const superseded = await staging(scratch, running, 1);
    const succeeded = await staging(scratch, await insertJob(SeparationStatus.Succeeded, 1), 1);
    const requeued = await staging(scratch, await insertJob(SeparationStatus.Queued, 1), 1);
    const unknown = await staging(scratch, randomUUID(), 1);
    const uploading = storage.newScratchPath('.upload');
    await fsp.writeFile(uploading, 'bytes');
    await ageBy(uploading, 60_000);
    const abandonedUpload = storage.newScratchPath('.upload');
    await fsp.writeFile(abandonedUpload, 'bytes');
    await ageBy(abandonedUpload, 3600_000);
    const legacyFresh = await storage.createScratchDir();
    const legacyOld = await storage.createScratchDir();
    await ageBy(legacyOld, 2 * DAY);

    const result = await sut.sweepOrphans();

    expect(result).toEqual({ jobs: 4, uploads: 1, other: 1 });
    expect((await fsp.readdir(scratch)).sort()).toEqual(
      [live, uploading, legacyFresh].map((p) => path.basename(p)).sort(),
    );
    expect(await fsp.readdir(live)).toContain('.accompaniment.wav.0123456789ab.partial');
    for (const gone of [superseded, succeeded, requeued, unknown, abandonedUpload, legacyOld])
      expect(await exists(gone)).toBe(false);
  });

  it('a worker claiming attempt n removes the staging of attempts < n of that job only', async () => {
    const jobId = await insertJob(SeparationStatus.Running, 3);
    const other = await insertJob(SeparationStatus.Running, 1);
    const first = await staging(storage.scratchDir, jobId, 1);
    const second = await staging(storage.scratchDir, jobId, 2);
    const neighbour = await staging(storage.scratchDir, other, 1);

    const created = await sut.createStaging(jobId, 3);

    expect(path.basename(created).startsWith(jobScratchPrefix(jobId, 3))).toBe(true);
    expect(await fsp.readdir(created)).toEqual([]);
    expect(await exists(first)).toBe(false);
    expect(await exists(second)).toBe(false);
    expect(await exists(neighbour)).toBe(true);
  });
});

describe('scratch sweep at start-up', () => {
  it.each(['api', 'all'] as const)(
    'a %s process starting over a killed process’s leftovers removes them (no 24 h wait)',
    async (role) => {
      const dir = await makeTempDir('scratch-startup-');
      try {
        const scratch = path.join(dir, 'storage', 'tmp');
        await fsp.mkdir(scratch, { recursive: true });
        const orphan = await staging(scratch, randomUUID(), 1);
        const upload = path.join(scratch, `${randomUUID()}.upload`);
        await fsp.writeFile(upload, 'half an upload');
        await ageBy(upload, 3600_000);

        // The API role runs on the Redis queue: the shared Redis, under a key prefix of this run.
        const prefix = `scratch-sweep-${randomUUID()}`;
        const config =
          role === 'api'
            ? { queue: { driver: 'redis', prefix }, redis: { url: REDIS_URL }, cache: { enabled: false } }
            : {};
        const app = await startTestApp({ dir, role, config });
        await app.close();
        if (role === 'api') {
          const r = new IORedis(REDIS_URL);
          const keys = await r.keys(`${prefix}:*`);
          if (keys.length) await r.del(...keys);
          r.disconnect();
        }
        expect(await exists(orphan)).toBe(false);
        expect(await exists(upload)).toBe(false);
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    },
  );
});
