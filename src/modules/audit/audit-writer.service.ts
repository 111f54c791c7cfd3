import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import type { AuditHashedContent } from './audit-hash';
import { AuditMetrics } from './audit-metrics';
import { toAuditRow, type AuditRecordInput } from './audit-record';
import { AuditRepository } from './audit.repository';
import { AuditSpool } from './audit-spool';

const BATCH_SIZE = 500;
const MAX_BACKOFF_MS = 30_000;

interface Buffered {
  seq: number;
  row: AuditHashedContent;
}

/**
 * The one audit writer of this process. record() is synchronous and never throws (callers are
 * request handlers and event listeners); rows are buffered and written in batches every
 * `audit.flush_interval_ms` (or as soon as a batch is full) through AuditRepository, which chains
 * them. If the database refuses, rows stay in order at the head of the buffer and are retried with
 * exponential backoff. The buffer is bounded by `audit.buffer_size`: past it new events are dropped,
 * counted (metric spleeter_audit_events_dropped_total), logged, and an `audit.events_dropped` event
 * with the count is written once the database is back, so even the gap is on the record.
 * On shutdown it flushes; what still cannot be written goes to AuditSpool and is re-queued at the
 * next start.
 */
@Injectable()
export class AuditWriter implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private buffer: Buffered[] = [];
  private seq = 0;
  private spoolFiles: Array<{ file: string; lastSeq: number }> = [];
  private dropped = { count: 0, firstAt: '', lastAt: '' };
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<boolean> | null = null;
  private failures = 0;
  private nextAttemptAt = 0;
  private closed = false;
  private readonly capacity: number;
  private readonly intervalMs: number;
  /** Retrying at shutdown may use up to half of server.shutdown_timeout_s (at most 10 s). */
  private readonly shutdownFlushMs: number;

  constructor(
    config: AppConfig,
    private readonly repo: AuditRepository,
    private readonly spool: AuditSpool,
    private readonly metrics: AuditMetrics,
  ) {
    this.capacity = config.audit.buffer_size;
    this.intervalMs = config.audit.flush_interval_ms;
    this.shutdownFlushMs = Math.min(10_000, config.server.shutdown_timeout_s * 500);
  }

  /** Events waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  onModuleInit(): void {
    for (const { file, rows } of this.spool.loadAll()) {
      for (const row of rows) this.buffer.push({ seq: ++this.seq, row });
      this.spoolFiles.push({ file, lastSeq: this.seq });
      this.logger.log(`Re-queued ${rows.length} audit events from ${file}`);
    }
    this.metrics.buffered.set(this.buffer.length);
    this.timer = setInterval(() => {
      if (Date.now() >= this.nextAttemptAt) void this.flush();
    }, this.intervalMs);
    this.timer.unref();
  }

  record(input: AuditRecordInput): void {
    let row: AuditHashedContent;
    try {
      row = toAuditRow(input);
    } catch (err) {
      this.logger.error(`Unrecordable audit event ${input?.action}: ${(err as Error).message}`);
      return;
    }
    if (this.closed) {
      this.spoolNow([row]);
      return;
    }
    if (this.buffer.length >= this.capacity) {
      this.onOverflow(row);
      return;
    }
    this.buffer.push({ seq: ++this.seq, row });
    this.metrics.buffered.set(this.buffer.length);
    if (this.buffer.length >= BATCH_SIZE && Date.now() >= this.nextAttemptAt) void this.flush();
  }

  /** Writes everything buffered; resolves true when the buffer is empty. Concurrent calls share one run. */
  flush(): Promise<boolean> {
    if (!this.flushing) {
      this.flushing = this.drain().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const deadline = Date.now() + this.shutdownFlushMs;
    while (this.buffer.length > 0 && Date.now() < deadline) {
      if (await this.flush()) break;
      await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, deadline - Date.now()))));
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // Requests that finished while the HTTP server was closing: one more try, then the spool.
    if (this.buffer.length > 0 && this.repo.isConnected) await this.flush();
    this.closed = true;
    if (this.buffer.length > 0) {
      const rows = this.buffer.map((b) => b.row);
      if (this.dropped.count > 0) rows.push(this.droppedRow());
      this.spoolNow(rows);
      this.buffer = [];
      this.metrics.buffered.set(0);
    }
  }

  private async drain(): Promise<boolean> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, BATCH_SIZE);
      try {
        await this.repo.appendBatch(batch.map((b) => b.row));
      } catch (err) {
        this.failures += 1;
        this.metrics.flushFailures.inc();
        this.nextAttemptAt =
          Date.now() + Math.min(MAX_BACKOFF_MS, this.intervalMs * 2 ** Math.min(this.failures, 10));
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.logger.warn(
            `Cannot write audit events (${(err as Error).message}); ${this.buffer.length} kept in memory and retried (attempt ${this.failures})`,
          );
        }
        return false;
      }
      this.buffer.splice(0, batch.length);
      this.metrics.written.inc(batch.length);
      this.metrics.buffered.set(this.buffer.length);
      this.releaseSpoolFiles(batch[batch.length - 1].seq);
      if (this.failures > 0) {
        this.logger.log(`Audit database reachable again after ${this.failures} failed attempts`);
        this.failures = 0;
        this.nextAttemptAt = 0;
      }
      if (this.dropped.count > 0) {
        // Not subject to the capacity check: it is what tells the reader events are missing.
        this.buffer.push({ seq: ++this.seq, row: this.droppedRow() });
        this.dropped = { count: 0, firstAt: '', lastAt: '' };
      }
    }
    return true;
  }

  private onOverflow(row: AuditHashedContent): void {
    this.metrics.dropped.inc();
    this.dropped.count += 1;
    if (this.dropped.count === 1) this.dropped.firstAt = row.occurredAt;
    this.dropped.lastAt = row.occurredAt;
    if (this.dropped.count === 1 || this.dropped.count % 1000 === 0) {
      this.logger.error(
        `Audit buffer full (${this.capacity} events, database not accepting writes): dropped ${this.dropped.count} event(s) so far, latest ${row.action}`,
      );
    }
  }

  private droppedRow(): AuditHashedContent {
    return toAuditRow({
      action: 'audit.events_dropped',
      outcome: 'failure',
      resourceType: 'audit',
      details: { count: this.dropped.count, firstAt: this.dropped.firstAt, lastAt: this.dropped.lastAt },
    });
  }

  private releaseSpoolFiles(writtenSeq: number): void {
    this.spoolFiles = this.spoolFiles.filter((f) => {
      if (f.lastSeq > writtenSeq) return true;
      this.spool.remove(f.file);
      return false;
    });
  }

  private spoolNow(rows: AuditHashedContent[]): void {
    try {
      const file = this.spool.save(rows);
      this.logger.warn(`Database unavailable at shutdown: ${rows.length} audit events saved to ${file}`);
    } catch (err) {
      // Nowhere left to put them: say exactly how many are lost.
      this.metrics.dropped.inc(rows.length);
      this.logger.error(`LOST ${rows.length} audit events (cannot spool: ${(err as Error).message})`);
    }
  }
}
