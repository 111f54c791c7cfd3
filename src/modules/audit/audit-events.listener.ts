import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { Principal } from '../../common/auth/principal';
import {
  DomainEvents,
  type AuthEventPayload,
  type CacheEventPayload,
  type ModelEventPayload,
  type SeparationEventPayload,
} from '../../common/events/domain-events';
import type { AuditOutcome } from './entities/audit-event.entity';
import { AuditWriter } from './audit-writer.service';

/** Shape of apikey.* payloads (SecurityModule's ApiKeyEventPayload; not imported to keep the modules independent). */
interface ApiKeyEventLike {
  principal?: Principal;
  keyId: string;
  name?: string;
  role?: string;
  requestId?: string;
}

/**
 * Domain events → audit rows. High-volume, non-security events (separation.progress, cache.hit/miss,
 * model.loaded) are deliberately not recorded. Listeners only buffer (AuditWriter.record is sync),
 * so emitters are never slowed down or broken by the audit log.
 */
@Injectable()
export class AuditEventsListener {
  constructor(private readonly writer: AuditWriter) {}

  // One method per event: EventEmitter2 does not pass the event name to Nest-wrapped listeners.
  @OnEvent(DomainEvents.SeparationQueued)
  onSeparationQueued(p: SeparationEventPayload): void {
    this.separation(DomainEvents.SeparationQueued, p);
  }

  @OnEvent(DomainEvents.SeparationStarted)
  onSeparationStarted(p: SeparationEventPayload): void {
    this.separation(DomainEvents.SeparationStarted, p);
  }

  @OnEvent(DomainEvents.SeparationSucceeded)
  onSeparationSucceeded(p: SeparationEventPayload): void {
    this.separation(DomainEvents.SeparationSucceeded, p);
  }

  @OnEvent(DomainEvents.SeparationFailed)
  onSeparationFailed(p: SeparationEventPayload): void {
    this.separation(DomainEvents.SeparationFailed, p);
  }

  @OnEvent(DomainEvents.SeparationCanceled)
  onSeparationCanceled(p: SeparationEventPayload): void {
    this.separation(DomainEvents.SeparationCanceled, p);
  }

  @OnEvent(DomainEvents.SeparationDeleted)
  onSeparationDeleted(p: SeparationEventPayload): void {
    this.separation(DomainEvents.SeparationDeleted, p);
  }

  @OnEvent(DomainEvents.ModelInstallStarted)
  onModelInstallStarted(p: ModelEventPayload): void {
    this.model(DomainEvents.ModelInstallStarted, p);
  }

  @OnEvent(DomainEvents.ModelInstalled)
  onModelInstalled(p: ModelEventPayload): void {
    this.model(DomainEvents.ModelInstalled, p);
  }

  @OnEvent(DomainEvents.ModelInstallFailed)
  onModelInstallFailed(p: ModelEventPayload): void {
    this.model(DomainEvents.ModelInstallFailed, p);
  }

  @OnEvent(DomainEvents.ModelActivated)
  onModelActivated(p: ModelEventPayload): void {
    this.model(DomainEvents.ModelActivated, p);
  }

  @OnEvent(DomainEvents.ModelRemoved)
  onModelRemoved(p: ModelEventPayload): void {
    this.model(DomainEvents.ModelRemoved, p);
  }

  @OnEvent(DomainEvents.ModelValidated)
  onModelValidated(p: ModelEventPayload): void {
    this.model(DomainEvents.ModelValidated, p);
  }

  @OnEvent(DomainEvents.AuthFailed)
  onAuthFailed(p: AuthEventPayload): void {
    this.writer.record({
      action: DomainEvents.AuthFailed,
      outcome: 'denied',
      principal: p.principal ?? null,
      requestId: p.requestId,
      resourceType: p.keyId ? 'apikey' : null,
      resourceId: p.keyId ?? null,
      clientIp: p.ip,
      userAgent: p.userAgent,
      details: { reason: p.reason },
    });
  }

  @OnEvent(DomainEvents.ApiKeyCreated)
  onApiKeyCreated(p: ApiKeyEventLike): void {
    this.apiKey(DomainEvents.ApiKeyCreated, p);
  }

  @OnEvent(DomainEvents.ApiKeyRevoked)
  onApiKeyRevoked(p: ApiKeyEventLike): void {
    this.apiKey(DomainEvents.ApiKeyRevoked, p);
  }

  @OnEvent(DomainEvents.CacheCleared)
  onCacheCleared(p: CacheEventPayload & { principal?: Principal }): void {
    this.writer.record({
      action: DomainEvents.CacheCleared,
      outcome: 'success',
      principal: p?.principal ?? null,
      resourceType: 'cache',
      resourceId: p?.tier ?? null,
      details: { tier: p?.tier, model: p?.model },
    });
  }

  private apiKey(action: string, p: ApiKeyEventLike): void {
    this.writer.record({
      action,
      outcome: 'success',
      principal: p.principal ?? null,
      authMethod: p.principal ? undefined : 'system',
      requestId: p.requestId,
      resourceType: 'apikey',
      resourceId: p.keyId,
      details: { name: p.name, role: p.role },
    });
  }

  private separation(action: string, p: SeparationEventPayload): void {
    const outcome: AuditOutcome = action === DomainEvents.SeparationFailed ? 'failure' : 'success';
    this.writer.record({
      action,
      outcome,
      principal: p.principal ?? null,
      requestId: p.requestId,
      resourceType: 'job',
      resourceId: p.jobId,
      durationMs: p.durationMs,
      details: {
        ownerId: p.ownerId ?? p.principal?.id,
        model: p.model,
        modelVersion: p.modelVersion,
        executionProvider: p.executionProvider,
        audioSeconds: p.audioSeconds,
        cached: p.cached,
        errorCode: p.errorCode,
      },
    });
  }

  private model(action: string, p: ModelEventPayload): void {
    this.writer.record({
      action,
      outcome: action === DomainEvents.ModelInstallFailed ? 'failure' : 'success',
      principal: p.principal ?? null,
      requestId: p.requestId,
      resourceType: 'model',
      resourceId: p.name,
      durationMs: p.durationMs,
      details: { version: p.version, errorCode: p.errorCode },
    });
  }
}
