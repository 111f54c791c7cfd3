/**
 * Builds the separation services for unit tests with every collaborator replaced by a strict mock
 * (see strict-mock.ts): tests pass only the behaviour they expect to be used.
 */
import type { EventEmitter2 } from '@nestjs/event-emitter';
import { AppConfig } from '../../src/infra/config/app-config';
import { configSchema } from '../../src/infra/config/config.schema';
import type { CallbackUrlPolicy } from '../../src/infra/http/callback-url-policy';
import type { JobQueue } from '../../src/infra/queue/job-queue';
import type { StorageService } from '../../src/infra/storage/storage.service';
import type { EngineService } from '../../src/modules/engine/engine.service';
import type { QuotaService } from '../../src/modules/security/quota.service';
import { SeparationJobEntity } from '../../src/modules/separation/entities/separation-job.entity';
import type { SeparationJobRepository } from '../../src/modules/separation/repositories/separation-job.repository';
import type { ResultCachePort } from '../../src/common/cache/result-cache.port';
import type { SeparationCallbackService } from '../../src/modules/separation/separation-callback.service';
import { SeparationLifecycle } from '../../src/modules/separation/separation-lifecycle.service';
import { SeparationProgressHub } from '../../src/modules/separation/separation-progress.hub';
import { SeparationStatus } from '../../src/modules/separation/separation-status';
import { strictMock, type Strict } from './strict-mock';

export function testConfig(overrides: Record<string, unknown> = {}): AppConfig {
  return new AppConfig(configSchema.parse(overrides));
}

export interface SeparationMocks {
  jobs: Strict<SeparationJobRepository>;
  queue: Strict<JobQueue>;
  storage: Strict<StorageService>;
  cache: Strict<ResultCachePort>;
  engine: Strict<EngineService>;
  callbackPolicy: Strict<CallbackUrlPolicy>;
  callbacks: Strict<SeparationCallbackService>;
  events: Strict<EventEmitter2>;
  quotas: Strict<QuotaService>;
  hub: SeparationProgressHub;
  config: AppConfig;
}

export interface MockOverrides {
  jobs?: Partial<SeparationJobRepository>;
  queue?: Partial<JobQueue>;
  storage?: Partial<StorageService>;
  cache?: Partial<ResultCachePort>;
  engine?: Partial<EngineService>;
  callbackPolicy?: Partial<CallbackUrlPolicy>;
  callbacks?: Partial<SeparationCallbackService>;
  events?: Partial<EventEmitter2>;
  quotas?: Partial<QuotaService>;
  config?: Record<string, unknown>;
}

export function separationMocks(o: MockOverrides = {}): SeparationMocks {
  return {
    jobs: strictMock<SeparationJobRepository>('SeparationJobRepository', o.jobs),
    queue: strictMock<JobQueue>('JobQueue', { driver: 'memory', ...o.queue } as Partial<JobQueue>),
    storage: strictMock<StorageService>('StorageService', o.storage),
    cache: strictMock<ResultCachePort>('ResultCachePort', o.cache),
    engine: strictMock<EngineService>('EngineService', o.engine),
    callbackPolicy: strictMock<CallbackUrlPolicy>('CallbackUrlPolicy', o.callbackPolicy),
    callbacks: strictMock<SeparationCallbackService>('SeparationCallbackService', o.callbacks),
    events: strictMock<EventEmitter2>('EventEmitter2', { emit: () => true, ...o.events }),
    quotas: strictMock<QuotaService>('QuotaService', o.quotas),
    hub: new SeparationProgressHub(),
    config: testConfig(o.config),
  };
}

/** The real job lifecycle over the mocks (what the API and the worker services share). */
export function lifecycleOf(m: SeparationMocks): SeparationLifecycle {
  return new SeparationLifecycle(m.jobs, m.storage, m.queue, m.hub, m.callbacks, m.events, m.config);
}

/** A queued job row as the service would have stored it. */
export function aJob(overrides: Partial<SeparationJobEntity> = {}): SeparationJobEntity {
  const now = new Date('2026-01-01T00:00:00.000Z');
  return Object.assign(new SeparationJobEntity(), {
    id: '11111111-1111-4111-8111-111111111111',
    ownerId: 'user-1',
    batchId: null,
    status: SeparationStatus.Queued,
    progress: 0,
    stage: null,
    requestedModel: 'builtin:center',
    modelName: 'builtin:center',
    modelVersion: '1',
    modelStems: ['center', 'sides'],
    options: {
      stems: null,
      codec: 'wav',
      bitDepth: 16,
      bitrateKbps: null,
      sampleRate: null,
      offsetSec: 0,
      durationSec: null,
      mwf: false,
      bandwidth: 'model',
      overlap: null,
      denoise: null,
    },
    inputKey: 'uploads/11111111-1111-4111-8111-111111111111',
    inputFilename: 'song.wav',
    inputSize: 1000,
    inputSha256: 'a'.repeat(64),
    inputFormat: 'wav',
    inputInfo: { format: 'wav', sampleRate: 44100, channels: 2, durationSec: 3 },
    analysis: null,
    cacheKey: 'c'.repeat(64),
    cached: false,
    executionProvider: null,
    executionDevice: null,
    stems: null,
    timings: null,
    errorCode: null,
    errorMessage: null,
    callbackUrl: null,
    callbackStatus: null,
    callbackAttempts: 0,
    attempts: 0,
    requestId: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
    expiresAt: null,
    filesDeletedAt: null,
    ...overrides,
  } satisfies SeparationJobEntity);
}
