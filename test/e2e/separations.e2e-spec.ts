/**
 * The separation jobs API over real HTTP (supertest against the Nest app): upload → poll →
 * download → decode, wait mode, SSE, ranges, zip, cancel, batch, listing, ownership, callbacks.
 */
import * as http from 'http';
import request from 'supertest';
import * as yauzl from 'yauzl';
import { verifyCallbackSignature } from '../../src/infra/http/callback-signature';
import { eventually, listFiles, startTestApp, type TestApp } from '../factories/app';
import {
  binaryParser,
  decodeWav,
  engineOverrides,
  ENGINE_KIND,
  mixture,
  mixtureWav,
  MODEL,
  snr,
  writeWav16,
} from './separations-support';
import { buildWavInfoChunk } from '../../src/core/audio/wav-info';
import { encodeWav } from '../factories/audio';

jest.setTimeout(120_000);

const OPEN_AUTH = { security: { auth_enabled: false, rate_limit: { limit: 100_000 } } };
/** Most cases re-upload the same bytes: with the result cache on they would complete at once. */
const NO_CACHE = { cache: { enabled: false } };

async function waitForStatus(t: TestApp, id: string, statuses: string[], timeoutMs = 60_000) {
  return eventually(
    async () => {
      const res = await request(t.server).get(`/v1/separations/${id}`).expect(200);
      return statuses.includes(res.body.status) ? res.body : null;
    },
    timeoutMs,
    100,
  );
}

async function download(t: TestApp, url: string, headers: Record<string, string> = {}) {
  let req = request(t.server)
    .get(url)
    .buffer(true)
    .parse(binaryParser as never);
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  return req;
}

describe('Separations API (e2e)', () => {
  let t: TestApp;
  const input = mixture(3);
  const wav = mixtureWav(3);

  beforeAll(async () => {
    t = await startTestApp({
      config: { ...OPEN_AUTH, ...NO_CACHE, queue: { concurrency: 1, capacity: 50 } },
      overrides: engineOverrides(),
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('upload → poll → download stems that decode to the input length and sum to the mixture', async () => {
    const created = await request(t.server)
      .post('/v1/separations')
      .field('model', MODEL)
      .attach('file', wav, { filename: 'mix.wav', contentType: 'application/octet-stream' })
      .expect(202);
    expect(created.headers.location).toBe(`/v1/separations/${created.body.id}`);
    expect(created.body).toMatchObject({
      object: 'separation',
      status: expect.stringMatching(/queued|running/),
      model: { name: MODEL, requested: MODEL, stems: ['center', 'sides'] },
      input: { filename: 'mix.wav', format: 'wav', sizeBytes: wav.length, channels: 2, sampleRate: 44100 },
      links: { self: `/v1/separations/${created.body.id}` },
    });
    expect(created.body.input.durationSec).toBeCloseTo(3, 2);

    const done = await waitForStatus(t, created.body.id, ['succeeded', 'failed']);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.progress).toBe(100);
    expect(done.executionProvider).toEqual(expect.any(String));
    expect(done.timings.queuedMs).toBeGreaterThanOrEqual(0);
    expect(done.timings.totalMs).toBeGreaterThan(0);
    expect(done.stems.map((s: { name: string }) => s.name).sort()).toEqual(['center', 'sides']);

    const decoded = [];
    for (const stem of done.stems) {
      const res = await download(t, stem.url);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('audio/wav');
      expect(Number(res.headers['content-length'])).toBe(stem.sizeBytes);
      expect(res.headers.etag).toMatch(/^"/);
      expect(res.headers['accept-ranges']).toBe('bytes');
      const audio = decodeWav(res.body);
      expect(audio.channels).toBe(2);
      expect(audio.sampleRate).toBe(44100);
      expect(audio.data.length).toBe(input.data.length);
      decoded.push(audio.data);
    }
    const sum = new Float32Array(input.data.length);
    for (const d of decoded) for (let i = 0; i < sum.length; i++) sum[i] += d[i];
    expect(snr(input.data, sum)).toBeGreaterThan(30);
  });

  it('reports the loudness and silent ranges of the input and of every stem (analysis)', async () => {
    // 2 s of the mixture, 1.5 s of digital silence (2.0–3.5 s), 1 s of the mixture.
    const gap = mixture(4.5);
    gap.data.fill(0, 2 * 44100 * 2, 3.5 * 44100 * 2);
    const job = (
      await request(t.server)
        .post('/v1/separations?wait=60')
        .attach('file', writeWav16(gap), 'gap.wav')
        .expect(200)
    ).body;
    expect(job).toMatchObject({ status: 'succeeded', options: { analysis: true } });
    const a = job.analysis;
    expect(a).toMatchObject({ sampleRate: 44100, channels: 2, empty: false });
    expect(a.durationSec).toBeCloseTo(4.5, 2);
    expect(a.silence).toMatchObject({ thresholdDbfs: -60, minDurationSec: 0.5 });
    expect(a.silence.ranges).toHaveLength(1);
    expect(Math.abs(a.silence.ranges[0].startSec - 2)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(a.silence.ranges[0].endSec - 3.5)).toBeLessThanOrEqual(0.02);
    expect(typeof a.loudness.integratedLufs).toBe('number');
    expect(typeof a.loudness.samplePeakDbfs).toBe('number');
    // audio.analysis_true_peak is off by default (cost).
    expect(a.loudness.truePeakDbtp).toBeNull();
    expect(job.stems.map((s: { name: string }) => s.name).sort()).toEqual(['center', 'sides']);
    for (const stem of job.stems) {
      expect(stem.analysis).toMatchObject({ empty: false, durationSec: expect.any(Number) });
      expect(stem.analysis.durationSec).toBeCloseTo(4.5, 2);
      expect(stem.analysis.silence.ranges.length).toBeGreaterThanOrEqual(1);
      expect(typeof stem.analysis.loudness.integratedLufs).toBe('number');
    }
    // The same on a later GET (read back from the database).
    const again = await request(t.server).get(`/v1/separations/${job.id}`).expect(200);
    expect(again.body.analysis).toEqual(a);
    expect(again.body.stems).toEqual(job.stems);

    // analysis=false: none.
    const bare = (
      await request(t.server)
        .post('/v1/separations?wait=60')
        .field('analysis', 'false')
        .attach('file', writeWav16(gap), 'gap.wav')
        .expect(200)
    ).body;
    expect(bare).toMatchObject({ status: 'succeeded', options: { analysis: false }, analysis: null });
    for (const stem of bare.stems) expect(stem.analysis).toBeNull();
  });

  it('?wait answers 200 with the finished job when it completes in time, else 202', async () => {
    const res = await request(t.server)
      .post('/v1/separations?wait=60')
      .attach('file', wav, 'a.wav')
      .expect(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.stems).toHaveLength(2);

    const quick = await request(t.server).post('/v1/separations?wait=0').attach('file', wav, 'b.wav');
    expect([200, 202]).toContain(quick.status);
    await waitForStatus(t, quick.body.id, ['succeeded']);
  });

  it('streams server-sent events until completion', async () => {
    const created = await request(t.server)
      .post('/v1/separations')
      .attach('file', wav, 'sse.wav')
      .expect(202);
    const res = await request(t.server)
      .get(`/v1/separations/${created.body.id}/events`)
      .buffer(true)
      .parse((r, cb) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => cb(null, text));
      })
      .expect(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    const events = String(res.body)
      .split('\n\n')
      .filter((b) => b.trim())
      .map((block) => ({
        type: /^event: (.*)$/m.exec(block)?.[1],
        data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null'),
      }));
    expect(events[0].type).toBe('status');
    expect(events[0].data.id).toBe(created.body.id);
    const last = events[events.length - 1];
    expect(last.type).toBe('succeeded');
    expect(last.data.status).toBe('succeeded');
    expect(last.data.stems).toHaveLength(2);
    for (const e of events.filter((x) => x.type === 'progress')) {
      expect(e.data.progress).toBeGreaterThanOrEqual(0);
      expect(e.data.progress).toBeLessThanOrEqual(100);
    }
  });

  it('serves byte ranges, conditional requests and 416', async () => {
    const job = (
      await request(t.server).post('/v1/separations?wait=60').attach('file', wav, 'r.wav').expect(200)
    ).body;
    const url = job.stems[0].url;
    const full = await download(t, url);
    const size = full.body.length;

    const part = await download(t, url, { Range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${size}`);
    expect(part.headers['content-length']).toBe('100');
    expect(Buffer.compare(part.body, full.body.subarray(100, 200))).toBe(0);

    const suffix = await download(t, url, { Range: 'bytes=-10' });
    expect(suffix.status).toBe(206);
    expect(Buffer.compare(suffix.body, full.body.subarray(size - 10))).toBe(0);

    const open = await download(t, url, { Range: `bytes=${size - 5}-` });
    expect(open.status).toBe(206);
    expect(open.body.length).toBe(5);

    const bad = await request(t.server).get(url).set('Range', `bytes=${size}-`).expect(416);
    expect(bad.headers['content-range']).toBe(`bytes */${size}`);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.body.code).toBe('RANGE_NOT_SATISFIABLE');

    await request(t.server).get(url).set('If-None-Match', full.headers.etag).expect(304);
    const stale = await download(t, url, { Range: 'bytes=0-9', 'If-Range': '"stale"' });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(size);

    const head = await request(t.server).head(url).expect(200);
    expect(head.headers['content-length']).toBe(String(size));
  });

  it('transcodes a stem on the fly with ?codec=mp3', async () => {
    const job = (
      await request(t.server).post('/v1/separations?wait=60').attach('file', wav, 'x.wav').expect(200)
    ).body;
    const res = await download(t, `${job.stems[0].url}?codec=mp3`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('audio/mpeg');
    expect(res.headers['accept-ranges']).toBe('none');
    // An MP3 stream: ID3 tag or an MPEG audio frame sync at the start.
    const b = res.body as Buffer;
    expect(b.length).toBeGreaterThan(1000);
    expect(b.toString('latin1', 0, 3) === 'ID3' || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0)).toBe(true);
    await request(t.server).get(`${job.stems[0].url}?codec=aiff`).expect(422);
  });

  it('streams a zip of all stems with their exact bytes', async () => {
    const job = (
      await request(t.server).post('/v1/separations?wait=60').attach('file', wav, 'My Song.wav').expect(200)
    ).body;
    const res = await download(t, job.links.archive);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(res.headers['content-disposition']).toContain('My Song-stems.zip');
    const entries = await unzip(res.body);
    expect([...entries.keys()].sort()).toEqual(['center.wav', 'sides.wav']);
    for (const stem of job.stems) {
      const file = await download(t, stem.url);
      expect(Buffer.compare(entries.get(`${stem.name}.wav`)!, file.body)).toBe(0);
    }
  });

  it('only produces the requested stems subset', async () => {
    const res = await request(t.server)
      .post('/v1/separations?wait=60')
      .field('stems', 'sides')
      .attach('file', wav, 's.wav')
      .expect(200);
    expect(res.body.stems.map((s: { name: string }) => s.name)).toEqual(['sides']);
    expect(res.body.options.stems).toEqual(['sides']);
    await request(t.server).get(`/v1/separations/${res.body.id}/stems/center`).expect(404);
  });

  (ENGINE_KIND === 'real' ? it : it.skip)(
    "writes the input's tags into the stems (title + stem name), never the upload's name; tags=false: none",
    async () => {
      const info = buildWavInfoChunk({ title: 'Song', artist: 'The Artist' })!;
      const tagged = encodeWav(mixture(1), {
        encoding: 's16',
        chunksBeforeData: [{ id: 'LIST', body: info.subarray(8) }],
      });
      const res = await request(t.server)
        .post('/v1/separations?wait=60')
        .attach('file', tagged, 'upload-name.wav')
        .expect(200);
      expect(res.body.input.metadata).toMatchObject({ title: 'Song', artist: 'The Artist' });
      expect(res.body.options.tags).toBe(true);
      const center = (await download(t, `/v1/separations/${res.body.id}/stems/center`)).body as Buffer;
      expect(center.includes(Buffer.from('Song (center)'))).toBe(true);
      expect(center.includes(Buffer.from('The Artist'))).toBe(true);
      // Untitled input: the stem name alone, not the name the client gave the upload.
      const plain = await request(t.server)
        .post('/v1/separations?wait=60')
        .attach('file', mixtureWav(1), 'private-name.wav')
        .expect(200);
      const sides = (await download(t, `/v1/separations/${plain.body.id}/stems/sides`)).body as Buffer;
      expect(sides.includes(Buffer.from('private-name'))).toBe(false);
      expect(sides.includes(Buffer.from('INAM'))).toBe(true);
      const bare = await request(t.server)
        .post('/v1/separations?wait=60')
        .field('tags', 'false')
        .attach('file', tagged, 'bare.wav')
        .expect(200);
      expect(bare.body.options.tags).toBe(false);
      const bareCenter = (await download(t, `/v1/separations/${bare.body.id}/stems/center`)).body as Buffer;
      expect(bareCenter.includes(Buffer.from('LIST'))).toBe(false);
    },
  );

  it('cancels a queued and a running job, and deletes a finished job’s files', async () => {
    // Three minutes of audio keeps the single runner busy long enough to catch it running.
    const long = mixtureWav(180);
    const first = await request(t.server)
      .post('/v1/separations')
      .attach('file', long, 'long.wav')
      .expect(202);
    const second = await request(t.server)
      .post('/v1/separations')
      .attach('file', wav, 'short.wav')
      .expect(202);
    await waitForStatus(t, first.body.id, ['running'], 30_000);
    const waiting = (await request(t.server).get(`/v1/separations/${second.body.id}`).expect(200)).body;
    expect(waiting).toMatchObject({ status: 'queued', queuePosition: 1 });

    const canceled = await request(t.server).delete(`/v1/separations/${second.body.id}`).expect(200);
    expect(canceled.body.status).toBe('canceled');
    expect(canceled.body.error.code).toBe('JOB_CANCELED');
    expect(listFiles(`${t.storageDir}/uploads`).some((f) => f.endsWith(second.body.id))).toBe(false);

    const running = await request(t.server).delete(`/v1/separations/${first.body.id}`).expect(200);
    expect(running.body.status).toBe('canceled');
    // The engine stops at its next segment; the worker then frees the runner and leaves no files.
    const next = await request(t.server)
      .post('/v1/separations?wait=60')
      .attach('file', wav, 'after.wav')
      .expect(200);
    expect(next.body.status).toBe('succeeded');
    expect((await request(t.server).get(`/v1/separations/${first.body.id}`).expect(200)).body.status).toBe(
      'canceled',
    );
    expect(listFiles(`${t.storageDir}/results/${first.body.id}`)).toEqual([]);
    expect(listFiles(`${t.storageDir}/uploads`).some((f) => f.endsWith(first.body.id))).toBe(false);

    const done = (
      await request(t.server).post('/v1/separations?wait=60').attach('file', wav, 'd.wav').expect(200)
    ).body;
    const deleted = await request(t.server).delete(`/v1/separations/${done.id}`).expect(200);
    expect(deleted.body.status).toBe('succeeded');
    expect(deleted.body.filesDeletedAt).not.toBeNull();
    expect(deleted.body.stems).toEqual([]);
    expect(listFiles(`${t.storageDir}/results/${done.id}`)).toEqual([]);
    const gone = await request(t.server).get(`${done.links.self}/stems/center`).expect(410);
    expect(gone.body.code).toBe('RESULT_EXPIRED');
  });

  it('creates a batch and reports it', async () => {
    const res = await request(t.server)
      .post('/v1/separations/batch')
      .field('model', MODEL)
      .attach('files', wav, 'one.wav')
      .attach('files', mixtureWav(1), 'two.wav')
      .expect(202);
    expect(res.body).toMatchObject({
      object: 'batch',
      jobs: [{ input: { filename: 'one.wav' } }, { input: { filename: 'two.wav' } }],
    });
    const batch = await eventually(
      async () => {
        const b = (await request(t.server).get(`/v1/batches/${res.body.id}`).expect(200)).body;
        return b.status === 'completed' ? b : null;
      },
      60_000,
      100,
    );
    expect(batch.counts).toEqual({ queued: 0, running: 0, succeeded: 2, failed: 0, canceled: 0 });
    expect(batch.jobs.every((j: { batchId: string }) => j.batchId === res.body.id)).toBe(true);
    await request(t.server).get('/v1/batches/00000000-0000-4000-8000-000000000000').expect(404);
  });

  it('lists jobs newest first with cursor pagination and a status filter', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(t.server)
        .get('/v1/separations')
        .query({ limit: 3, ...(cursor ? { cursor } : {}) })
        .expect(200);
      expect(res.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.data.map((j: { id: string }) => j.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    const all = (await request(t.server).get('/v1/separations').query({ limit: 100 }).expect(200)).body.data;
    expect(seen).toEqual(all.map((j: { id: string }) => j.id));
    const times = all.map((j: { createdAt: string }) => Date.parse(j.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const canceled = (await request(t.server).get('/v1/separations?status=canceled').expect(200)).body.data;
    expect(canceled.length).toBeGreaterThan(0);
    expect(canceled.every((j: { status: string }) => j.status === 'canceled')).toBe(true);
    await request(t.server).get('/v1/separations?status=bogus').expect(422);
    await request(t.server).get('/v1/separations?cursor=!!').expect(422);
  });

  it('answers 404 JOB_NOT_FOUND for unknown ids', async () => {
    const res = await request(t.server)
      .get('/v1/separations/00000000-0000-4000-8000-000000000000')
      .expect(404);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'JOB_NOT_FOUND', status: 404, requestId: expect.any(String) });
    await request(t.server).get('/v1/separations/not-a-uuid').expect(404);
    await request(t.server).delete('/v1/separations/not-a-uuid').expect(404);
    await request(t.server).get('/v1/separations/00000000-0000-4000-8000-000000000000/events').expect(404);
  });
});

describe('Separations API: ownership (e2e)', () => {
  let t: TestApp;
  const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef';

  beforeAll(async () => {
    t = await startTestApp({
      config: { api_key: ADMIN_KEY, security: { rate_limit: { limit: 100_000 } } },
      overrides: engineOverrides(),
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function userKey(name: string): Promise<string> {
    const res = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', ADMIN_KEY)
      .send({ name, role: 'user' });
    expect(res.status).toBe(201);
    return res.body.token ?? res.body.key ?? res.body.secret;
  }

  it("hides other users' jobs (404) while admins see all", async () => {
    const alice = await userKey('alice');
    const bob = await userKey('bob');
    const job = (
      await request(t.server)
        .post('/v1/separations')
        .set('X-API-KEY', alice)
        .attach('file', mixtureWav(1), 'a.wav')
        .expect(202)
    ).body;
    await request(t.server).get(`/v1/separations/${job.id}`).set('X-API-KEY', alice).expect(200);
    const other = await request(t.server).get(`/v1/separations/${job.id}`).set('X-API-KEY', bob).expect(404);
    expect(other.body.code).toBe('JOB_NOT_FOUND');
    await request(t.server).delete(`/v1/separations/${job.id}`).set('X-API-KEY', bob).expect(404);
    const bobList = (await request(t.server).get('/v1/separations').set('X-API-KEY', bob).expect(200)).body
      .data;
    expect(bobList).toEqual([]);
    const adminList = (await request(t.server).get('/v1/separations').set('X-API-KEY', ADMIN_KEY).expect(200))
      .body.data;
    expect(adminList.map((j: { id: string }) => j.id)).toContain(job.id);
    await request(t.server).get('/v1/separations').expect(401);
  });

  it('enforces the per-user concurrent-job quota with 429 QUOTA_EXCEEDED', async () => {
    const limited = await startTestApp({
      config: {
        api_key: ADMIN_KEY,
        ...NO_CACHE,
        security: { rate_limit: { limit: 100_000 }, quotas: { max_concurrent_jobs: 1 } },
        queue: { concurrency: 1 },
      },
      overrides: engineOverrides(),
    });
    try {
      const res = await request(limited.server)
        .post('/v1/admin/api-keys')
        .set('X-API-KEY', ADMIN_KEY)
        .send({ name: 'carol', role: 'user' });
      const carol = res.body.token ?? res.body.key ?? res.body.secret;
      const first = await request(limited.server)
        .post('/v1/separations')
        .set('X-API-KEY', carol)
        .attach('file', mixtureWav(120), 'q1.wav')
        .expect(202);
      const second = await request(limited.server)
        .post('/v1/separations')
        .set('X-API-KEY', carol)
        .attach('file', mixtureWav(1), 'q2.wav');
      expect({ status: second.status, code: second.body.code }).toEqual({
        status: 429,
        code: 'QUOTA_EXCEEDED',
      });
      expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
      // The slot comes back when the first job ends (here: canceled).
      await request(limited.server)
        .delete(`/v1/separations/${first.body.id}`)
        .set('X-API-KEY', carol)
        .expect(200);
      await eventually(
        async () => {
          const r = await request(limited.server)
            .post('/v1/separations')
            .set('X-API-KEY', carol)
            .attach('file', mixtureWav(1), 'q3.wav');
          return r.status === 202;
        },
        10_000,
        100,
      );
      expect(listFiles(limited.scratchDir).filter((f) => f.endsWith('.upload'))).toEqual([]);
    } finally {
      await limited.close();
    }
  });
});

describe('Separations API: retention (e2e)', () => {
  it('deletes the files of finished jobs after storage.retention_hours; the job stays, downloads answer 410', async () => {
    // ~0.4 s retention, cleanup every ~0.3 s.
    const t = await startTestApp({
      config: {
        ...OPEN_AUTH,
        ...NO_CACHE,
        storage: { retention_hours: 0.0001, cleanup_interval_min: 0.005 },
      },
      overrides: engineOverrides(),
    });
    try {
      const job = (
        await request(t.server)
          .post('/v1/separations?wait=60')
          .attach('file', mixtureWav(1), 'old.wav')
          .expect(200)
      ).body;
      expect(job.expiresAt).not.toBeNull();
      const expired = await eventually(
        async () => {
          const j = (await request(t.server).get(`/v1/separations/${job.id}`).expect(200)).body;
          return j.filesDeletedAt ? j : null;
        },
        15_000,
        100,
      );
      expect(expired).toMatchObject({ status: 'succeeded', stems: [] });
      expect(listFiles(`${t.storageDir}/results/${job.id}`)).toEqual([]);
      const gone = await request(t.server).get(`${job.links.self}/stems/center`).expect(410);
      expect(gone.body.code).toBe('RESULT_EXPIRED');
      await request(t.server).get(job.links.archive).expect(410);
    } finally {
      await t.close();
    }
  });
});

describe('Separations API: result cache (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      config: { ...OPEN_AUTH, cache: { enabled: true } },
      overrides: engineOverrides(),
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('completes a repeated request at once from the cache, with identical stems', async () => {
    const wav = mixtureWav(2);
    const first = (
      await request(t.server).post('/v1/separations?wait=60').attach('file', wav, 'one.wav').expect(200)
    ).body;
    expect(first).toMatchObject({ status: 'succeeded', cached: false });
    const again = await request(t.server).post('/v1/separations').attach('file', wav, 'two.wav').expect(200);
    expect(again.body).toMatchObject({ status: 'succeeded', cached: true, progress: 100 });
    expect(again.body.id).not.toBe(first.id);
    // The analysis comes with the cached result.
    expect(first.analysis).toMatchObject({ empty: false });
    expect(again.body.analysis).toEqual(first.analysis);
    for (const stem of first.stems) {
      expect(stem.analysis).toMatchObject({ empty: expect.any(Boolean) });
      expect(again.body.stems.find((s: { name: string }) => s.name === stem.name).analysis).toEqual(
        stem.analysis,
      );
    }
    for (const stem of first.stems) {
      const a = await download(t, stem.url);
      const b = await download(t, again.body.stems.find((s: { name: string }) => s.name === stem.name).url);
      expect(Buffer.compare(a.body, b.body)).toBe(0);
    }
    // An output-affecting option changes the key: no hit.
    const other = await request(t.server)
      .post('/v1/separations')
      .field('stems', 'center')
      .attach('file', wav, 'three.wav');
    expect(other.body.cached).toBe(false);
  });
});

describe('Separations API: callbacks (e2e)', () => {
  const SECRET = 'callback-secret-for-tests';
  let t: TestApp;
  let receiver: http.Server;
  let receiverUrl: string;
  const deliveries: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let failFirst = true;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body });
        if (failFirst) {
          failFirst = false;
          res.statusCode = 503;
        }
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    t = await startTestApp({
      config: {
        ...OPEN_AUTH,
        ...NO_CACHE,
        callbacks: { secret: SECRET, allow_private: true, max_attempts: 3 },
      },
      overrides: engineOverrides(),
    });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((r) => receiver?.close(r));
  });

  it('POSTs the final job JSON with a valid HMAC signature, retrying after a failure', async () => {
    const job = (
      await request(t.server)
        .post('/v1/separations')
        .field('callbackUrl', receiverUrl)
        .attach('file', mixtureWav(1), 'cb.wav')
        .expect(202)
    ).body;
    expect(job.callback).toEqual({ url: receiverUrl, status: 'pending', attempts: 0 });
    await eventually(() => deliveries.length >= 2, 30_000);
    const [first, second] = deliveries;
    expect(first.headers['x-spleeter-attempt']).toBe('1');
    expect(second.headers['x-spleeter-attempt']).toBe('2');
    expect(second.headers['x-spleeter-delivery']).toBe(first.headers['x-spleeter-delivery']);
    expect(second.headers['x-spleeter-event']).toBe('separation.succeeded');
    expect(
      verifyCallbackSignature(SECRET, second.headers['x-spleeter-signature'] as string, second.body),
    ).toBe(true);
    expect(
      verifyCallbackSignature('wrong-secret', second.headers['x-spleeter-signature'] as string, second.body),
    ).toBe(false);
    const payload = JSON.parse(second.body);
    expect(payload).toMatchObject({ id: job.id, status: 'succeeded' });
    expect(payload.stems).toHaveLength(2);
    const final = await eventually(async () => {
      const j = (await request(t.server).get(`/v1/separations/${job.id}`).expect(200)).body;
      return j.callback.status === 'delivered' ? j : null;
    });
    expect(final.callback.attempts).toBe(2);
  });

  it('refuses callback URLs that resolve to private addresses unless allowed', async () => {
    const strict = await startTestApp({
      config: { ...OPEN_AUTH, callbacks: { secret: SECRET, allow_private: false } },
      overrides: engineOverrides(),
    });
    try {
      for (const url of [
        'http://127.0.0.1:9/x',
        'http://localhost/x',
        'http://10.1.2.3/x',
        'http://169.254.169.254/latest',
        'http://[::1]/x',
      ]) {
        const res = await request(strict.server)
          .post('/v1/separations')
          .field('callbackUrl', url)
          .attach('file', mixtureWav(1), 'p.wav');
        expect({ url, status: res.status, code: res.body.code }).toEqual({
          url,
          status: 422,
          code: 'CALLBACK_URL_REJECTED',
        });
      }
      const ftp = await request(strict.server)
        .post('/v1/separations')
        .field('callbackUrl', 'ftp://example.com/x')
        .attach('file', mixtureWav(1), 'p.wav');
      expect(ftp.status).toBe(422);
      expect(listFiles(strict.scratchDir)).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});

function unzip(buf: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}
