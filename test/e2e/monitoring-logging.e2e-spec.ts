/**
 * Structured logs: one JSON line per request with the request id (echoed in X-Request-Id), the
 * principal and the status; app log lines inside a request carry the same id; job context outside
 * requests; secrets never reach the output (captured from the real pino destination).
 */
import {
  Controller,
  Get,
  Injectable,
  Logger,
  Module,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { NextFunction, Request, Response } from 'express';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import request from 'supertest';
import type { Principal } from '../../src/common/auth/principal';
import { runWithLogContext } from '../../src/common/logging/log-context';
import { LoggingModule } from '../../src/common/logging/logging.module';
import { ConfigModule } from '../../src/infra/config/config.module';

const SECRETS = [
  'Bearer eyJhbGciOiJIUzI1NiJ9.secret-jwt',
  'sk-live-api-key-987654321',
  'session=cookie-secret',
  'hunter2-password',
  'query-token-abc',
];

type Line = Record<string, unknown> & { msg?: string; requestId?: string };

@Injectable()
class FakeAuthMiddleware implements NestMiddleware {
  use(req: Request & { principal?: Principal }, _res: Response, next: NextFunction): void {
    if (req.headers['x-api-key'])
      req.principal = { id: 'key:42', role: 'user', method: 'api-key', keyId: '42' };
    next();
  }
}

@Controller('log-test')
class LogTestController {
  private readonly logger = new Logger('LogTest');

  @Get()
  handle(): { ok: true } {
    this.logger.log({
      msg: 'handling',
      password: 'hunter2-password',
      nested: { apiKey: 'sk-live-api-key-987654321', deeper: { token: 'query-token-abc' } },
    });
    return { ok: true };
  }

  @Get('fail')
  fail(): never {
    throw new Error('boom');
  }
}

@Module({ controllers: [LogTestController], providers: [FakeAuthMiddleware] })
class LogTestModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(FakeAuthMiddleware).forRoutes('{*path}');
  }
}

describe('Structured logging (e2e)', () => {
  let app: NestExpressApplication;
  const raw: string[] = [];
  const lines = (): Line[] => raw.map((l) => JSON.parse(l) as Line);

  beforeAll(async () => {
    const destination = { write: (s: string) => void raw.push(s) };
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({
          env: {},
          configDir: '/nonexistent',
          overrides: { env: 'production', logging: { level: 'info' } },
        }),
        LoggingModule.forRoot({ destination }),
        LogTestModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ bufferLogs: true });
    app.useLogger(app.get(PinoNestLogger));
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(() => {
    raw.length = 0;
  });

  it('writes JSON lines with the request id, the principal and the status, and no secret', async () => {
    const res = await request(app.getHttpServer())
      .get('/log-test?token=query-token-abc&page=2')
      .set('Authorization', SECRETS[0])
      .set('X-API-KEY', SECRETS[1])
      .set('Cookie', SECRETS[2])
      .set('X-Request-Id', 'req-from-proxy-1')
      .expect(200);
    expect(res.headers['x-request-id']).toBe('req-from-proxy-1');

    const all = raw.join('\n');
    for (const secret of SECRETS) expect(all).not.toContain(secret.replace(/^Bearer /, ''));
    expect(all).toContain('[REDACTED]');

    const appLine = lines().find((l) => l.msg === 'handling')!;
    expect(appLine).toMatchObject({
      requestId: 'req-from-proxy-1',
      context: 'LogTest',
      level: 'info',
      password: '[REDACTED]',
    });
    expect(appLine.nested).toEqual({ apiKey: '[REDACTED]', deeper: { token: '[REDACTED]' } });

    const done = lines().find((l) => l.msg === 'request completed')!;
    expect(done).toMatchObject({
      requestId: 'req-from-proxy-1',
      service: 'spleeter-server',
      principal: { id: 'key:42', role: 'user', method: 'api-key' },
      res: { statusCode: 200 },
      req: { method: 'GET', url: '/log-test?token=%5BREDACTED%5D&page=2' },
    });
    expect(typeof done.responseTime).toBe('number');
    // Shippers and humans read the same line: ISO 8601 time, level as a label.
    for (const line of lines()) {
      expect(line.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
    }
  });

  it('generates an id when the caller sends none (or an unsafe one) and logs 5xx at error level', async () => {
    const res = await request(app.getHttpServer())
      .get('/log-test/fail')
      .set('X-Request-Id', 'bad id {"forged-line":1}')
      .expect(500);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const done = lines().find(
      (l) =>
        typeof l.msg === 'string' &&
        l.requestId === id &&
        (l.res as { statusCode?: number })?.statusCode === 500,
    );
    expect(done?.level).toBe('error');
    expect(raw.join('\n')).not.toContain('forged-line');
  });

  it('does not log probe and scrape requests', async () => {
    await request(app.getHttpServer()).get('/health/ready');
    await request(app.getHttpServer()).get('/metrics');
    expect(lines().filter((l) => l.msg === 'request completed' || l.msg === 'request errored')).toHaveLength(
      0,
    );
  });

  it('adds job context to every line written inside runWithLogContext', async () => {
    const logger = new Logger('Worker');
    await runWithLogContext({ jobId: 'job-7', model: 'spleeter:2stems' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      logger.log('separating');
    });
    logger.log('outside');
    const inside = lines().find((l) => l.msg === 'separating')!;
    expect(inside).toMatchObject({ jobId: 'job-7', model: 'spleeter:2stems', context: 'Worker' });
    expect(lines().find((l) => l.msg === 'outside')!.jobId).toBeUndefined();
  });
});
