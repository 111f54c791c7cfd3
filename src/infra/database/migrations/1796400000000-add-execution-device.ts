import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** separation_jobs.execution_device: the device behind execution_provider (CPU model, CUDA device). */
export class AddExecutionDevice1796400000000 implements MigrationInterface {
  name = 'AddExecutionDevice1796400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'separation_jobs',
      new TableColumn({ name: 'execution_device', type: 'varchar', length: '128', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('separation_jobs', 'execution_device');
  }
}
