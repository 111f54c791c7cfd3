import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { AppConfig } from './infra/config/app-config';
import { ConfigError } from './infra/config/config.loader';

async function bootstrap(): Promise<void> {
  const app = await createApp();
  const config = app.get(AppConfig);
  await app.listen(config.server.port, config.server.host);
  new Logger('Bootstrap').log(
    `spleeter-server listening on http://${config.server.host}:${config.server.port} (docs: /docs)`,
  );
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`Fatal: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
