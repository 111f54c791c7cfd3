import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A job that holds one of its principal's concurrent-job slots until a terminal event releases it. */
@Entity('quota_active_jobs')
export class QuotaActiveJobEntity {
  @PrimaryColumn({ name: 'job_id', type: 'varchar', length: 64 })
  jobId!: string;

  @Column({ name: 'principal_id', type: 'varchar', length: 255 })
  principalId!: string;

  @Column({ name: 'audio_seconds', type: 'float' })
  audioSeconds!: number;

  @Column({ name: 'started_at', type: 'varchar', length: 24 })
  startedAt!: string;
}

/** Seconds of audio a principal submitted on one UTC day. */
@Entity('quota_daily_usage')
export class QuotaDailyUsageEntity {
  @PrimaryColumn({ name: 'principal_id', type: 'varchar', length: 255 })
  principalId!: string;

  /** YYYY-MM-DD (UTC). */
  @PrimaryColumn({ type: 'varchar', length: 10 })
  day!: string;

  @Column({ name: 'audio_seconds', type: 'float' })
  audioSeconds!: number;
}
