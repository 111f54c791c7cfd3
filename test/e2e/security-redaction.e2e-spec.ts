/**
 * No secret reaches a log line: API keys (env and stored), bearer JWTs, the JWT secret, secrets in
 * query strings, bodies and cookies, on successful and refused requests. Captures the app's real
 * pino stream (the same params production builds) plus anything written to stdout/stderr.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import * as jwt from 'jsonwebtoken';
import { Logger as PinoNestLogger, PARAMS_PROVIDER_TOKEN } from 'nestjs-pino';
import request from 'supertest';
import { configureApp } from '../../src/app.factory';
import { AppModule } from '../../src/app.module';
import { buildLoggerParams } from '../../src/common/logging/logging.module';
import { AppConfig } from '../../src/infra/config/app-config';
import { AuditService } from '../../src/modules/audit/audit.service';
import { testConfig } from '../factories/app';

const ENV_KEY = 'redaction-env-admin-key-SECRET-0001';
const JWT_SECRET = 'redaction-jwt-secret-SECRET-0002-0123456789';
const QUERY_SECRET = 'querySECRET0003';
const BODY_SECRET = 'bodySECRET0004';
const COOKIE_SECRET = 'cookieSECRET0005';

describe('Secrets never reach the logs', () => {
  const logged: string[] = [];
  let app: NestExpressApplication;
  let dir: string;
  const restore: Array<() => void> = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-redact-'));
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        logged.push(String(chunk));
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => (stream.write = original));
    }
    const overrides = testConfig(dir, {
      api_key: ENV_KEY,
      logging: { level: 'debug' },
      security: { jwt: { secret: JWT_SECRET, algorithms: ['HS256'] } },
    });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot({ env: {}, overrides })] })
      .overrideProvider(PARAMS_PROVIDER_TOKEN)
      .useFactory({
        factory: (config: AppConfig) =>
          buildLoggerParams(config, { write: (line: string) => void logged.push(line) }),
        inject: [AppConfig],
      })
      .compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, bufferLogs: true });
    app.useLogger(app.get(PinoNestLogger));
    await configureApp(app);
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    restore.forEach((r) => r());
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('logs requests without any credential, token or secret value', async () => {
    const server = app.getHttpServer();
    const created = await request(server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', ENV_KEY)
      .send({ name: 'redact' });
    const storedKey = created.body.key as string;
    const token = jwt.sign({ sub: 'carol', exp: Math.floor(Date.now() / 1000) + 60 }, JWT_SECRET, {
      algorithm: 'HS256',
    });
    const badToken = jwt.sign(
      { sub: 'carol', exp: Math.floor(Date.now() / 1000) + 60 },
      `${JWT_SECRET}-wrong`,
      { algorithm: 'HS256' },
    );
    await request(server).get('/v1/auth/me').set('X-API-KEY', storedKey).expect(200);
    await request(server)
      .get('/v1/auth/me')
      .set('X-API-KEY', `${storedKey.slice(0, -4)}AAAA`)
      .expect(401);
    await request(server).get('/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
    await request(server).get('/v1/auth/me').set('Authorization', `Bearer ${badToken}`).expect(401);
    await request(server)
      .get(`/v1/auth/me?api_key=${QUERY_SECRET}&token=${QUERY_SECRET}`)
      .set('X-API-KEY', storedKey)
      .expect(200);
    await request(server)
      .get('/v1/auth/me')
      .set('Cookie', `session=${COOKIE_SECRET}`)
      .set('X-API-KEY', ENV_KEY)
      .expect(200);
    await request(server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', ENV_KEY)
      .send({ name: 'x', password: BODY_SECRET, token: BODY_SECRET })
      .expect(422);
    await app.get(AuditService).verify(); // flush the audit buffer before reading what was logged

    const text = logged.join('');
    expect(text).toContain('/v1/auth/me'); // the capture works: request lines are there
    expect(text).toContain('"statusCode":401');
    for (const secret of [
      ENV_KEY,
      storedKey,
      storedKey.slice(21),
      token,
      badToken,
      JWT_SECRET,
      QUERY_SECRET,
      BODY_SECRET,
      COOKIE_SECRET,
    ]) {
      expect({ secret, leaked: text.includes(secret) }).toEqual({ secret, leaked: false });
    }
  });
});
