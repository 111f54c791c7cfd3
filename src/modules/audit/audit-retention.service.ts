import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { AuditService } from './audit.service';

const FIRST_RUN_DELAY_MS = 60_000;
const INTERVAL_MS = 6 * 3600_000;

/**
 * Deletes audit events older than `audit.retention_days`, leaving a retention anchor so the chain
 * still verifies. To keep them, export first (GET /v1/admin/audit/export?to=…) — or have the lead
 * add an `audit.export_dir` key (see .notes/SECURITY-README.md). Every replica runs it; the chain
 * lock makes concurrent runs harmless.
 */
@Injectable()
export class AuditRetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  onApplicationBootstrap(): void {
    const first = setTimeout(() => void this.runOnce(), FIRST_RUN_DELAY_MS);
    const every = setInterval(() => void this.runOnce(), INTERVAL_MS);
    first.unref();
    every.unref();
    this.timers = [first, every];
  }

  onApplicationShutdown(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  async runOnce(): Promise<number> {
    try {
      const { deleted } = await this.audit.prune(this.config.audit.retention_days);
      if (deleted > 0)
        this.logger.log(
          `Retention: deleted ${deleted} audit events older than ${this.config.audit.retention_days} days`,
        );
      return deleted;
    } catch (err) {
      this.logger.warn(`Audit retention run failed (retried next time): ${(err as Error).message}`);
      return 0;
    }
  }
}
