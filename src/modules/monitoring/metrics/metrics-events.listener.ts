import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import {
  DomainEvents,
  type AuthEventPayload,
  type ModelEventPayload,
  type SeparationEventPayload,
} from '../../../common/events/domain-events';
import { MetricNames } from './metric-names';

const UNKNOWN = 'unknown';

/** Domain events → Prometheus. Services stay unaware of metrics; they only emit events. */
@Injectable()
export class MetricsEventsListener {
  constructor(
    @InjectMetric(MetricNames.SeparationsTotal) private readonly separations: Counter<string>,
    @InjectMetric(MetricNames.SeparationDuration) private readonly duration: Histogram<string>,
    @InjectMetric(MetricNames.SeparationRealtimeFactor) private readonly rtf: Histogram<string>,
    @InjectMetric(MetricNames.AudioSecondsProcessed) private readonly audioSeconds: Counter<string>,
    @InjectMetric(MetricNames.ModelCalls) private readonly modelCalls: Counter<string>,
    @InjectMetric(MetricNames.ModelLoadDuration) private readonly modelLoad: Histogram<string>,
    @InjectMetric(MetricNames.ModelInstalls) private readonly modelInstalls: Counter<string>,
    @InjectMetric(MetricNames.ErrorsTotal) private readonly errors: Counter<string>,
    @InjectMetric(MetricNames.AuthFailures) private readonly authFailures: Counter<string>,
  ) {}

  @OnEvent(DomainEvents.SeparationSucceeded)
  onSucceeded(e: SeparationEventPayload): void {
    const labels = this.countSeparation(e, e.cached ? 'cached' : 'succeeded');
    if (e.cached) return;
    if (e.durationMs !== undefined && e.durationMs >= 0) {
      const seconds = e.durationMs / 1000;
      this.duration.observe(labels, seconds);
      if (e.audioSeconds && e.audioSeconds > 0 && seconds > 0)
        this.rtf.observe(labels, e.audioSeconds / seconds);
    }
    if (e.audioSeconds && e.audioSeconds > 0) this.audioSeconds.inc({ model: labels.model }, e.audioSeconds);
    if (e.modelCalls && e.modelCalls > 0) {
      const shared = Math.min(e.modelCalls, e.sharedModelCalls ?? 0);
      if (shared > 0) this.modelCalls.inc({ model: labels.model, shared: 'true' }, shared);
      if (e.modelCalls > shared)
        this.modelCalls.inc({ model: labels.model, shared: 'false' }, e.modelCalls - shared);
    }
  }

  @OnEvent(DomainEvents.SeparationFailed)
  onFailed(e: SeparationEventPayload): void {
    this.countSeparation(e, 'failed');
    this.errors.inc({ code: e.errorCode || 'INTERNAL', source: 'separation' });
  }

  @OnEvent(DomainEvents.SeparationCanceled)
  onCanceled(e: SeparationEventPayload): void {
    this.countSeparation(e, 'canceled');
  }

  @OnEvent(DomainEvents.ModelLoaded)
  onModelLoaded(e: ModelEventPayload): void {
    if (e.durationMs !== undefined && e.durationMs >= 0)
      this.modelLoad.observe({ model: e.name || UNKNOWN }, e.durationMs / 1000);
  }

  @OnEvent(DomainEvents.ModelInstalled)
  onModelInstalled(): void {
    this.modelInstalls.inc({ outcome: 'succeeded' });
  }

  @OnEvent(DomainEvents.ModelInstallFailed)
  onModelInstallFailed(e: ModelEventPayload): void {
    this.modelInstalls.inc({ outcome: 'failed' });
    this.errors.inc({ code: e.errorCode || 'INTERNAL', source: 'model' });
  }

  @OnEvent(DomainEvents.AuthFailed)
  onAuthFailed(e: AuthEventPayload): void {
    this.authFailures.inc({ reason: authReasonLabel(e.reason) });
  }

  /** Counts one separation outcome; returns its model and execution_provider labels. */
  private countSeparation(e: SeparationEventPayload, outcome: string) {
    const labels = { model: e.model || UNKNOWN, execution_provider: e.executionProvider || UNKNOWN };
    this.separations.inc({ ...labels, outcome });
    return labels;
  }
}

/**
 * Reasons read "<method>: <detail>" where the detail can carry free text (JWT library messages):
 * only the method becomes a label, so the series count stays bounded.
 */
export function authReasonLabel(reason: string | undefined): string {
  const method = (reason ?? '').split(':')[0].trim().toLowerCase();
  return /^[a-z][a-z0-9-]{0,23}$/.test(method) ? method : 'other';
}
