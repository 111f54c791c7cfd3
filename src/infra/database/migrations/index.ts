/**
 * Every migration, in order. Add new ones at the end (class names carry a timestamp).
 * Write them with QueryRunner's Table API (createTable/addColumn/createIndex), not raw SQL, so the
 * same migration runs on SQLite and PostgreSQL.
 */
import type { MigrationInterface } from 'typeorm';
import { CreateApiKeysAndQuotas1795256373966 } from './1795256373966-create-api-keys-and-quotas';
import { CreateAuditEvents1795256373967 } from './1795256373967-create-audit-events';
import { CreateSeparationJobs1795256481089 } from './1795256481089-create-separation-jobs';
import { AddSeparationAnalysis1796000000000 } from './1796000000000-add-separation-analysis';
import { AddExecutionDevice1796400000000 } from './1796400000000-add-execution-device';

export const MIGRATIONS: Array<new () => MigrationInterface> = [
  CreateApiKeysAndQuotas1795256373966,
  CreateAuditEvents1795256373967,
  CreateSeparationJobs1795256481089,
  AddSeparationAnalysis1796000000000,
  AddExecutionDevice1796400000000,
];
