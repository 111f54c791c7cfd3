import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * separation_jobs.analysis: loudness and silence of a job's input (issue 11; the stems' own go into
 * the `stems` JSON). Nullable text (TypeORM simple-json) on SQLite and PostgreSQL alike.
 */
export class AddSeparationAnalysis1796000000000 implements MigrationInterface {
  name = 'AddSeparationAnalysis1796000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'separation_jobs',
      new TableColumn({ name: 'analysis', type: 'text', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('separation_jobs', 'analysis');
  }
}
