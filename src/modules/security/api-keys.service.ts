import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Principal } from '../../common/auth/principal';
import type { Role } from '../../common/decorators/roles.decorator';
import { DomainEvents } from '../../common/events/domain-events';
import { ErrorCodes, SecurityError, ValidationError } from '../../core/errors';
import { generateApiKey } from './api-key-token';
import { ApiKeyEntity } from './entities/api-key.entity';
import { ApiKeysRepository } from './repositories/api-keys.repository';

/** Payload of DomainEvents.ApiKeyCreated / ApiKeyRevoked (never carries the secret). */
export interface ApiKeyEventPayload {
  /** Who did it; undefined for the first-run bootstrap key. */
  principal?: Principal;
  keyId: string;
  name: string;
  role: Role;
  requestId?: string;
}

export interface CreateApiKeyInput {
  name: string;
  role: Role;
  expiresAt?: Date | null;
}

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly events: EventEmitter2,
  ) {}

  /** Creates a key; the returned token is the only copy of the secret that will ever exist. */
  async create(input: CreateApiKeyInput, actor?: Principal): Promise<{ key: ApiKeyEntity; token: string }> {
    const now = new Date();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'expiresAt must be in the future', {
        field: 'expiresAt',
      });
    }
    const generated = generateApiKey();
    const key = Object.assign(new ApiKeyEntity(), {
      id: generated.id,
      name: input.name,
      role: input.role,
      secretHash: generated.hash,
      createdAt: now.toISOString(),
      createdBy: actor?.id ?? 'system',
      expiresAt: input.expiresAt ? input.expiresAt.toISOString() : null,
      revokedAt: null,
      revokedBy: null,
      lastUsedAt: null,
    });
    await this.repo.insert(key);
    this.emit(DomainEvents.ApiKeyCreated, key, actor);
    return { key, token: generated.token };
  }

  list(): Promise<ApiKeyEntity[]> {
    return this.repo.list();
  }

  async get(id: string): Promise<ApiKeyEntity> {
    const key = await this.repo.findById(id);
    if (!key) throw new SecurityError(ErrorCodes.API_KEY_NOT_FOUND, `No API key ${id}`);
    return key;
  }

  /** Takes effect on the next request: authentication reads the key row every time, nothing is cached. */
  async revoke(id: string, actor: Principal): Promise<ApiKeyEntity> {
    const key = await this.get(id);
    if (await this.repo.revoke(id, new Date().toISOString(), actor.id)) {
      this.emit(DomainEvents.ApiKeyRevoked, key, actor);
    }
    return this.get(id);
  }

  countActiveAdmins(): Promise<number> {
    return this.repo.countActiveAdmins(new Date().toISOString());
  }

  private emit(event: string, key: ApiKeyEntity, actor?: Principal): void {
    const payload: ApiKeyEventPayload = { principal: actor, keyId: key.id, name: key.name, role: key.role };
    this.events.emit(event, payload);
  }
}
