import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Audit module: the hash-chained event log and the retention anchors. */
export class CreateAuditEvents1795256373967 implements MigrationInterface {
  name = 'CreateAuditEvents1795256373967';

  async up(queryRunner: QueryRunner): Promise<void> {
    // SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit sequence.
    const idType = queryRunner.connection.driver.options.type === 'postgres' ? 'bigint' : 'integer';
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          { name: 'id', type: idType, isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'occurred_at', type: 'varchar', length: '24' },
          { name: 'request_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'principal_id', type: 'varchar', length: '255', isNullable: true },
          { name: 'principal_role', type: 'varchar', length: '16', isNullable: true },
          { name: 'auth_method', type: 'varchar', length: '16', isNullable: true },
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'resource_type', type: 'varchar', length: '64', isNullable: true },
          { name: 'resource_id', type: 'varchar', length: '255', isNullable: true },
          { name: 'outcome', type: 'varchar', length: '16' },
          { name: 'http_status', type: 'integer', isNullable: true },
          { name: 'client_ip', type: 'varchar', length: '64', isNullable: true },
          { name: 'user_agent', type: 'varchar', length: '512', isNullable: true },
          { name: 'duration_ms', type: 'integer', isNullable: true },
          { name: 'details', type: 'text', isNullable: true },
          { name: 'prev_hash', type: 'varchar', length: '64' },
          { name: 'hash', type: 'varchar', length: '64' },
        ],
      }),
    );
    for (const [name, columns] of [
      ['idx_audit_events_occurred_at', ['occurred_at']],
      ['idx_audit_events_principal', ['principal_id']],
      ['idx_audit_events_action', ['action']],
      ['idx_audit_events_resource', ['resource_type', 'resource_id']],
      ['idx_audit_events_outcome', ['outcome']],
    ] as const) {
      await queryRunner.createIndex('audit_events', new TableIndex({ name, columnNames: [...columns] }));
    }
    await queryRunner.createTable(
      new Table({
        name: 'audit_anchors',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
          },
          { name: 'created_at', type: 'varchar', length: '24' },
          { name: 'last_deleted_id', type: 'bigint' },
          { name: 'last_deleted_hash', type: 'varchar', length: '64' },
          { name: 'deleted_count', type: 'integer' },
          { name: 'prev_anchor_hash', type: 'varchar', length: '64' },
          { name: 'hash', type: 'varchar', length: '64' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_anchors');
    await queryRunner.dropTable('audit_events');
  }
}
