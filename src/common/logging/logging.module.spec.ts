import { AppConfig } from '../../infra/config/app-config';
import { configSchema } from '../../infra/config/config.schema';
import { buildLoggerParams, wantsPretty } from './logging.module';

const system = { nodeEnv: '', tty: false };
jest.mock('../../infra/config/system-env', () => ({
  nodeEnv: () => system.nodeEnv,
  stdoutIsTerminal: () => system.tty,
  executableSearchPath: () => '',
}));

const config = (over: Record<string, unknown> = {}) => new AppConfig(configSchema.parse(over));

describe('wantsPretty', () => {
  beforeEach(() => Object.assign(system, { nodeEnv: '', tty: true }));

  it('pretty-prints a development run on a terminal only', () => {
    expect(wantsPretty(config({ env: 'development' }))).toBe(true);
    system.tty = false; // piped to a file or a log shipper
    expect(wantsPretty(config({ env: 'development' }))).toBe(false);
  });

  it('never by default in production or test, or when NODE_ENV says production', () => {
    expect(wantsPretty(config({ env: 'production' }))).toBe(false);
    expect(wantsPretty(config({ env: 'test' }))).toBe(false);
    system.nodeEnv = 'production';
    expect(wantsPretty(config({ env: 'development' }))).toBe(false);
  });

  it('follows an explicit logging.pretty either way', () => {
    system.nodeEnv = 'production';
    expect(wantsPretty(config({ env: 'production', logging: { pretty: true } }))).toBe(true);
    system.nodeEnv = '';
    expect(wantsPretty(config({ env: 'development', logging: { pretty: false } }))).toBe(false);
  });
});

describe('buildLoggerParams', () => {
  it('writes JSON lines with an ISO 8601 time and the level as a label', async () => {
    const lines: string[] = [];
    const params = buildLoggerParams(config({ env: 'production' }), {
      write: (s: string) => void lines.push(s),
    });
    const [options, destination] = params.pinoHttp as [Record<string, unknown>, { write(s: string): void }];
    const pino = (await import('pino')).default;
    pino(options, destination).warn({ jobId: 'j1' }, 'hello');
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', msg: 'hello', jobId: 'j1' });
    expect(line.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });
});
