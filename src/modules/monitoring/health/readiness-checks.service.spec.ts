import type { HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { AppConfig } from '../../../infra/config/app-config';
import { configSchema } from '../../../infra/config/config.schema';
import { strictMock } from '../../../../test/support/strict-mock';
import type { SystemProbe } from '../stats/system-probe';
import { ReadinessChecks } from './readiness-checks.service';
import type { ShutdownState } from './shutdown-state.service';

/** terminus's indicator session, reduced to what the checks call. */
const indicator = {
  check: (key: string) => ({
    up: (details: object = {}) => ({ [key]: { status: 'up', ...details } }),
    down: (details: object = {}) => ({ [key]: { status: 'down', ...details } }),
  }),
} as unknown as HealthIndicatorService;

function build(healthCheckInterval: number) {
  const config = new AppConfig(
    configSchema.parse({ monitoring: { health_check_interval: healthCheckInterval } }),
  );
  const typeorm = strictMock<TypeOrmHealthIndicator>('TypeOrmHealthIndicator', {
    pingCheck: (async () => ({ database: { status: 'up' } })) as never,
  });
  const system = strictMock<SystemProbe>('SystemProbe', {
    disk: async () => ({ freeBytes: 1e12, totalBytes: 2e12 }) as never,
    writable: async () => true,
  });
  const shutdown = { shuttingDown: false, since: null } as unknown as ShutdownState;
  const sut = new ReadinessChecks(indicator, typeorm, config, shutdown, system);
  const runAll = () => Promise.all(sut.all().map((check) => check()));
  return { sut, typeorm, shutdown, runAll };
}

describe(ReadinessChecks.name, () => {
  it('health_check_interval 0: every probe checks the dependencies again', async () => {
    const { typeorm, runAll } = build(0);
    await runAll();
    await runAll();
    expect(typeorm.pingCheck).toHaveBeenCalledTimes(2);
  });

  it('health_check_interval > 0: dependency answers are reused, shutdown never is', async () => {
    const { typeorm, shutdown, runAll } = build(30);
    const first = await runAll();
    expect(first[0]).toEqual({ shutdown: { status: 'up' } });
    (shutdown as { shuttingDown: boolean; since: Date | null }).shuttingDown = true;
    (shutdown as { shuttingDown: boolean; since: Date | null }).since = new Date(0);
    const second = await runAll();
    expect(typeorm.pingCheck).toHaveBeenCalledTimes(1);
    expect(second[0]).toMatchObject({ shutdown: { status: 'down' } });
  });
});
