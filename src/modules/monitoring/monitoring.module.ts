import { Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { CacheModule } from '../cache/cache.module';
import { EventLoopMonitor } from './health/event-loop-monitor';
import { HealthCheckLogger } from './health/health-check.logger';
import { HealthController } from './health/health.controller';
import { ReadinessChecks } from './health/readiness-checks.service';
import { ShutdownState } from './health/shutdown-state.service';
import { HttpMetricsMiddleware } from './metrics/http-metrics.middleware';
import { MetricsCollector } from './metrics/metrics-collector.service';
import { MetricsEventsListener } from './metrics/metrics-events.listener';
import { MetricsServer } from './metrics/metrics-server.service';
import { MetricsController } from './metrics/metrics.controller';
import { metricProviders } from './metrics/metrics.providers';
import { GpuProbe } from './stats/gpu-probe';
import { StatsController } from './stats/stats.controller';
import { StatsService } from './stats/stats.service';
import { SystemProbe } from './stats/system-probe';

/**
 * Operations surface: Prometheus metrics (/metrics and optionally monitoring.metrics_port),
 * Kubernetes probes (/health/live, /health/ready), GET /v1/stats with alerts, and the HTTP
 * request-duration middleware. Listens to domain events; never called by business code.
 * Reads the job queue (JOB_QUEUE), the engine and the cache when the application provides them.
 */
@Module({
  imports: [
    CacheModule,
    TerminusModule.forRoot({ errorLogStyle: 'json', logger: HealthCheckLogger }),
    PrometheusModule.registerAsync({
      controller: MetricsController,
      // Default metrics are registered by MetricsCollector (once per process, not once per app).
      useFactory: () => ({ defaultMetrics: { enabled: false } }),
    }),
  ],
  controllers: [HealthController, StatsController],
  providers: [
    ...metricProviders,
    ShutdownState,
    EventLoopMonitor,
    ReadinessChecks,
    { provide: SystemProbe, useFactory: () => new SystemProbe() },
    { provide: GpuProbe, useFactory: () => new GpuProbe() },
    StatsService,
    MetricsEventsListener,
    MetricsCollector,
    MetricsServer,
    HttpMetricsMiddleware,
  ],
  exports: [ShutdownState, StatsService, MetricsServer],
})
export class MonitoringModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
