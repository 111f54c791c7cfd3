import { DynamicModule, Global, Logger, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule, ConfigService, registerAs } from '@nestjs/config';
import { AppConfig } from './app-config';
import { loadConfig, type LoadConfigOptions } from './config.loader';
import type { SpleeterConfig } from './config.schema';

/** The @nestjs/config namespace holding the validated configuration: `spleeter.<section>.<key>`. */
export const CONFIG_NAMESPACE = 'spleeter';

/**
 * Global configuration module on @nestjs/config. Its one configuration factory is loadConfig
 * (defaults ← config/*.yaml ← SPLEETER_* env vars, validated once with the zod schema; a problem
 * fails start-up with a ConfigError naming the key), registered as the `spleeter` namespace: code
 * injects the typed, frozen AppConfig built from it; ConfigService.get('spleeter.server.port')
 * works too. No .env file, and ConfigService never falls back to process.env: the loader stays
 * the only reader of the environment.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(options: LoadConfigOptions = {}): DynamicModule {
    const logger = new Logger('Config');
    const spleeter = registerAs(CONFIG_NAMESPACE, () =>
      loadConfig({ warn: (m) => logger.warn(m), ...options }),
    );
    return {
      module: ConfigModule,
      imports: [
        NestConfigModule.forRoot({
          ignoreEnvFile: true,
          validatePredefined: false,
          skipProcessEnv: true,
          load: [spleeter],
        }),
      ],
      providers: [
        {
          provide: AppConfig,
          inject: [ConfigService],
          useFactory: (config: ConfigService) =>
            new AppConfig(config.getOrThrow<SpleeterConfig>(CONFIG_NAMESPACE)),
        },
      ],
      exports: [AppConfig, NestConfigModule],
    };
  }
}
