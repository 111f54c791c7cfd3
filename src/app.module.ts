import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from './infra/config/config.module';
import type { LoadConfigOptions } from './infra/config/config.loader';
import { DatabaseModule } from './infra/database/database.module';

/**
 * The whole application graph. `AppModule.forRoot()` is used by the HTTP server, the worker and the
 * e2e tests (which pass config overrides).
 */
@Module({})
export class AppModule {
  static forRoot(config: LoadConfigOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule],
    };
  }
}
