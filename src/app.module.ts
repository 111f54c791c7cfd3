import { DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import type { DestinationStream } from 'pino';
import { LoggingModule } from './common/logging/logging.module';
import { ConfigModule } from './infra/config/config.module';
import type { LoadConfigOptions } from './infra/config/config.loader';
import { DatabaseModule } from './infra/database/database.module';
import { QueueModule } from './infra/queue/queue.module';
import { RedisModule } from './infra/redis/redis.module';
import type { ProcessRole } from './infra/queue/process-role';
import { StorageModule } from './infra/storage/storage.module';
import { AuditModule } from './modules/audit/audit.module';
import { CacheModule } from './modules/cache/cache.module';
import { ModelsModule } from './modules/models/models.module';
import { MonitoringModule } from './modules/monitoring/monitoring.module';
import { SeparationModule } from './modules/separation/separation.module';
import { SecurityModule } from './modules/security/security.module';
import { WebModule } from './modules/web/web.module';

/** What this process runs: 'all' (default: HTTP + jobs), 'api' (HTTP only, Redis queue), 'worker'. */
export interface AppRuntimeOptions {
  role?: ProcessRole;
  /** Where JSON log lines go (default stdout); tests capture them here. */
  logDestination?: DestinationStream;
}

/**
 * The whole application graph. `AppModule.forRoot()` is used by the HTTP server, the worker and the
 * e2e tests (which pass config overrides).
 */
@Module({})
export class AppModule {
  static forRoot(config: LoadConfigOptions = {}, runtime: AppRuntimeOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot({ destination: runtime.logDestination }),
        DatabaseModule,
        RedisModule,
        EventEmitterModule.forRoot(),
        ScheduleModule.forRoot(),
        // Security first: its global guards run in registration order (auth → rate limit → roles).
        SecurityModule,
        AuditModule,
        ModelsModule,
        StorageModule,
        QueueModule.forRoot({ role: runtime.role }),
        CacheModule,
        SeparationModule.forRoot({ resultCacheModule: CacheModule }),
        MonitoringModule,
        WebModule,
      ],
    };
  }
}
