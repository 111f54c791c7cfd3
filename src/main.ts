import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { AppConfig } from './infra/config/app-config';
import { armShutdownWatchdog } from './common/lifecycle/shutdown-watchdog';
import { logFatalStartupError } from './common/logging/startup-logging';
import { ConfigError, loadConfig, type LoadConfigOptions } from './infra/config/config.loader';

/** Builds and starts the HTTP server; `config` adds overrides (the CLI's `serve --port/--host`). */
export async function startServer(config: LoadConfigOptions = {}): Promise<void> {
  try {
    // The role decides the module graph, so it is read before the app is built (and validated again inside).
    const role = loadConfig(config).server.role;
    const app = await createApp({ role, config });
    const settings = app.get(AppConfig);
    armShutdownWatchdog(settings.server.shutdown_timeout_s);
    await app.listen(settings.server.port, settings.server.host);
    new Logger('Bootstrap').log(
      `spleeter-server listening on http://${settings.server.host}:${settings.server.port} (docs: /docs)`,
    );
  } catch (err) {
    logFatalStartupError(err, { expected: err instanceof ConfigError });
    process.exit(1);
  }
}

if (require.main === module) void startServer();
