import { INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { ProblemDetailsFilter } from './common/filters/problem-details.filter';
import { startupConsoleLogger } from './common/logging/startup-logging';
import { AppConfig } from './infra/config/app-config';
import type { LoadConfigOptions } from './infra/config/config.loader';
import type { ProcessRole } from './infra/queue/process-role';
import { loadOpenApiMetadata, setupOpenApi } from './openapi';

export interface CreateAppOptions {
  config?: LoadConfigOptions;
  logger?: false | undefined;
  /** 'all' (default): HTTP and job execution; 'api': HTTP only (needs the Redis queue). */
  role?: Exclude<ProcessRole, 'worker'>;
}

/** Builds the HTTP application exactly as production runs it (tests use this too). */
export async function createApp(options: CreateAppOptions = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(options.config, { role: options.role }),
    {
      // Start-up lines wait for the pino logger instead of going out unstructured.
      bufferLogs: options.logger !== false,
      logger: options.logger === false ? false : startupConsoleLogger(),
      // Rethrow instead of process.abort(): the caller logs the failure (as JSON) and exits.
      abortOnError: false,
      bodyParser: false,
    },
  );
  if (options.logger !== false) app.useLogger(app.get(PinoNestLogger));
  await configureApp(app);
  return app;
}

export async function configureApp(app: NestExpressApplication): Promise<void> {
  const config = app.get(AppConfig);
  if (config.server.trust_proxy) app.set('trust proxy', true);
  app.useBodyParser('json', { limit: `${config.server.body_limit_kb}kb` });
  app.useBodyParser('urlencoded', { limit: `${config.server.body_limit_kb}kb`, extended: false });
  app.use(
    helmet({
      // Swagger UI needs inline scripts/styles on /docs.
      contentSecurityPolicy: false,
      crossOriginResourcePolicy: { policy: 'same-site' },
    }),
  );
  if (config.server.cors_origins.length > 0) {
    app.enableCors({
      origin: config.server.cors_origins,
      exposedHeaders: [
        'Retry-After',
        'X-Request-Id',
        'ETag',
        'Location',
        'Content-Range',
        'Content-Disposition',
        'Accept-Ranges',
        'Content-Length',
      ],
    });
  }
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
    }),
  );
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.enableShutdownHooks();
  await loadOpenApiMetadata();
  setupOpenApi(app);
}
