import { Injectable } from '@nestjs/common';
import { Counter, Gauge, register, type Metric } from 'prom-client';

function singleton<T extends Metric>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

/** Audit pipeline metrics in prom-client's default registry (what /metrics exposes). */
@Injectable()
export class AuditMetrics {
  readonly buffered = singleton(
    'spleeter_audit_buffered_events',
    () => new Gauge({ name: 'spleeter_audit_buffered_events', help: 'Audit events waiting to be written' }),
  );
  readonly written = singleton(
    'spleeter_audit_events_written_total',
    () =>
      new Counter({
        name: 'spleeter_audit_events_written_total',
        help: 'Audit events written to the database',
      }),
  );
  readonly dropped = singleton(
    'spleeter_audit_events_dropped_total',
    () =>
      new Counter({
        name: 'spleeter_audit_events_dropped_total',
        help: 'Audit events dropped because the buffer was full (the database refused writes for too long)',
      }),
  );
  readonly flushFailures = singleton(
    'spleeter_audit_flush_failures_total',
    () =>
      new Counter({
        name: 'spleeter_audit_flush_failures_total',
        help: 'Failed attempts to write audit batches',
      }),
  );
}
