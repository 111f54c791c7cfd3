import { DynamicModule, Global, Logger, Module } from '@nestjs/common';
import { AppConfig } from './app-config';
import { loadConfig, type LoadConfigOptions } from './config.loader';

/** Global module: loads and validates the configuration once, at start-up. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(options: LoadConfigOptions = {}): DynamicModule {
    const logger = new Logger('Config');
    return {
      module: ConfigModule,
      providers: [
        {
          provide: AppConfig,
          useFactory: () => new AppConfig(loadConfig({ warn: (m) => logger.warn(m), ...options })),
        },
      ],
      exports: [AppConfig],
    };
  }
}
