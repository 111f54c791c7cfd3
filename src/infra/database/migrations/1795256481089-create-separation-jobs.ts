import {
  Table,
  TableIndex,
  type MigrationInterface,
  type QueryRunner,
  type TableColumnOptions,
} from 'typeorm';

/** Separation jobs and batches (REST API). One migration for SQLite and PostgreSQL. */
export class CreateSeparationJobs1795256481089 implements MigrationInterface {
  name = 'CreateSeparationJobs1795256481089';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Instants: timestamptz on PostgreSQL; SQLite has no such type and TypeORM stores 'datetime' as UTC text.
    const instant = queryRunner.connection.options.type === 'postgres' ? 'timestamptz' : 'datetime';
    const at = (name: string, nullable = true): TableColumnOptions => ({
      name,
      type: instant,
      isNullable: nullable,
    });
    const str = (name: string, length: number, nullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: nullable,
    });
    const text = (name: string, nullable = true): TableColumnOptions => ({
      name,
      type: 'text',
      isNullable: nullable,
    });
    const int = (name: string): TableColumnOptions => ({
      name,
      type: 'integer',
      isNullable: false,
      default: 0,
    });

    await queryRunner.createTable(
      new Table({
        name: 'separation_batches',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('owner_id', 128),
          { name: 'job_count', type: 'integer', isNullable: false },
          at('created_at', false),
        ],
        indices: [new TableIndex({ name: 'idx_separation_batches_owner', columnNames: ['owner_id'] })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'separation_jobs',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('owner_id', 128),
          str('batch_id', 36, true),
          str('status', 16),
          int('progress'),
          str('stage', 32, true),
          str('requested_model', 200),
          str('model_name', 200),
          str('model_version', 64, true),
          text('model_stems', false),
          text('options', false),
          str('input_key', 255),
          str('input_filename', 255, true),
          { name: 'input_size', type: 'bigint', isNullable: false },
          str('input_sha256', 64),
          str('input_format', 16),
          text('input_info'),
          str('cache_key', 64),
          { name: 'cached', type: 'boolean', isNullable: false, default: false },
          str('execution_provider', 32, true),
          text('stems'),
          text('timings'),
          str('error_code', 64, true),
          text('error_message'),
          text('callback_url'),
          str('callback_status', 16, true),
          int('callback_attempts'),
          int('attempts'),
          str('request_id', 128, true),
          at('created_at', false),
          at('updated_at', false),
          at('started_at'),
          at('finished_at'),
          at('expires_at'),
          at('files_deleted_at'),
        ],
        indices: [
          new TableIndex({
            name: 'idx_separation_jobs_owner_created',
            columnNames: ['owner_id', 'created_at'],
          }),
          new TableIndex({ name: 'idx_separation_jobs_status', columnNames: ['status'] }),
          new TableIndex({ name: 'idx_separation_jobs_batch', columnNames: ['batch_id'] }),
          new TableIndex({ name: 'idx_separation_jobs_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('separation_jobs');
    await queryRunner.dropTable('separation_batches');
  }
}
