/**
 * Operations surface over HTTP: /metrics (main port and the separate metrics port), metric values
 * moving after real separations (fresh, then from the result cache), /v1/stats numbers matching
 * what ran, the admin cache API, request ids, and auth on each of them.
 */
import * as http from 'http';
import request from 'supertest';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DomainEvents, type SeparationEventPayload } from '../../src/common/events/domain-events';
import { MetricsServer } from '../../src/modules/monitoring/metrics/metrics-server.service';
import { eventually, startTestApp, type TestApp } from '../factories/app';
import { binaryParser, engineOverrides, mixtureWav, MODEL } from './separations-support';

jest.setTimeout(120_000);

const ADMIN_KEY = 'monitoring-admin-key-0123456789';

/** Prometheus text format → samples, for asserting values rather than substrings. */
export function parseMetrics(
  text: string,
): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `labels`. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  return parseMetrics(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

function getText(url: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
        );
      })
      .on('error', reject);
  });
}

describe('Monitoring (e2e)', () => {
  let t: TestApp;
  const scrape = async () => (await request(t.server).get('/metrics').expect(200)).text;
  const auth = { 'X-API-KEY': ADMIN_KEY };

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        api_key: ADMIN_KEY,
        security: { rate_limit: { limit: 100_000 } },
        monitoring: { enabled: true, metrics_port: 0 },
        queue: { concurrency: 1, capacity: 50 },
      },
      overrides: engineOverrides(),
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves /metrics and the probes without credentials, in Prometheus text format', async () => {
    const res = await request(t.server).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
    expect(metric(res.text, 'spleeter_build_info')).toBe(1);
    expect(parseMetrics(res.text).some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    await request(t.server).get('/health/live').expect(200);
    // Everything else needs credentials.
    await request(t.server).get('/v1/stats').expect(401);
    await request(t.server).get('/v1/admin/cache/stats').expect(401);
  });

  it('serves the same registry and the probes on the separate metrics port, and nothing else there', async () => {
    const port = t.get(MetricsServer).port;
    expect(port).toEqual(expect.any(Number));
    const res = await getText(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    expect(metric(res.body, 'spleeter_build_info')).toBe(1);
    expect((await getText(`http://127.0.0.1:${port}/v1/stats`)).status).toBe(404);
    expect((await getText(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    // Workers have no API port: readiness there runs the same checks as on the main port.
    const ready = await getText(`http://127.0.0.1:${port}/health/ready`);
    const main = await request(t.server).get('/health/ready');
    expect(ready.status).toBe(main.status);
    expect(Object.keys(JSON.parse(ready.body).details).sort()).toEqual(Object.keys(main.body.details).sort());
  });

  it('labels HTTP durations by route template and status, never by raw URL', async () => {
    await request(t.server).get('/v1/separations/00000000-0000-4000-8000-000000000000').set(auth).expect(404);
    await request(t.server).get('/no/such/route').expect(404);
    const text = await scrape();
    const series = parseMetrics(text).filter(
      (s) => s.name === 'spleeter_http_request_duration_seconds_count',
    );
    expect(
      series.some((s) => s.labels.route === '/v1/separations/:id' && s.labels.status_code === '404'),
    ).toBe(true);
    expect(series.some((s) => s.labels.route === 'unmatched' && s.labels.status_code === '404')).toBe(true);
    expect(series.some((s) => s.labels.route?.includes('00000000'))).toBe(false);
  });

  it('echoes a safe X-Request-Id, replaces an unsafe one, and quotes it in problem responses', async () => {
    const mine = await request(t.server).get('/health/live').set('X-Request-Id', 'abc-123.def:7');
    expect(mine.headers['x-request-id']).toBe('abc-123.def:7');
    const generated = await request(t.server).get('/health/live');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await request(t.server).get('/health/live').set('X-Request-Id', 'x'.repeat(129));
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const problem = await request(t.server).get('/v1/stats').set('X-Request-Id', 'trace-42');
    expect(problem.status).toBe(401);
    expect(problem.body.requestId).toBe('trace-42');
  });

  it('moves separation, audio, duration and cache metrics after a fresh run and a cache hit; stats agree', async () => {
    const before = await scrape();
    const wav = mixtureWav(3);
    const wait = (res: request.Response) =>
      eventually(
        async () => {
          const r = await request(t.server).get(`/v1/separations/${res.body.id}`).set(auth).expect(200);
          return ['succeeded', 'failed'].includes(r.body.status) ? r.body : null;
        },
        60_000,
        100,
      );

    const first = await wait(
      await request(t.server)
        .post('/v1/separations')
        .set(auth)
        .field('model', MODEL)
        .attach('file', wav, 'a.wav')
        .expect(202),
    );
    expect(first.status).toBe('succeeded');
    expect(first.cached).toBe(false);
    // A built-in model makes no model calls; the job JSON says so (cross-job batching: none shared).
    expect(first.stats).toEqual({ modelCalls: 0, sharedModelCalls: 0 });
    const labels = { model: MODEL, execution_provider: first.executionProvider };
    // The job reads 'succeeded' once its row is updated; the event that moves the metrics and the
    // stats follows once the upload is deleted: scrape until it has arrived.
    const counted = (text: string, outcome: string, l: Record<string, string>) =>
      metric(text, 'spleeter_separations_total', { ...l, outcome }) -
      metric(before, 'spleeter_separations_total', { ...l, outcome });
    const afterFresh = await eventually(async () => {
      const text = await scrape();
      return counted(text, 'succeeded', labels) >= 1 ? text : null;
    }, 10_000);
    expect(
      metric(afterFresh, 'spleeter_separations_total', { ...labels, outcome: 'succeeded' }) -
        metric(before, 'spleeter_separations_total', { ...labels, outcome: 'succeeded' }),
    ).toBe(1);
    expect(
      metric(afterFresh, 'spleeter_separation_duration_seconds_count', labels) -
        metric(before, 'spleeter_separation_duration_seconds_count', labels),
    ).toBe(1);
    expect(
      metric(afterFresh, 'spleeter_audio_processed_seconds_total', { model: MODEL }) -
        metric(before, 'spleeter_audio_processed_seconds_total', { model: MODEL }),
    ).toBeCloseTo(3, 2);
    expect(metric(afterFresh, 'spleeter_separation_realtime_factor_count', labels)).toBeGreaterThanOrEqual(1);
    // The result was written through to memory and disk.
    expect(metric(afterFresh, 'spleeter_cache_entries', { tier: 'l1' })).toBeGreaterThanOrEqual(1);
    expect(metric(afterFresh, 'spleeter_cache_bytes', { tier: 'l2' })).toBeGreaterThan(0);

    // Same bytes, same model and options: completed at once from the cache, byte-identical.
    const second = await wait(
      await request(t.server)
        .post('/v1/separations')
        .set(auth)
        .field('model', MODEL)
        .attach('file', wav, 'again.wav'),
    );
    expect(second.status).toBe('succeeded');
    expect(second.cached).toBe(true);
    expect(second.stats).toBeNull();
    for (const stem of first.stems as Array<{ name: string; url: string }>) {
      const other = (second.stems as Array<{ name: string; url: string }>).find((s) => s.name === stem.name)!;
      const a = await request(t.server)
        .get(stem.url)
        .set(auth)
        .buffer(true)
        .parse(binaryParser as never)
        .expect(200);
      const b = await request(t.server)
        .get(other.url)
        .set(auth)
        .buffer(true)
        .parse(binaryParser as never)
        .expect(200);
      expect(Buffer.compare(a.body as Buffer, b.body as Buffer)).toBe(0);
    }
    const afterHit = await eventually(async () => {
      const text = await scrape();
      return counted(text, 'cached', { model: MODEL }) >= 1 ? text : null;
    }, 10_000);
    expect(
      metric(afterHit, 'spleeter_separations_total', { model: MODEL, outcome: 'cached' }) -
        metric(before, 'spleeter_separations_total', { model: MODEL, outcome: 'cached' }),
    ).toBe(1);
    expect(
      metric(afterHit, 'spleeter_cache_hits_total', { tier: 'l1' }) -
        metric(afterFresh, 'spleeter_cache_hits_total', { tier: 'l1' }),
    ).toBe(1);
    // The cache hit did not count as processing.
    expect(metric(afterHit, 'spleeter_separation_duration_seconds_count', labels)).toBe(
      metric(afterFresh, 'spleeter_separation_duration_seconds_count', labels),
    );

    const stats = (await request(t.server).get('/v1/stats').set(auth).expect(200)).body;
    expect(stats.processing.totals).toMatchObject({ completed: 2, succeeded: 1, cached: 1, failed: 0 });
    expect(stats.processing.successRate).toBe(1);
    expect(stats.processing.cacheHitRate).toBe(0.5);
    expect(stats.processing.averageProcessingMs).toBe(first.timings.totalMs);
    expect(stats.processing.p95ProcessingMs).toBe(first.timings.totalMs);
    expect(stats.processing.audioSecondsProcessed).toBeCloseTo(3, 2);
    expect(stats.processing.averageRealtimeFactor).toBeCloseTo(
      first.input.durationSec / (first.timings.totalMs / 1000),
      6,
    );
    expect(stats.processing.executionProviders).toEqual({ [first.executionProvider]: 1 });
    expect(stats.system).toMatchObject({
      status: expect.stringMatching(/healthy|degraded/),
      executionProvider: expect.any(String),
      gpu: [],
    });
    // The device is named in the job JSON, /v1/stats and the provider info gauge alike.
    expect(typeof first.executionDevice).toBe('string');
    expect(first.executionDevice.length).toBeGreaterThan(0);
    expect(stats.system.executionDevice).toBe(first.executionDevice);
    const scraped = await scrape();
    expect(
      metric(scraped, 'spleeter_execution_provider_info', {
        provider: stats.system.executionProvider,
        device: stats.system.executionDevice,
      }),
    ).toBe(1);
    // No GPU provider here: the GPU gauges are not registered at all.
    expect(scraped).not.toMatch(/spleeter_gpu_/);
    expect(stats.system.memory.usagePercent).toBeGreaterThan(0);

    const cache = (await request(t.server).get('/v1/admin/cache/stats').set(auth).expect(200)).body;
    expect(cache).toMatchObject({ enabled: true, hits: 1, degraded: false });
    expect(cache.tiers.l1.entries).toBe(1);
    expect(cache.tiers.l2.entries).toBe(1);
  });

  it('raises the error-rate alert from the configured threshold', async () => {
    const events = t.get(EventEmitter2);
    const failed: SeparationEventPayload = {
      jobId: 'x',
      model: MODEL,
      executionProvider: 'cpu',
      errorCode: 'CORRUPT_AUDIO',
      durationMs: 5,
    };
    const before = await scrape();
    events.emit(DomainEvents.SeparationFailed, failed);
    const stats = (await request(t.server).get('/v1/stats').set(auth).expect(200)).body;
    // 1 failure out of 3 decided jobs in the window: 33.3% ≥ 5%.
    expect(stats.processing.window.errorRatePercent).toBeCloseTo(100 / 3, 5);
    expect(stats.alerts).toContainEqual(
      expect.objectContaining({ name: 'error_rate', threshold: 5, value: 33.3 }),
    );
    expect(stats.system.status).toBe('degraded');
    const after = await scrape();
    expect(
      metric(after, 'spleeter_errors_total', { code: 'CORRUPT_AUDIO', source: 'separation' }) -
        metric(before, 'spleeter_errors_total', { code: 'CORRUPT_AUDIO', source: 'separation' }),
    ).toBe(1);
  });

  it('clears the cache by model (admin only) and reports what went', async () => {
    const removed = await request(t.server)
      .delete('/v1/admin/cache')
      .query({ model: MODEL })
      .set(auth)
      .expect(200);
    expect(removed.body.removed).toEqual({ l1: 1, l2: 1 });
    await request(t.server).delete('/v1/admin/cache').query({ level: 'l9' }).set(auth).expect(422);
    const stats = (await request(t.server).get('/v1/admin/cache/stats').set(auth).expect(200)).body;
    expect(stats.entries).toBe(0);
    expect(metric(await scrape(), 'spleeter_cache_entries', { tier: 'l2' })).toBe(0);
  });
});

describe('Monitoring switches (e2e)', () => {
  it('answers 404 on /metrics when monitoring is disabled, and keeps the probes', async () => {
    const t = await startTestApp({
      config: { security: { auth_enabled: false }, monitoring: { enabled: false } },
    });
    try {
      await request(t.server).get('/metrics').expect(404);
      await request(t.server).get('/health/live').expect(200);
      expect(t.get(MetricsServer).port).toBeNull();
    } finally {
      await t.close();
    }
  });

  it('with metrics_public=false serves metrics only on the metrics port', async () => {
    const t = await startTestApp({
      config: {
        security: { auth_enabled: false },
        monitoring: { enabled: true, metrics_public: false, metrics_port: 0 },
      },
    });
    try {
      await request(t.server).get('/metrics').expect(404);
      const res = await getText(`http://127.0.0.1:${t.get(MetricsServer).port}/metrics`);
      expect(res.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
