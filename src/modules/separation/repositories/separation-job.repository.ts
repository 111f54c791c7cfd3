import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { Brackets, DataSource, In, IsNull, LessThan, Not, Repository } from 'typeorm';
import { SeparationBatchEntity } from '../entities/separation-batch.entity';
import { SeparationJobEntity } from '../entities/separation-job.entity';
import { SeparationStatus, TERMINAL_STATUSES, UNFINISHED_STATUSES } from '../separation-status';

export type SeparationJobPatch = Partial<Omit<SeparationJobEntity, 'id' | 'ownerId' | 'createdAt'>>;

export interface JobListFilter {
  /** null: every owner (admin). */
  ownerId: string | null;
  statuses?: SeparationStatus[];
  limit: number;
  /** Keyset cursor: rows strictly older than this (createdAt desc, id desc). */
  before?: { createdAt: Date; id: string };
}

/** Separation jobs and batches in the database. The only class here that speaks TypeORM. */
@Injectable()
export class SeparationJobRepository {
  constructor(
    @InjectRepository(SeparationJobEntity) private readonly jobs: Repository<SeparationJobEntity>,
    @InjectRepository(SeparationBatchEntity) private readonly batches: Repository<SeparationBatchEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async insert(job: SeparationJobEntity): Promise<void> {
    await this.jobs.insert(job);
  }

  /** A batch and its jobs, all or nothing. */
  async insertBatch(batch: SeparationBatchEntity, jobs: SeparationJobEntity[]): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      await em.insert(SeparationBatchEntity, batch);
      for (const job of jobs) await em.insert(SeparationJobEntity, job);
    });
  }

  findById(id: string): Promise<SeparationJobEntity | null> {
    return this.jobs.findOneBy({ id });
  }

  findBatch(id: string): Promise<SeparationBatchEntity | null> {
    return this.batches.findOneBy({ id });
  }

  findByBatch(batchId: string): Promise<SeparationJobEntity[]> {
    return this.jobs.find({ where: { batchId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async list(filter: JobListFilter): Promise<SeparationJobEntity[]> {
    const qb = this.jobs.createQueryBuilder('j');
    if (filter.ownerId !== null) qb.andWhere('j.owner_id = :owner', { owner: filter.ownerId });
    if (filter.statuses?.length) qb.andWhere('j.status IN (:...statuses)', { statuses: filter.statuses });
    if (filter.before) {
      const { createdAt, id } = filter.before;
      qb.andWhere(
        new Brackets((w) =>
          w
            .where('j.created_at < :cAt', { cAt: createdAt })
            .orWhere(
              new Brackets((e) =>
                e.where('j.created_at = :cAt', { cAt: createdAt }).andWhere('j.id < :cId', { cId: id }),
              ),
            ),
        ),
      );
    }
    return qb.orderBy('j.created_at', 'DESC').addOrderBy('j.id', 'DESC').limit(filter.limit).getMany();
  }

  /**
   * Compare-and-set on status: applies `patch` only while the job is in one of `from`. This is what
   * keeps a cancel and a finishing worker from overwriting each other. True when the row changed.
   */
  async transition(
    id: string,
    from: readonly SeparationStatus[],
    patch: SeparationJobPatch,
  ): Promise<boolean> {
    const result = await this.jobs.update({ id, status: In([...from]) }, { ...patch, updatedAt: new Date() });
    return (result.affected ?? 0) > 0;
  }

  async delete(id: string): Promise<void> {
    await this.jobs.delete({ id });
  }

  async update(id: string, patch: SeparationJobPatch): Promise<void> {
    await this.jobs.update({ id }, { ...patch, updatedAt: new Date() });
  }

  /**
   * Progress writes only while running, so a late progress tick cannot revive a canceled job; and
   * they never lower the stored progress (a high-water mark: a re-run job, or a write that lost a
   * race, must not move a client's progress bar back).
   */
  async updateProgress(id: string, progress: number, stage: string | null): Promise<void> {
    await this.jobs
      .createQueryBuilder()
      .update(SeparationJobEntity)
      .set({
        progress: () => 'CASE WHEN progress > :progress THEN progress ELSE :progress END',
        stage,
        updatedAt: new Date(),
      })
      .where('id = :id AND status = :status', { id, status: SeparationStatus.Running })
      .setParameter('progress', progress)
      .execute();
  }

  /** Queued and running jobs, oldest first (restart recovery). */
  findUnfinished(): Promise<SeparationJobEntity[]> {
    return this.jobs.find({
      where: { status: In([...UNFINISHED_STATUSES]) },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }

  /** Finished jobs whose files outlived retention and are still on disk. */
  findExpired(now: Date, limit: number): Promise<SeparationJobEntity[]> {
    return this.jobs.find({
      where: { expiresAt: LessThan(now), filesDeletedAt: IsNull(), status: In([...TERMINAL_STATUSES]) },
      order: { expiresAt: 'ASC' },
      take: limit,
    });
  }

  /** Finished jobs whose callback was not delivered yet (a restart interrupted the retries). */
  findPendingCallbacks(limit: number): Promise<SeparationJobEntity[]> {
    return this.jobs.find({
      where: { callbackStatus: 'pending', status: In([...TERMINAL_STATUSES]), callbackUrl: Not(IsNull()) },
      order: { finishedAt: 'ASC' },
      take: limit,
    });
  }
}
