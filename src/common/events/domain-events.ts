/**
 * Domain events emitted with @nestjs/event-emitter (EventEmitter2). Services emit; the Audit and
 * Monitoring modules subscribe. Names and payloads live here so emitters and listeners agree.
 */
import type { Principal } from '../auth/principal';

export const DomainEvents = {
  SeparationQueued: 'separation.queued',
  SeparationStarted: 'separation.started',
  SeparationProgress: 'separation.progress',
  SeparationSucceeded: 'separation.succeeded',
  SeparationFailed: 'separation.failed',
  SeparationCanceled: 'separation.canceled',
  SeparationDeleted: 'separation.deleted',
  ModelInstallStarted: 'model.install.started',
  ModelInstalled: 'model.installed',
  ModelInstallFailed: 'model.install.failed',
  ModelActivated: 'model.activated',
  ModelRemoved: 'model.removed',
  ModelValidated: 'model.validated',
  ModelLoaded: 'model.loaded',
  CacheHit: 'cache.hit',
  CacheMiss: 'cache.miss',
  CacheCleared: 'cache.cleared',
  ApiKeyCreated: 'apikey.created',
  ApiKeyRevoked: 'apikey.revoked',
  AuthFailed: 'auth.failed',
} as const;
export type DomainEventName = (typeof DomainEvents)[keyof typeof DomainEvents];

export interface SeparationEventPayload {
  jobId: string;
  principal?: Principal;
  /** The job's owner (principal id); present also when no request is in scope (queue workers). */
  ownerId?: string;
  model: string;
  modelVersion?: string;
  executionProvider?: string;
  /** Seconds of input audio. */
  audioSeconds?: number;
  /** Wall time of the separation in ms (succeeded/failed). */
  durationMs?: number;
  /** Succeeded runs: model calls, and those shared with other jobs (SeparationResult.stats). */
  modelCalls?: number;
  sharedModelCalls?: number;
  progress?: number;
  cached?: boolean;
  errorCode?: string;
  requestId?: string;
}

export interface ModelEventPayload {
  name: string;
  version?: string;
  principal?: Principal;
  durationMs?: number;
  errorCode?: string;
  requestId?: string;
}

export interface CacheEventPayload {
  tier: 'l1' | 'l2' | 'l3' | 'all';
  key?: string;
  model?: string;
}

export interface AuthEventPayload {
  principal?: Principal;
  keyId?: string;
  reason: string;
  requestId?: string;
  ip?: string;
  userAgent?: string;
}
