import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity({ name: 'separation_batches' })
@Index('idx_separation_batches_owner', ['ownerId'])
export class SeparationBatchEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'owner_id', type: 'varchar', length: 128 })
  ownerId!: string;

  @Column({ name: 'job_count', type: 'integer' })
  jobCount!: number;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
