import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Security module: hashed API keys and per-principal quota accounting. */
export class CreateApiKeysAndQuotas1795256373966 implements MigrationInterface {
  name = 'CreateApiKeysAndQuotas1795256373966';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '16', isPrimary: true },
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'role', type: 'varchar', length: '16' },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'varchar', length: '24' },
          { name: 'created_by', type: 'varchar', length: '255', isNullable: true },
          { name: 'expires_at', type: 'varchar', length: '24', isNullable: true },
          { name: 'revoked_at', type: 'varchar', length: '24', isNullable: true },
          { name: 'revoked_by', type: 'varchar', length: '255', isNullable: true },
          { name: 'last_used_at', type: 'varchar', length: '24', isNullable: true },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'quota_active_jobs',
        columns: [
          { name: 'job_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'principal_id', type: 'varchar', length: '255' },
          { name: 'audio_seconds', type: 'float' },
          { name: 'started_at', type: 'varchar', length: '24' },
        ],
      }),
    );
    await queryRunner.createIndex(
      'quota_active_jobs',
      new TableIndex({ name: 'idx_quota_active_jobs_principal', columnNames: ['principal_id'] }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'quota_daily_usage',
        columns: [
          { name: 'principal_id', type: 'varchar', length: '255', isPrimary: true },
          { name: 'day', type: 'varchar', length: '10', isPrimary: true },
          { name: 'audio_seconds', type: 'float' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('quota_daily_usage');
    await queryRunner.dropTable('quota_active_jobs');
    await queryRunner.dropTable('api_keys');
  }
}
