import { Injectable, Logger } from '@nestjs/common';
import { Interval, Timeout } from '@nestjs/schedule';
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
export class AuditRetentionService {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  // A minute after start, then every 6 hours (@nestjs/schedule: one schedule per method; cleared
  // at shutdown).
  @Timeout('audit-retention-first', FIRST_RUN_DELAY_MS)
  firstRun(): void {
    void this.runOnce();
  }

  @Interval('audit-retention', INTERVAL_MS)
  scheduledRun(): void {
    void this.runOnce();
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
