import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/**
 * One audit record, part of a SHA-256 hash chain: `hash` covers this row's content and
 * `prev_hash` (the previous row's `hash`, in id order). Rows are only ever inserted; the app never
 * updates them. `occurred_at` is an ISO-8601 UTC string so the hashed value is byte-identical on
 * SQLite and PostgreSQL. `id` is bigint on PostgreSQL, which the driver returns as a string:
 * always read it through Number().
 */
@Entity('audit_events')
export class AuditEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' })
  id!: number | string;

  @Column({ name: 'occurred_at', type: 'varchar', length: 24 })
  occurredAt!: string;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId!: string | null;

  @Column({ name: 'principal_id', type: 'varchar', length: 255, nullable: true })
  principalId!: string | null;

  @Column({ name: 'principal_role', type: 'varchar', length: 16, nullable: true })
  principalRole!: string | null;

  @Column({ name: 'auth_method', type: 'varchar', length: 16, nullable: true })
  authMethod!: string | null;

  @Column({ type: 'varchar', length: 64 })
  action!: string;

  @Column({ name: 'resource_type', type: 'varchar', length: 64, nullable: true })
  resourceType!: string | null;

  @Column({ name: 'resource_id', type: 'varchar', length: 255, nullable: true })
  resourceId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  outcome!: AuditOutcome;

  @Column({ name: 'http_status', type: 'integer', nullable: true })
  httpStatus!: number | null;

  @Column({ name: 'client_ip', type: 'varchar', length: 64, nullable: true })
  clientIp!: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 512, nullable: true })
  userAgent!: string | null;

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs!: number | null;

  /** Canonical JSON (sorted keys), hashed verbatim. */
  @Column({ type: 'text', nullable: true })
  details!: string | null;

  @Column({ name: 'prev_hash', type: 'varchar', length: 64 })
  prevHash!: string;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;
}
