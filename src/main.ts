import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { AppConfig } from './infra/config/app-config';
import { logFatalStartupError } from './common/logging/startup-logging';
import { ConfigError, loadConfig } from './infra/config/config.loader';

async function bootstrap(): Promise<void> {
  // The role decides the module graph, so it is read before the app is built (and validated again inside).
  const role = loadConfig().server.role;
  const app = await createApp({ role });
  const config = app.get(AppConfig);
  await app.listen(config.server.port, config.server.host);
  new Logger('Bootstrap').log(
    `spleeter-server listening on http://${config.server.host}:${config.server.port} (docs: /docs)`,
  );
}

bootstrap().catch((err: unknown) => {
  logFatalStartupError(err, { expected: err instanceof ConfigError });
  process.exit(1);
});
