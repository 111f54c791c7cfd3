import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';

/**
 * Set once the application starts shutting down (SIGTERM → app.close()). Readiness answers 503 from
 * then on, so Kubernetes stops routing to this pod while in-flight work (running jobs, open
 * downloads) drains in the later shutdown hooks.
 */
@Injectable()
export class ShutdownState implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private startedAt: number | null = null;

  get shuttingDown(): boolean {
    return this.startedAt !== null;
  }

  get since(): Date | null {
    return this.startedAt === null ? null : new Date(this.startedAt);
  }

  begin(reason = 'shutdown'): void {
    if (this.startedAt !== null) return;
    this.startedAt = Date.now();
    this.logger.log(`Shutting down (${reason}): readiness now reports 503`);
  }

  // onModuleDestroy is the first hook app.close() runs; beforeApplicationShutdown covers callers
  // that only trigger the later hooks.
  onModuleDestroy(): void {
    this.begin();
  }

  beforeApplicationShutdown(signal?: string): void {
    this.begin(signal ?? 'shutdown');
  }
}
