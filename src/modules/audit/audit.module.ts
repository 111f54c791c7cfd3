/**
 * Audit module: a tamper-evident (hash-chained) log of every HTTP request and of the domain events
 * services emit. Owns the audit_events / audit_anchors tables, the buffered writer, retention, and
 * the admin API under /v1/admin/audit. Business code never calls it: it listens.
 */
import { Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditInterceptor } from './audit.interceptor';
import { AuditController } from './audit.controller';
import { AuditEventsListener } from './audit-events.listener';
import { AuditHttpMiddleware } from './audit-http.middleware';
import { AuditMetrics } from './audit-metrics';
import { AuditRepository } from './audit.repository';
import { AuditRetentionService } from './audit-retention.service';
import { AuditService } from './audit.service';
import { AuditSpool } from './audit-spool';
import { AuditWriter } from './audit-writer.service';
import { AuditAnchorEntity } from './entities/audit-anchor.entity';
import { AuditEventEntity } from './entities/audit-event.entity';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEventEntity, AuditAnchorEntity])],
  controllers: [AuditController],
  providers: [
    AuditRepository,
    AuditSpool,
    AuditMetrics,
    AuditWriter,
    AuditEventsListener,
    AuditService,
    AuditRetentionService,
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
  exports: [AuditWriter, AuditService],
})
export class AuditModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuditHttpMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
