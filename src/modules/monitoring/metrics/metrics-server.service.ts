import * as http from 'http';
import type { AddressInfo } from 'net';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { register } from 'prom-client';
import { AppConfig } from '../../../infra/config/app-config';

/**
 * Optional second listener serving only GET /metrics on `monitoring.metrics_port` (seed default
 * 9090), so Prometheus can scrape a port that is never exposed publicly. Port 0 picks a free port
 * (tests read it from `port`).
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: http.Server | undefined;

  constructor(private readonly config: AppConfig) {}

  /** The bound port, or null when not listening. */
  get port(): number | null {
    const address = this.server?.address();
    return address && typeof address === 'object' ? (address as AddressInfo).port : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { enabled, metrics_port: port } = this.config.monitoring;
    if (!enabled || port === null) return;
    if (port !== 0 && port === this.config.server.port) {
      this.logger.warn(`monitoring.metrics_port equals server.port (${port}): serving /metrics on the main port only`);
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
}
