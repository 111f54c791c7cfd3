/**
 * Bad input against the separations API: each case gets its documented status and problem code,
 * the server stays up, and no scratch file is left behind.
 */
import { promises as fsp } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import { EngineService } from '../../src/modules/engine/engine.service';
import { FakeEngineService } from '../support/fake-engine';
import { encodeWithFfmpeg } from '../factories/audio';
import { eventually, listFiles, serverPathsIn, startTestApp, type TestApp } from '../factories/app';
import { engineOverrides, mixture, mixtureWav, MODEL } from './separations-support';

jest.setTimeout(120_000);

const BASE = { security: { auth_enabled: false, rate_limit: { limit: 100_000 } }, cache: { enabled: false } };

function expectProblem(res: request.Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    status,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(res.body.requestId).toEqual(expect.any(String));
}

describe('Separations API: bad input (e2e)', () => {
  let t: TestApp;
  let tmp: string;
  let mp3: Buffer;

  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sep-bad-'));
    mp3 = await fsp.readFile(await encodeWithFfmpeg(mixture(4), path.join(tmp, 'mix.mp3'), 'mp3'));
    t = await startTestApp({
      config: {
        ...BASE,
        audio: { max_upload_mb: 2, max_duration_s: 30 },
        queue: { concurrency: 1, capacity: 50 },
      },
      overrides: engineOverrides(),
    });
  });
  afterEach(async () => {
    // Every request has completed: nothing may stay in the scratch area (jobs may still run there).
    await eventually(() => listFiles(t.scratchDir).filter((f) => f.endsWith('.upload')).length === 0, 5000);
  });
  afterAll(async () => {
    await t?.close();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  const post = () => request(t.server).post('/v1/separations');

  it('empty file → 422 EMPTY_AUDIO', async () => {
    expectProblem(await post().attach('file', Buffer.alloc(0), 'empty.wav'), 422, 'EMPTY_AUDIO');
  });

  it('text file named .wav → 415 UNSUPPORTED_AUDIO (content decides, not the name or Content-Type)', async () => {
    const res = await post().attach('file', Buffer.from('hello, I am not audio\n'.repeat(100)), {
      filename: 'song.wav',
      contentType: 'audio/wav',
    });
    expectProblem(res, 415, 'UNSUPPORTED_AUDIO');
  });

  it('corrupt FLAC → 422 CORRUPT_AUDIO whose body names no server path (ffmpeg quotes the scratch file)', async () => {
    // The FLAC signature, then bytes no decoder accepts: the sniffer routes it to ffmpeg, which fails.
    const body = Buffer.alloc(4000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 255;
    body.write('fLaC', 0, 'latin1');
    const res = await post().attach('file', body, 'broken.flac');
    expectProblem(res, 422, 'CORRUPT_AUDIO');
    expect(res.body.detail).toMatch(/could not be decoded/);
    expect(serverPathsIn(res.text, t.dir, t.storageDir, os.tmpdir())).toEqual([]);
  });

  it('MP3 truncated inside its first frame → 422 CORRUPT_AUDIO', async () => {
    const res = await post().attach('file', mp3.subarray(0, 300), 'cut.mp3');
    expect(res.status).toBe(422);
    expect(['CORRUPT_AUDIO', 'EMPTY_AUDIO']).toContain(res.body.code);
  });

  it('MP3 truncated half-way → CORRUPT_AUDIO: at upload when the probe sees it, else the job fails with it', async () => {
    // The probe reads the declared duration (Xing header); only decoding finds the missing half.
    const res = await post()
      .query({ wait: 60 })
      .attach('file', mp3.subarray(0, mp3.length >> 1), 'half.mp3');
    if (res.status === 422) {
      expectProblem(res, 422, 'CORRUPT_AUDIO');
      return;
    }
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'CORRUPT_AUDIO' }, stems: [] });
    expect(listFiles(path.join(t.storageDir, 'results', res.body.id))).toEqual([]);
    expect(listFiles(path.join(t.storageDir, 'uploads')).some((f) => f.endsWith(res.body.id))).toBe(false);
  });

  it('0-byte multipart body → 422 VALIDATION_FAILED', async () => {
    const res = await post().set('Content-Type', 'multipart/form-data; boundary=xyz').send('');
    expectProblem(res, 422, 'VALIDATION_FAILED');
    const cut = await post()
      .set('Content-Type', 'multipart/form-data; boundary=xyz')
      .send('--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF');
    expectProblem(cut, 422, 'VALIDATION_FAILED');
  });

  it('missing file, wrong field name, or not multipart → 422 VALIDATION_FAILED', async () => {
    expectProblem(await post().field('model', MODEL), 422, 'VALIDATION_FAILED');
    expectProblem(await post().attach('audio', mixtureWav(1), 'a.wav'), 422, 'VALIDATION_FAILED');
    expectProblem(await post().send({ model: MODEL }), 422, 'VALIDATION_FAILED');
    expectProblem(
      await post().attach('file', mixtureWav(1), 'a.wav').attach('file', mixtureWav(1), 'b.wav'),
      422,
      'VALIDATION_FAILED',
    );
  });

  it('unknown model → 404 MODEL_NOT_INSTALLED; unknown stem → 422 UNKNOWN_STEM', async () => {
    expectProblem(
      await post().field('model', 'nope:nothing').attach('file', mixtureWav(1), 'a.wav'),
      404,
      'MODEL_NOT_INSTALLED',
    );
    expectProblem(
      await post().field('model', '../../etc/passwd').attach('file', mixtureWav(1), 'a.wav'),
      422,
      'VALIDATION_FAILED',
    );
    const stem = await post().field('stems', 'vocals').attach('file', mixtureWav(1), 'a.wav');
    expectProblem(stem, 422, 'UNKNOWN_STEM');
    expect(stem.body.available).toEqual(['center', 'sides']);
  });

  it('negative or non-numeric duration, bad codec, unknown option → 422 VALIDATION_FAILED naming the field', async () => {
    const neg = await post().field('duration', '-1').attach('file', mixtureWav(1), 'a.wav');
    expectProblem(neg, 422, 'VALIDATION_FAILED');
    expect(neg.body.errors.join(' ')).toMatch(/duration/);
    expectProblem(
      await post().field('offset', 'abc').attach('file', mixtureWav(1), 'a.wav'),
      422,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await post().field('codec', 'aiff').attach('file', mixtureWav(1), 'a.wav'),
      422,
      'VALIDATION_FAILED',
    );
    const unknown = await post().field('turbo', 'yes').attach('file', mixtureWav(1), 'a.wav');
    expectProblem(unknown, 422, 'VALIDATION_FAILED');
    expect(unknown.body.errors.join(' ')).toMatch(/turbo/);
    expectProblem(
      await post().field('offset', '5').attach('file', mixtureWav(1), 'a.wav'),
      422,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await post().query({ wait: 9999 }).attach('file', mixtureWav(1), 'a.wav'),
      422,
      'VALIDATION_FAILED',
    );
  });

  it('audio longer than audio.max_duration_s → 422 DURATION_LIMIT (probed, not decoded)', async () => {
    const res = await post().attach('file', mixtureWav(11.9), 'long.wav');
    expect(res.status).toBe(413); // 11.9 s of 16-bit stereo is over the 2 MiB upload limit
    const limited = await startTestApp({
      config: { ...BASE, audio: { max_duration_s: 2 } },
      overrides: engineOverrides(),
    });
    try {
      const dur = await request(limited.server)
        .post('/v1/separations')
        .attach('file', mixtureWav(3), 'three.wav');
      expectProblem(dur, 422, 'DURATION_LIMIT');
      expect(dur.body.limit).toBe(2);
      expect(listFiles(limited.scratchDir)).toEqual([]);
    } finally {
      await limited.close();
    }
  });

  it('upload over audio.max_upload_mb → 413 FILE_TOO_LARGE', async () => {
    const big = Buffer.concat([mixtureWav(1), Buffer.alloc(2.5 * 1024 * 1024)]);
    expectProblem(await post().attach('file', big, 'big.wav'), 413, 'FILE_TOO_LARGE');
  });

  it('huge declared Content-Length → 413 FILE_TOO_LARGE before the body is read', async () => {
    const url = new URL(await listenUrl(t));
    const res = await new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>(
      (resolve, reject) => {
        const req = http.request({
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/v1/separations',
          headers: {
            'Content-Type': 'multipart/form-data; boundary=b',
            'Content-Length': String(50 * 1024 ** 3),
          },
        });
        req.on('response', (r) => {
          let body = '';
          r.on('data', (c) => (body += c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body, headers: r.headers }));
        });
        req.on('error', reject);
        req.write('--b\r\nContent-Disposition: form-data; name="file"; filename="x.wav"\r\n\r\n');
      },
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).code).toBe('FILE_TOO_LARGE');
    expect(res.headers.connection).toBe('close');
  });

  it('path-traversal file names never touch the filesystem', async () => {
    const marker = `evil-${Date.now()}.wav`;
    for (const name of [`../../../../../tmp/${marker}`, `..\\..\\${marker}`, `/etc/${marker}`]) {
      const res = await post().attach('file', mixtureWav(1), name).expect(202);
      expect(res.body.input.filename).toBe(marker);
    }
    expect(await exists(path.join('/tmp', marker))).toBe(false);
    expect(await exists(path.join('/etc', marker))).toBe(false);
    const stored = listFiles(t.storageDir).map((f) => path.basename(f));
    expect(stored.some((f) => f.includes('evil'))).toBe(false);
  });

  it('a disallowed format (by content) → 415 UNSUPPORTED_AUDIO', async () => {
    const onlyWav = await startTestApp({
      config: { ...BASE, audio: { allowed_formats: ['wav'] } },
      overrides: engineOverrides(),
    });
    try {
      expectProblem(
        await request(onlyWav.server).post('/v1/separations').attach('file', mp3, 'looks.wav'),
        415,
        'UNSUPPORTED_AUDIO',
      );
    } finally {
      await onlyWav.close();
    }
  });

  it('the server is still up and answering', async () => {
    await request(t.server).get('/v1/separations').expect(200);
  });
});

describe('Separations API: capacity (e2e)', () => {
  it('100 concurrent uploads beyond capacity: 202 or 503 QUEUE_FULL with Retry-After; nothing left over', async () => {
    const t = await startTestApp({
      config: { ...BASE, queue: { concurrency: 1, capacity: 3 } },
      overrides: engineOverrides(),
      listen: true,
    });
    try {
      // Keep the runner busy so the waiting line fills up.
      await request(t.server).post('/v1/separations').attach('file', mixtureWav(120), 'busy.wav').expect(202);
      const wav = mixtureWav(1);
      const responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          request(t.url).post('/v1/separations').attach('file', wav, `c${i}.wav`),
        ),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.every((s) => s === 202 || s === 503)).toBe(true);
      const refused = responses.filter((r) => r.status === 503);
      expect(refused.length).toBeGreaterThanOrEqual(100 - 3);
      for (const r of refused) {
        expect(r.body.code).toBe('QUEUE_FULL');
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
      const accepted = responses.filter((r) => r.status === 202).map((r) => r.body.id);
      // Refused uploads left no row and no file behind.
      const listed = (await request(t.server).get('/v1/separations?limit=100').expect(200)).body.data;
      expect(listed).toHaveLength(accepted.length + 1);
      for (const id of [
        ...accepted,
        listed.find((j: { input: { filename: string } }) => j.input.filename === 'busy.wav').id,
      ]) {
        await request(t.server).delete(`/v1/separations/${id}`).expect(200);
      }
      await eventually(async () => {
        const jobs = (await request(t.server).get('/v1/separations?status=queued,running').expect(200)).body
          .data;
        return jobs.length === 0 && listFiles(t.scratchDir).length === 0;
      }, 30_000);
      expect(listFiles(path.join(t.storageDir, 'uploads'))).toEqual([]);
      await request(t.server).get('/v1/separations').expect(200);
    } finally {
      await t.close();
    }
  });
});

describe('Separations API: unexpected errors (e2e)', () => {
  it('answers 500 INTERNAL with an error id and leaks nothing internal', async () => {
    const broken = new FakeEngineService();
    broken.resolveModel = async () => {
      throw new Error('pg password=hunter2 at /srv/secret/config.ts:42');
    };
    const t = await startTestApp({ config: BASE, overrides: [{ provide: EngineService, useValue: broken }] });
    try {
      const res = await request(t.server).post('/v1/separations').attach('file', mixtureWav(1), 'a.wav');
      expectProblem(res, 500, 'INTERNAL');
      expect(res.body.errorId).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(res.body)).not.toMatch(/hunter2|\/srv\/secret|config\.ts|at /);
      expect(listFiles(t.scratchDir)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('a job that fails in the engine is `failed` with the code and a message without server paths', async () => {
    const failing = new FakeEngineService();
    failing.separate = async (params) => {
      const { AudioProcessingError, ErrorCodes } = await import('../../src/core/errors');
      throw new AudioProcessingError(
        ErrorCodes.CORRUPT_AUDIO,
        `Cannot decode ${params.audioPath}: invalid frame`,
      );
    };
    const t = await startTestApp({
      config: BASE,
      overrides: [{ provide: EngineService, useValue: failing }],
    });
    try {
      const res = await request(t.server)
        .post('/v1/separations?wait=30')
        .attach('file', mixtureWav(1), 'a.wav')
        .expect(200);
      expect(res.body.status).toBe('failed');
      expect(res.body.error.code).toBe('CORRUPT_AUDIO');
      expect(res.body.error.message).not.toContain(t.storageDir);
      expect(res.body.stems).toEqual([]);
      await request(t.server).get(`/v1/separations/${res.body.id}/stems/center`).expect(409);
      expect(listFiles(path.join(t.storageDir, 'uploads'))).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(
    () => true,
    () => false,
  );
}

/** A listening URL for raw-socket cases (supertest's in-process server is not listening). */
async function listenUrl(t: TestApp): Promise<string> {
  if (t.url) return t.url;
  if (!t.server.listening) await new Promise<void>((r) => t.server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(t.server.address() as { port: number }).port}`;
}
