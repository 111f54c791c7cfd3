import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AppConfig } from './app-config';
import { ConfigError, loadConfig } from './config.loader';

describe(loadConfig.name, () => {
  let dir: string;
  const noDefaults = () => path.join(dir, 'none');
  const file = (name: string, body: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, body);
    return p;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-loader-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('maps the documented env vars of the design onto their keys', () => {
    const warn = jest.fn();
    const sut = loadConfig({
      configDir: noDefaults(),
      warn,
      env: {
        SPLEETER_ENABLE_GPU: 'true',
        SPLEETER_GPU_MEMORY_GROWTH: 'false',
        SPLEETER_CACHE_DIR: '/c',
        SPLEETER_REDIS_URL: 'redis://r:6379/2',
        SPLEETER_MODELS_DIR: '/m',
        SPLEETER_AUTO_DOWNLOAD: '1',
        SPLEETER_ENABLE_MONITORING: 'no',
        SPLEETER_METRICS_PORT: '9100',
      },
    });
    expect(warn).not.toHaveBeenCalled();
    expect(sut.performance.enable_gpu).toBe(true);
    expect(sut.performance.gpu_memory_growth).toBe(false);
    expect(sut.cache.dir).toBe('/c');
    expect(sut.redis.url).toBe('redis://r:6379/2');
    expect(sut.models).toMatchObject({ dir: '/m', auto_download: true });
    expect(sut.monitoring).toMatchObject({ enabled: false, metrics_port: 9100 });
  });

  it('design aliases: the design name wins over defaults and both names hold the value', () => {
    const defaults = path.join(dir, 'defaults');
    fs.mkdirSync(defaults);
    fs.writeFileSync(
      path.join(defaults, 'default.yaml'),
      'spleeter:\n  performance:\n    batch_segments: 1\n',
    );
    const user = file(
      'user.yaml',
      'spleeter:\n  performance:\n    batch_size: 8\n    worker_threads: 3\n  audio:\n    supported_formats: [wav]\n',
    );
    const sut = loadConfig({ configDir: defaults, env: { SPLEETER_CONFIG: user } });
    expect(sut.performance).toMatchObject({
      batch_size: 8,
      batch_segments: 8,
      worker_threads: 3,
      intra_op_threads: 3,
    });
    expect(sut.audio).toMatchObject({ supported_formats: ['wav'], allowed_formats: ['wav'] });
  });

  it("reads performance.dsp_threads as 'auto' (default) or a count, from YAML or SPLEETER_DSP_THREADS", () => {
    expect(loadConfig({ configDir: noDefaults(), env: {} }).performance.dsp_threads).toBe('auto');
    expect(
      loadConfig({ configDir: noDefaults(), env: { SPLEETER_DSP_THREADS: '3' } }).performance.dsp_threads,
    ).toBe(3);
    expect(
      loadConfig({ configDir: noDefaults(), env: { SPLEETER_DSP_THREADS: 'auto' } }).performance.dsp_threads,
    ).toBe('auto');
    const yaml = file('dsp.yaml', 'spleeter:\n  performance:\n    dsp_threads: 0\n');
    expect(
      loadConfig({ configDir: noDefaults(), env: { SPLEETER_CONFIG: yaml } }).performance.dsp_threads,
    ).toBe(0);
    for (const bad of ['-1', 'two', '1.5']) {
      expect(() => loadConfig({ configDir: noDefaults(), env: { SPLEETER_DSP_THREADS: bad } })).toThrow(
        ConfigError,
      );
    }
  });

  it('without the design names, they report the effective values of the keys', () => {
    const sut = loadConfig({ configDir: noDefaults(), env: { SPLEETER_BATCH_SEGMENTS: '3' } });
    expect(sut.performance).toMatchObject({ batch_size: 3, batch_segments: 3 });
    expect(sut.audio.supported_formats).toEqual(sut.audio.allowed_formats);
  });

  it('the same values under both names are fine; different ones are an error naming both and their sources', () => {
    const same = file(
      'same.yaml',
      'spleeter:\n  audio:\n    supported_formats: [wav, mp3]\n    allowed_formats: [wav, mp3]\n',
    );
    expect(
      loadConfig({ configDir: noDefaults(), env: { SPLEETER_CONFIG: same } }).audio.allowed_formats,
    ).toEqual(['wav', 'mp3']);
    const clash = file('clash.yaml', 'spleeter:\n  performance:\n    worker_threads: 4\n');
    let error: unknown;
    try {
      loadConfig({ configDir: noDefaults(), env: { SPLEETER_CONFIG: clash, SPLEETER_THREADS: '2' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`spleeter.performance.worker_threads (4, from ${clash})`);
    expect((error as Error).message).toContain(
      'spleeter.performance.intra_op_threads (2, from env SPLEETER_THREADS)',
    );
  });

  it("warns about an unknown SPLEETER_ variable, not about the relaunch's and the images' own", () => {
    const warn = jest.fn();
    loadConfig({
      configDir: noDefaults(),
      warn,
      env: {
        SPLEETER_HUGE_PAGES: '0',
        SPLEETER_RELAUNCH_PARENT: '123',
        SPLEETER_IMAGE_GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1',
        SPLEETER_TRHEADS: '2',
      },
    });
    expect(warn.mock.calls).toEqual([['Ignoring unknown environment variable SPLEETER_TRHEADS']]);
  });

  it('still refuses an unknown key, naming it', () => {
    const bad = file('bad.yaml', 'spleeter:\n  monitoring:\n    export_intervall: 60\n');
    expect(() => loadConfig({ configDir: noDefaults(), env: { SPLEETER_CONFIG: bad } })).toThrow(
      /spleeter\.monitoring\.export_intervall: unknown key/,
    );
  });

  it('cache.redis_url falls back to redis.url', () => {
    const fallback = new AppConfig(
      loadConfig({ configDir: noDefaults(), env: { SPLEETER_REDIS_URL: 'redis://a' } }),
    );
    expect(fallback.cacheRedisUrl).toBe('redis://a');
    const own = new AppConfig(
      loadConfig({
        configDir: noDefaults(),
        env: { SPLEETER_REDIS_URL: 'redis://a', SPLEETER_CACHE__REDIS_URL: 'redis://b' },
      }),
    );
    expect(own.cacheRedisUrl).toBe('redis://b');
  });
});
