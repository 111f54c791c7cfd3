/**
 * The web app's files over HTTP (no browser): served at / without credentials, pre-compressed,
 * cacheable, under a strict CSP that leaves Swagger UI alone, within the 300 KB compressed budget
 * for the first load, and without shadowing the API's 404s or filling the audit log.
 */
import * as http from 'http';
import * as zlib from 'zlib';
import request from 'supertest';
import { ensureWebBuilt } from '../../scripts/build-web';
import { AuditService } from '../../src/modules/audit/audit.service';
import { startTestApp } from '../factories/app';
import { startApp, type TestApp } from './security-harness';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET that keeps the body exactly as sent (supertest would decompress it). */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const FIRST_LOAD_BUDGET = 300 * 1024;

describe('Web app (e2e)', () => {
  let t: TestApp;
  let html: string;
  let assets: string[];

  beforeAll(async () => {
    await ensureWebBuilt({ quiet: true });
    t = await startTestApp({
      listen: true,
      config: { api_key: 'web-e2e-admin-key-0123456789', audit: { flush_interval_ms: 50 } },
    });
    const res = await request(t.server).get('/').set('Accept-Encoding', 'identity');
    html = res.text;
    // What the document loads by itself (not the /docs link).
    assets = [...html.matchAll(/(?:src|href)="(\/(?:assets\/[^"]+|favicon\.svg))"/g)].map((m) => m[1]);
  }, 240_000);

  afterAll(async () => {
    await t?.close();
  });

  it('serves the page at / without credentials, under a strict CSP', async () => {
    const res = await request(t.server).get('/').set('Accept-Encoding', 'identity').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/[^"]+\.js">/);
    expect(html).not.toMatch(/<script>|<style>|style="/);
  });

  it('serves each referenced asset pre-compressed (br, gzip), cacheable forever, with ETag/304', async () => {
    const built = assets.filter((a) => a.startsWith('/assets/'));
    expect(built.length).toBeGreaterThanOrEqual(2); // the JS bundle and the stylesheet
    for (const a of built) {
      const raw = await rawGet(`${t.url}${a}`, { 'Accept-Encoding': 'identity' });
      expect(raw.status).toBe(200);
      expect(raw.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(raw.headers['content-encoding']).toBeUndefined();
      expect(raw.headers['content-type']).toMatch(a.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(Number(raw.headers['content-length'])).toBe(raw.body.length);
      const br = await rawGet(`${t.url}${a}`, { 'Accept-Encoding': 'gzip, deflate, br' });
      expect(br.headers['content-encoding']).toBe('br');
      expect(br.headers.vary).toBe('Accept-Encoding');
      expect(br.body.length).toBeLessThan(raw.body.length);
      expect(zlib.brotliDecompressSync(br.body).equals(raw.body)).toBe(true);
      const gz = await rawGet(`${t.url}${a}`, { 'Accept-Encoding': 'gzip;q=1, br;q=0' });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(zlib.gunzipSync(gz.body).equals(raw.body)).toBe(true);
      const again = await rawGet(`${t.url}${a}`, { 'If-None-Match': String(raw.headers.etag) });
      expect(again.status).toBe(304);
    }
  });

  it('keeps the first load within 300 KB compressed', async () => {
    const sizes = { raw: 0, gzip: 0, br: 0 };
    for (const a of ['/', ...assets]) {
      for (const enc of ['identity', 'gzip', 'br'] as const) {
        const res = await rawGet(`${t.url}${a}`, { 'Accept-Encoding': enc });
        expect(res.status).toBe(200);
        sizes[enc === 'identity' ? 'raw' : enc] += res.body.length;
      }
    }
    process.stdout.write(
      `web first load (${['/', ...assets].join(', ')}): ${sizes.raw} B raw, ${sizes.gzip} B gzip, ${sizes.br} B brotli\n`,
    );
    expect(sizes.gzip).toBeLessThanOrEqual(FIRST_LOAD_BUDGET);
    expect(sizes.br).toBeLessThan(sizes.gzip);
  });

  it('leaves Swagger UI without the page CSP, and API 404s as problem JSON', async () => {
    const docs = await request(t.server).get('/docs/').redirects(1);
    expect(docs.status).toBe(200);
    expect(docs.headers['content-security-policy']).toBeUndefined();
    const missing = await request(t.server).get('/assets/nope.js').expect(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.body.code).toBe('NOT_FOUND');
    const api = await request(t.server).get('/v1/no-such-route').expect(404);
    expect(api.body.code).toBe('NOT_FOUND');
    await request(t.server).get('/v1/separations').expect(401);
  });

  it('does not write audit rows for page loads', async () => {
    for (let i = 0; i < 3; i++) await request(t.server).get('/').expect(200);
    await new Promise((r) => setTimeout(r, 200));
    const audit = t.get(AuditService);
    const page = await audit.find({}, undefined, 500);
    const paths = page.items.map((e) => String((e.details as string | null) ?? ''));
    expect(paths.filter((p) => p.includes('"path":"/"'))).toEqual([]);
  });
});

describe('Web app switched off (e2e)', () => {
  it('answers 404 at / when server.web_ui is false', async () => {
    const t = await startApp({ api_key: 'web-e2e-admin-key-0123456789', server: { web_ui: false } });
    try {
      const res = await request(t.server).get('/').expect(404);
      expect(res.body.code).toBe('NOT_FOUND');
    } finally {
      await t.close();
    }
  });
});
