import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { sqliteIdle, type SqliteDatabase } from '../../../infra/database/sqlite-idle';

export interface QuotaUsage {
  activeJobs: number;
  audioSecondsToday: number;
}

export interface QuotaLimits {
  maxConcurrentJobs: number;
  maxAudioSecondsPerDay: number;
}

export type ReserveResult =
  { ok: true; usage: QuotaUsage } | { ok: false; usage: QuotaUsage; reason: 'concurrency' | 'daily' };

/**
 * Quota accounting tables. A reservation (check + insert) is one serialized transaction: on SQLite a
 * synchronous `BEGIN IMMEDIATE` transaction on the driver's connection (nothing else in the process
 * can interleave with it, and other processes wait for the write lock); on PostgreSQL a
 * transaction-scoped advisory lock per principal, so replicas cannot both take the last slot.
 */
@Injectable()
export class QuotaRepository {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  private get isPostgres(): boolean {
    return this.ds.options.type === 'postgres';
  }

  async usage(principalId: string, day: string, staleBefore: string): Promise<QuotaUsage> {
    const p = this.isPostgres ? ['$1', '$2', '$3'] : ['?', '?', '?'];
    const active = await this.ds.query(
      `SELECT COUNT(*) AS n FROM quota_active_jobs WHERE principal_id = ${p[0]} AND started_at >= ${p[1]}`,
      [principalId, staleBefore],
    );
    const daily = await this.ds.query(
      `SELECT audio_seconds AS s FROM quota_daily_usage WHERE principal_id = ${p[0]} AND day = ${p[1]}`,
      [principalId, day],
    );
    return { activeJobs: Number(active[0]?.n ?? 0), audioSecondsToday: Number(daily[0]?.s ?? 0) };
  }

  /**
   * Atomically: if the principal is under both limits (counting `audioSeconds`), record the job as
   * active and add its audio to today's total. Re-reserving a job id that is already active is a no-op.
   */
  async reserve(
    args: {
      principalId: string;
      jobId: string;
      audioSeconds: number;
      day: string;
      now: string;
      staleBefore: string;
    },
    limits: QuotaLimits | null,
  ): Promise<ReserveResult> {
    if (this.isPostgres) return this.reservePostgres(args, limits);
    const db = await sqliteIdle(this.ds);
    const txn = db.transaction((): ReserveResult => {
      const exists = db.prepare('SELECT 1 FROM quota_active_jobs WHERE job_id = ?').get(args.jobId);
      const usage = readUsageSqlite(db, args.principalId, args.day, args.staleBefore);
      if (exists) return { ok: true, usage };
      const verdict = judge(usage, args.audioSeconds, limits);
      if (verdict) return { ok: false, usage, reason: verdict };
      db.prepare(
        'INSERT INTO quota_active_jobs (job_id, principal_id, audio_seconds, started_at) VALUES (?, ?, ?, ?)',
      ).run(args.jobId, args.principalId, args.audioSeconds, args.now);
      db.prepare(
        `INSERT INTO quota_daily_usage (principal_id, day, audio_seconds) VALUES (?, ?, ?)
         ON CONFLICT (principal_id, day) DO UPDATE SET audio_seconds = audio_seconds + excluded.audio_seconds`,
      ).run(args.principalId, args.day, args.audioSeconds);
      return {
        ok: true,
        usage: {
          activeJobs: usage.activeJobs + 1,
          audioSecondsToday: usage.audioSecondsToday + args.audioSeconds,
        },
      };
    });
    return txn.immediate();
  }

  private async reservePostgres(
    args: {
      principalId: string;
      jobId: string;
      audioSeconds: number;
      day: string;
      now: string;
      staleBefore: string;
    },
    limits: QuotaLimits | null,
  ): Promise<ReserveResult> {
    return this.ds.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('spleeter.quota'), hashtext($1))`, [
        args.principalId,
      ]);
      const exists = await m.query('SELECT 1 FROM quota_active_jobs WHERE job_id = $1', [args.jobId]);
      const active = await m.query(
        'SELECT COUNT(*) AS n FROM quota_active_jobs WHERE principal_id = $1 AND started_at >= $2',
        [args.principalId, args.staleBefore],
      );
      const daily = await m.query(
        'SELECT audio_seconds AS s FROM quota_daily_usage WHERE principal_id = $1 AND day = $2',
        [args.principalId, args.day],
      );
      const usage = { activeJobs: Number(active[0]?.n ?? 0), audioSecondsToday: Number(daily[0]?.s ?? 0) };
      if (exists.length > 0) return { ok: true, usage } as const;
      const verdict = judge(usage, args.audioSeconds, limits);
      if (verdict) return { ok: false, usage, reason: verdict } as const;
      await m.query(
        'INSERT INTO quota_active_jobs (job_id, principal_id, audio_seconds, started_at) VALUES ($1, $2, $3, $4)',
        [args.jobId, args.principalId, args.audioSeconds, args.now],
      );
      await m.query(
        `INSERT INTO quota_daily_usage (principal_id, day, audio_seconds) VALUES ($1, $2, $3)
         ON CONFLICT (principal_id, day) DO UPDATE SET audio_seconds = quota_daily_usage.audio_seconds + EXCLUDED.audio_seconds`,
        [args.principalId, args.day, args.audioSeconds],
      );
      return {
        ok: true,
        usage: {
          activeJobs: usage.activeJobs + 1,
          audioSecondsToday: usage.audioSecondsToday + args.audioSeconds,
        },
      } as const;
    });
  }

  async release(jobId: string): Promise<boolean> {
    const res = await this.ds
      .createQueryBuilder()
      .delete()
      .from('quota_active_jobs')
      .where('job_id = :jobId', { jobId })
      .execute();
    return (res.affected ?? 0) > 0;
  }

  /** Housekeeping: forget daily totals older than `beforeDay` and active rows of crashed jobs. */
  async purge(beforeDay: string, staleBefore: string): Promise<void> {
    await this.ds
      .createQueryBuilder()
      .delete()
      .from('quota_daily_usage')
      .where('day < :d', { d: beforeDay })
      .execute();
    await this.ds
      .createQueryBuilder()
      .delete()
      .from('quota_active_jobs')
      .where('started_at < :s', { s: staleBefore })
      .execute();
  }
}

function readUsageSqlite(
  db: SqliteDatabase,
  principalId: string,
  day: string,
  staleBefore: string,
): QuotaUsage {
  const active = db
    .prepare('SELECT COUNT(*) AS n FROM quota_active_jobs WHERE principal_id = ? AND started_at >= ?')
    .get(principalId, staleBefore) as { n: number };
  const daily = db
    .prepare('SELECT audio_seconds AS s FROM quota_daily_usage WHERE principal_id = ? AND day = ?')
    .get(principalId, day) as { s: number } | undefined;
  return { activeJobs: Number(active.n), audioSecondsToday: Number(daily?.s ?? 0) };
}

function judge(
  usage: QuotaUsage,
  audioSeconds: number,
  limits: QuotaLimits | null,
): 'concurrency' | 'daily' | null {
  if (!limits) return null;
  if (usage.activeJobs >= limits.maxConcurrentJobs) return 'concurrency';
  if (usage.audioSecondsToday + audioSeconds > limits.maxAudioSecondsPerDay) return 'daily';
  return null;
}
