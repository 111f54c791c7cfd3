/**
 * The design's configuration file (issue 11, item 1), verbatim: the server and the CLI start with
 * it unchanged, every key lands on the typed configuration and does what its name says; an unknown
 * key still stops start-up naming it, and a design alias that contradicts the key it names too.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import request from 'supertest';
import { engineOptionsFromConfig } from '../../src/engine/engine-options';
import { AppConfig } from '../../src/infra/config/app-config';
import { CacheService } from '../../src/modules/cache/cache.service';
import { startTestApp, type TestApp } from '../factories/app';
import { encodeWav, makeTempDir, tone } from '../factories/audio';
import { decodeWav, mixtureWav, MODEL } from './separations-support';
import { runCli } from '../support/cli-process';

jest.setTimeout(120_000);

/** The file as the design specifies it: not one character changed. */
export const DESIGN_CONFIG_YAML = `spleeter:
  performance:
    enable_gpu: true
    batch_size: 8
    worker_threads: 4
    memory_limit_mb: 8192
  cache:
    enabled: true
    memory_size_mb: 512
    disk_size_mb: 2048
    redis_url: "redis://localhost:6379/0"
    ttl_hours: 24
  audio:
    default_sample_rate: 44100
    supported_formats: ["wav", "flac", "mp3", "ogg"]
    enable_preprocessing: true
    normalize_loudness: true
  monitoring:
    enabled: true
    export_interval: 60
    health_check_interval: 30
    alert_thresholds:
      memory_usage: 85
      gpu_usage: 90
      error_rate: 5
`;

/** A minimal AIFF header: sniffed as 'aiff', a format the design's list does not accept. */
function aiffBytes(): Buffer {
  const b = Buffer.alloc(64);
  b.write('FORM', 0, 'latin1');
  b.writeUInt32BE(56, 4);
  b.write('AIFF', 8, 'latin1');
  b.write('COMM', 12, 'latin1');
  return b;
}

describe('the design configuration file', () => {
  let dir: string;
  let file: string;
  let t: TestApp | undefined;
  const prefix = `cfg-design-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    dir = await makeTempDir('config-design-');
    file = path.join(dir, 'spleeter.yaml');
    await fs.writeFile(file, DESIGN_CONFIG_YAML);
    t = await startTestApp({
      env: { SPLEETER_CONFIG: file },
      // Only where the app keeps files, how it authenticates and its key prefix in the shared
      // Redis: every key of the design file stays as written.
      config: {
        security: { auth_enabled: false, rate_limit: { limit: 100_000 } },
        cache: { redis_enabled: true },
        monitoring: { enabled: true },
        queue: { prefix },
      },
    });
  });

  afterAll(async () => {
    if (t) {
      await t.get(CacheService).clear();
      await t.close();
    }
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('starts: /health/live answers 200', async () => {
    await request(t!.server).get('/health/live').expect(200);
  });

  it('puts every key on the typed configuration, design names mapped onto the keys the code reads', () => {
    const config = t!.get(AppConfig);
    expect(config.performance).toMatchObject({
      enable_gpu: true,
      batch_size: 8,
      batch_segments: 8,
      worker_threads: 4,
      intra_op_threads: 4,
      memory_limit_mb: 8192,
    });
    expect(config.cache).toMatchObject({
      enabled: true,
      memory_size_mb: 512,
      disk_size_mb: 2048,
      redis_url: 'redis://localhost:6379/0',
      ttl_hours: 24,
    });
    expect(config.cacheRedisUrl).toBe('redis://localhost:6379/0');
    expect(config.redis.url).toBeNull();
    expect(config.audio).toMatchObject({
      default_sample_rate: 44100,
      supported_formats: ['wav', 'flac', 'mp3', 'ogg'],
      allowed_formats: ['wav', 'flac', 'mp3', 'ogg'],
      enable_preprocessing: true,
      normalize_loudness: true,
    });
    expect(config.monitoring).toMatchObject({
      enabled: true,
      export_interval: 60,
      health_check_interval: 30,
      alert_thresholds: { memory_usage: 85, gpu_usage: 90, error_rate: 5 },
    });
    expect(engineOptionsFromConfig(config)).toMatchObject({
      enableGpu: true,
      batchSegments: 8,
      intraOpThreads: 4,
      memoryLimitMb: 8192,
      defaultSampleRate: 44100,
      enablePreprocessing: true,
      normalizeLoudness: true,
    });
  });

  it('cache.redis_url is the L3 tier (there is no redis.url)', () => {
    const stats = t!.get(CacheService).getCacheStats();
    expect(Object.keys(stats.tiers).sort()).toEqual(['l1', 'l2', 'l3']);
  });

  it('supported_formats: a format outside the list is refused 415 UNSUPPORTED_AUDIO', async () => {
    const res = await request(t!.server)
      .post('/v1/separations')
      .attach('file', aiffBytes(), 'song.aiff')
      .field('model', MODEL)
      .expect(415);
    expect(res.body).toMatchObject({ code: 'UNSUPPORTED_AUDIO' });
    expect(res.body.detail ?? res.body.title).toMatch(/aiff/);
  });

  it('a separation takes the audio defaults: 44.1 kHz output, preprocessing and loudness normalisation on', async () => {
    // 22.05 kHz input: without default_sample_rate the stems would come back at 22.05 kHz.
    const input = encodeWav(tone({ sampleRate: 22050, channels: 2, frames: 22050 * 2, amplitude: 0.1 }), {
      encoding: 's16',
    });
    const res = await request(t!.server)
      .post('/v1/separations?wait=60')
      .attach('file', input, 'quiet.wav')
      .field('model', MODEL)
      .expect(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.options).toMatchObject({
      sampleRate: 44100,
      preprocess: true,
      normalizeLoudness: true,
      targetLufs: -14,
    });
    const stem = res.body.stems[0] as { name: string };
    const wav = await request(t!.server)
      .get(`/v1/separations/${res.body.id}/stems/${stem.name}`)
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(decodeWav(wav.body as Buffer).sampleRate).toBe(44100);
  });

  it('per request, the options override the defaults and are part of the job', async () => {
    const res = await request(t!.server)
      .post('/v1/separations?wait=60')
      .attach('file', mixtureWav(1), 'mix.wav')
      .field('model', MODEL)
      .field('preprocess', 'false')
      .field('normalizeLoudness', 'true')
      .field('targetLufs', '-20')
      .expect(200);
    expect(res.body.options).toMatchObject({ preprocess: false, normalizeLoudness: true, targetLufs: -20 });
    const bad = await request(t!.server)
      .post('/v1/separations')
      .attach('file', mixtureWav(1), 'mix.wav')
      .field('targetLufs', '3')
      .expect(422);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('memory_limit_mb: a job whose estimated memory exceeds it is refused 422 MEMORY_LIMIT', async () => {
    const tight = await startTestApp({
      env: { SPLEETER_CONFIG: file },
      config: {
        security: { auth_enabled: false },
        performance: { memory_limit_mb: 100 },
        queue: { prefix: `${prefix}-tight` },
      },
    });
    try {
      const res = await request(tight.server)
        .post('/v1/separations')
        .attach('file', mixtureWav(1), 'mix.wav')
        .field('model', MODEL)
        .expect(422);
      expect(res.body).toMatchObject({ code: 'MEMORY_LIMIT' });
      expect(res.body.detail).toMatch(/memory_limit_mb \(100 MiB\)/);
    } finally {
      await tight.close();
    }
  });

  it('an unknown key still stops start-up, naming it', async () => {
    const bad = path.join(dir, 'unknown.yaml');
    await fs.writeFile(
      bad,
      DESIGN_CONFIG_YAML.replace('    batch_size: 8\n', '    batch_size: 8\n    batch_sise: 8\n'),
    );
    await expect(startTestApp({ env: { SPLEETER_CONFIG: bad } })).rejects.toThrow(
      /spleeter\.performance\.batch_sise: unknown key/,
    );
  });

  it('a design name and the key it names, set to different values, stop start-up naming both', async () => {
    await expect(
      startTestApp({ env: { SPLEETER_CONFIG: file, SPLEETER_BATCH_SEGMENTS: '4' } }),
    ).rejects.toThrow(/spleeter\.performance\.batch_size .*spleeter\.performance\.batch_segments/);
  });

  describe('the CLI with the same file', () => {
    it('runs --help and models list', async () => {
      const env = { SPLEETER_CONFIG: file, SPLEETER_MODELS_DIR: path.join(dir, 'cli-models') };
      const help = await runCli(['--help'], dir, env);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/separate/);
      const list = await runCli(['models', 'list', '--json'], dir, env);
      expect(list.stderr).toBe('');
      expect(list.code).toBe(0);
      const models = JSON.parse(list.stdout) as Array<{ name: string }>;
      expect(models.map((m) => m.name)).toContain('builtin:center');
    });

    it('separate writes stems at default_sample_rate', async () => {
      const input = path.join(dir, 'cli-in.wav');
      await fs.writeFile(
        input,
        encodeWav(tone({ sampleRate: 22050, channels: 2, frames: 22050, amplitude: 0.2 }), {
          encoding: 's16',
        }),
      );
      const out = path.join(dir, 'cli-out');
      const res = await runCli(['separate', input, '-m', MODEL, '-o', out, '--json'], dir, {
        SPLEETER_CONFIG: file,
        SPLEETER_MODELS_DIR: path.join(dir, 'cli-models'),
      });
      expect(res.code).toBe(0);
      const result = JSON.parse(res.stdout.trim().split('\n').pop()!) as {
        outputs: Record<string, string>;
        processing: { preprocess: boolean; loudness: { targetLufs: number } | null };
      };
      expect(result.processing.preprocess).toBe(true);
      expect(result.processing.loudness?.targetLufs).toBe(-14);
      for (const f of Object.values(result.outputs))
        expect(decodeWav(await fs.readFile(f)).sampleRate).toBe(44100);
    });
  });
});
