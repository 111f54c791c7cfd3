import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Written by retention in the same transaction that deletes old events: the id and hash of the last
 * deleted event, so the first surviving event's `prev_hash` still has something to match. Anchors
 * chain to each other (`prev_anchor_hash`) and every prune also appends an `audit.prune` event to
 * the main chain naming the anchor, so forging an anchor means rewriting the chain's tail too.
 */
@Entity('audit_anchors')
export class AuditAnchorEntity {
  @PrimaryGeneratedColumn('increment')
  id!: number;

  @Column({ name: 'created_at', type: 'varchar', length: 24 })
  createdAt!: string;

  @Column({ name: 'last_deleted_id', type: 'bigint' })
  lastDeletedId!: number | string;

  @Column({ name: 'last_deleted_hash', type: 'varchar', length: 64 })
  lastDeletedHash!: string;

  @Column({ name: 'deleted_count', type: 'integer' })
  deletedCount!: number;

  @Column({ name: 'prev_anchor_hash', type: 'varchar', length: 64 })
  prevAnchorHash!: string;

  @Column({ type: 'varchar', length: 64 })
  hash!: string;
}
