import * as http from 'http';
import type { AddressInfo } from 'net';
import {
  Injectable,
  Logger,
  ServiceUnavailableException,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HealthCheckService } from '@nestjs/terminus';
import { register } from 'prom-client';
import { AppConfig } from '../../../infra/config/app-config';
import { ReadinessChecks } from '../health/readiness-checks.service';

/**
 * Optional second listener on `monitoring.metrics_port` (seed default 9090) serving GET /metrics,
 * so Prometheus can scrape a port that is never exposed publicly, plus /health/live and
 * /health/ready (same checks as the main port) so worker processes, which have no API port, can
 * be probed too. Port 0 picks a free port (tests read it from `port`).
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: http.Server | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly health: HealthCheckService,
    private readonly readiness: ReadinessChecks,
  ) {}

  /** The bound port, or null when not listening. */
  get port(): number | null {
    const address = this.server?.address();
    return address && typeof address === 'object' ? (address as AddressInfo).port : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { enabled, metrics_port: port } = this.config.monitoring;
    if (!enabled || port === null) return;
    if (port !== 0 && port === this.config.server.port) {
      this.logger.warn(
        `monitoring.metrics_port equals server.port (${port}): serving /metrics on the main port only`,
      );
      return;
    }
    const server = http.createServer((req, res) => void this.handle(req, res));
    // Connections idle after a scrape must not hold shutdown open.
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.server.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`Metrics on http://${this.config.server.host}:${this.port}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/health/live' || path === '/health/ready')) {
      await this.probe(path === '/health/ready', res);
      return;
    }
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
      return;
    }
    try {
      const body = await register.metrics();
      res.writeHead(200, { 'Content-Type': register.contentType, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      this.logger.error(`Metrics collection failed: ${(err as Error).message}`);
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics collection failed\n');
    }
  }

  private async probe(ready: boolean, res: http.ServerResponse): Promise<void> {
    let status = 200;
    let body: unknown = { status: 'ok' };
    if (ready) {
      try {
        body = await this.health.check(this.readiness.all());
      } catch (err) {
        status = 503;
        body = err instanceof ServiceUnavailableException ? err.getResponse() : { status: 'error' };
      }
    }
    res
      .writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
      .end(JSON.stringify(body));
  }
}
