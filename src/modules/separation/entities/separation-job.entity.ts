import { Column, Entity, Index, PrimaryColumn, type ValueTransformer } from 'typeorm';
import type { SignalAnalysis } from '../../../core/analysis/signal-analysis';
import type { InputAudioInfo } from '../../../engine/types';
import type { SeparationJobOptions } from '../separation-options';
import { SeparationStatus } from '../separation-status';

/** PostgreSQL returns bigint as a string; sizes here stay far below 2^53. */
const bigintToNumber: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | number | null) => (v === null || v === undefined ? v : Number(v)),
};

export interface StoredStem {
  name: string;
  /** Storage key of the file. */
  key: string;
  codec: string;
  contentType: string;
  size: number;
  etag: string;
  /** Loudness and silence of the stem (absent: the job ran without analysis, or before it existed). */
  analysis?: SignalAnalysis;
}

export interface JobTimings {
  queuedMs: number | null;
  decodeMs: number | null;
  inferenceMs: number | null;
  dspMs: number | null;
  encodeMs: number | null;
  totalMs: number | null;
  /**
   * The run's model calls and how many were shared with other jobs (SeparationResult.stats); kept
   * in this JSON column so that no migration is needed. Absent for jobs that did not succeed, and
   * for jobs finished before they were recorded.
   */
  modelCalls?: number;
  sharedModelCalls?: number;
}

export type CallbackStatus = 'pending' | 'delivered' | 'failed';

@Entity({ name: 'separation_jobs' })
@Index('idx_separation_jobs_owner_created', ['ownerId', 'createdAt'])
@Index('idx_separation_jobs_status', ['status'])
@Index('idx_separation_jobs_batch', ['batchId'])
@Index('idx_separation_jobs_expires', ['expiresAt'])
export class SeparationJobEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'owner_id', type: 'varchar', length: 128 })
  ownerId!: string;

  @Column({ name: 'batch_id', type: 'varchar', length: 36, nullable: true })
  batchId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: SeparationStatus;

  @Column({ type: 'integer', default: 0 })
  progress!: number;

  @Column({ type: 'varchar', length: 32, nullable: true })
  stage!: string | null;

  @Column({ name: 'requested_model', type: 'varchar', length: 200 })
  requestedModel!: string;

  @Column({ name: 'model_name', type: 'varchar', length: 200 })
  modelName!: string;

  @Column({ name: 'model_version', type: 'varchar', length: 64, nullable: true })
  modelVersion!: string | null;

  @Column({ name: 'model_stems', type: 'simple-json' })
  modelStems!: string[];

  @Column({ type: 'simple-json' })
  options!: SeparationJobOptions;

  @Column({ name: 'input_key', type: 'varchar', length: 255 })
  inputKey!: string;

  /** Client's file name, for display and Content-Disposition only; never a path. */
  @Column({ name: 'input_filename', type: 'varchar', length: 255, nullable: true })
  inputFilename!: string | null;

  @Column({ name: 'input_size', type: 'bigint', transformer: bigintToNumber })
  inputSize!: number;

  @Column({ name: 'input_sha256', type: 'varchar', length: 64 })
  inputSha256!: string;

  @Column({ name: 'input_format', type: 'varchar', length: 16 })
  inputFormat!: string;

  @Column({ name: 'input_info', type: 'simple-json', nullable: true })
  inputInfo!: InputAudioInfo | null;

  /** Loudness and silence of the input mixture; null: no analysis. */
  @Column({ type: 'simple-json', nullable: true })
  analysis!: SignalAnalysis | null;

  @Column({ name: 'cache_key', type: 'varchar', length: 64 })
  cacheKey!: string;

  @Column({ type: 'boolean', default: false })
  cached!: boolean;

  @Column({ name: 'execution_provider', type: 'varchar', length: 32, nullable: true })
  executionProvider!: string | null;

  /** The device behind executionProvider (CPU model, 'CUDA device 0'); null when unnamed or not run. */
  @Column({ name: 'execution_device', type: 'varchar', length: 128, nullable: true })
  executionDevice!: string | null;

  @Column({ type: 'simple-json', nullable: true })
  stems!: StoredStem[] | null;

  @Column({ type: 'simple-json', nullable: true })
  timings!: JobTimings | null;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'callback_url', type: 'text', nullable: true })
  callbackUrl!: string | null;

  @Column({ name: 'callback_status', type: 'varchar', length: 16, nullable: true })
  callbackStatus!: CallbackStatus | null;

  @Column({ name: 'callback_attempts', type: 'integer', default: 0 })
  callbackAttempts!: number;

  /** How many times a worker started this job (restarts re-queue interrupted jobs). */
  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;

  @Column({ name: 'started_at', type: Date, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;

  @Column({ name: 'expires_at', type: Date, nullable: true })
  expiresAt!: Date | null;

  /** Set when the job's files were deleted (retention or DELETE); the row stays for the record. */
  @Column({ name: 'files_deleted_at', type: Date, nullable: true })
  filesDeletedAt!: Date | null;
}
