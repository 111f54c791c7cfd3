/**
 * Worker entry: the same application graph as the HTTP server (AppModule), without HTTP, consuming
 * separation jobs from the shared queue. Run next to one or more API processes with the Redis queue
 * (`SPLEETER_QUEUE_DRIVER=redis`, `SPLEETER_REDIS_URL`) and a shared database and storage directory.
 * SIGTERM/SIGINT: stop taking jobs, let running ones finish for `server.shutdown_timeout_s`, re-queue
 * the rest, exit.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig } from './infra/config/app-config';
import { armShutdownWatchdog } from './common/lifecycle/shutdown-watchdog';
import { logFatalStartupError, startupConsoleLogger } from './common/logging/startup-logging';
import { ConfigError } from './infra/config/config.loader';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule.forRoot({}, { role: 'worker' }), {
    bufferLogs: true,
    logger: startupConsoleLogger(),
    // Rethrow instead of process.abort(), so the failure is logged as JSON below.
    abortOnError: false,
  });
  app.useLogger(app.get(PinoNestLogger));
  app.enableShutdownHooks();
  await app.init();
  const config = app.get(AppConfig);
  armShutdownWatchdog(config.server.shutdown_timeout_s);
  if (config.queueDriver !== 'redis') {
    new Logger('Worker').warn(
      'queue.driver is "memory": this worker only runs jobs recovered from the database at start-up. ' +
        'Use the Redis queue to share work with API processes.',
    );
  }
  new Logger('Worker').log(
    `spleeter-server worker started (queue: ${config.queueDriver}, concurrency ${config.queue.concurrency})`,
  );
}

bootstrap().catch((err: unknown) => {
  logFatalStartupError(err, { expected: err instanceof ConfigError });
  process.exit(1);
});
