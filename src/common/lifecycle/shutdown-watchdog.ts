import { Logger } from '@nestjs/common';

/** The longest a job handler may take to honour its abort signal (BullMqJobQueue's abort grace). */
const ABORT_GRACE_MS = 10_000;

/**
 * Last-resort bound on SIGTERM/SIGINT. Nest's shutdown hooks run `app.close()` and then re-raise
 * the signal; if some hook never settles (a client waiting on a dependency that is gone) the
 * process would hang until the orchestrator's SIGKILL. The queue drains running jobs for
 * `server.shutdown_timeout_s` and then gives handlers a grace period to abort; past both (plus a
 * margin) this logs one line and exits with code 1.
 */
export function armShutdownWatchdog(shutdownTimeoutS: number, extraMs = ABORT_GRACE_MS + 2000): void {
  const onSignal = (signal: NodeJS.Signals) => {
    const limitMs = shutdownTimeoutS * 1000 + extraMs;
    const timer = setTimeout(() => {
      new Logger('Shutdown').error(
        `Shutdown after ${signal} did not finish within ${limitMs / 1000} s; exiting`,
      );
      process.exit(1);
    }, limitMs);
    timer.unref();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
