import * as path from 'path';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { AppConfig } from './app-config';
import { ConfigError } from './config.loader';
import { CONFIG_NAMESPACE, ConfigModule } from './config.module';

describe(ConfigModule.name, () => {
  const noDefaults = path.join(__dirname, 'no-such-config-dir');

  it('serves the validated configuration as AppConfig and as the @nestjs/config `spleeter` namespace', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({
          configDir: noDefaults,
          env: { SPLEETER_PORT: '9123', SPLEETER_CACHE__MEMORY_SIZE_MB: '64' },
        }),
      ],
    }).compile();
    const app = moduleRef.get(AppConfig);
    const service = moduleRef.get(ConfigService);
    expect(app).toBeInstanceOf(AppConfig);
    expect(Object.isFrozen(app)).toBe(true);
    expect(app.server.port).toBe(9123);
    expect(service.get(`${CONFIG_NAMESPACE}.server.port`)).toBe(9123);
    expect(service.get(`${CONFIG_NAMESPACE}.cache.memory_size_mb`)).toBe(64);
    await moduleRef.close();
  });

  it('never reads process.env through ConfigService (the loader is its only reader)', async () => {
    process.env.SPLEETER_CONFIG_MODULE_SPEC_PROBE = 'leak';
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [ConfigModule.forRoot({ configDir: noDefaults, env: {} })],
      }).compile();
      expect(moduleRef.get(ConfigService).get('SPLEETER_CONFIG_MODULE_SPEC_PROBE')).toBeUndefined();
      await moduleRef.close();
    } finally {
      delete process.env.SPLEETER_CONFIG_MODULE_SPEC_PROBE;
    }
  });

  it('fails module creation with the ConfigError that names the key', async () => {
    await expect(
      Test.createTestingModule({
        imports: [ConfigModule.forRoot({ configDir: noDefaults, env: { SPLEETER_PORT: 'eighty' } })],
      }).compile(),
    ).rejects.toThrow(ConfigError);
    await expect(
      Test.createTestingModule({
        imports: [ConfigModule.forRoot({ configDir: noDefaults, env: { SPLEETER_PORT: 'eighty' } })],
      }).compile(),
    ).rejects.toThrow(/server\.port/);
  });
});
