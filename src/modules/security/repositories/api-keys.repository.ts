import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { ApiKeyEntity } from '../entities/api-key.entity';

/** Database access for API keys (the only class here that talks to TypeORM). */
@Injectable()
export class ApiKeysRepository {
  constructor(@InjectRepository(ApiKeyEntity) private readonly repo: Repository<ApiKeyEntity>) {}

  findById(id: string): Promise<ApiKeyEntity | null> {
    return this.repo.findOneBy({ id });
  }

  list(): Promise<ApiKeyEntity[]> {
    return this.repo.find({ order: { createdAt: 'DESC', id: 'ASC' } });
  }

  async insert(entity: ApiKeyEntity): Promise<void> {
    await this.repo.insert(entity);
  }

  /** Sets revoked_at only if still unset, so the first revocation time is kept. Returns whether it changed. */
  async revoke(id: string, at: string, by: string): Promise<boolean> {
    const result = await this.repo.update({ id, revokedAt: IsNull() }, { revokedAt: at, revokedBy: by });
    return (result.affected ?? 0) > 0;
  }

  async touchLastUsed(id: string, at: string): Promise<void> {
    await this.repo.update({ id }, { lastUsedAt: at });
  }

  /** Active (not revoked, not expired) admin keys: the bootstrap check. */
  countActiveAdmins(nowIso: string): Promise<number> {
    return this.repo
      .createQueryBuilder('k')
      .where('k.role = :role', { role: 'admin' })
      .andWhere('k.revoked_at IS NULL')
      .andWhere('(k.expires_at IS NULL OR k.expires_at > :now)', { now: nowIso })
      .getCount();
  }
}
