/**
 * /v1/models and /v1/admin/models over HTTP against the real application: catalog served from a
 * local HTTP server (models.catalog_file points there), installs as 202 operations with SSE
 * progress, versions, validation, uploads, errors as problem+json, and the admin role.
 */
import { promises as fs } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import request from 'supertest';
import { stringify as toYaml } from 'yaml';
import { ModelManager } from '../../src/engine/models/model-manager';
import { startTestApp, eventually, type TestApp } from '../factories/app';
import {
  HAVE_BZIP2,
  TestFileServer,
  filesToEntries,
  sha256,
  sherpaEntry,
  sherpaStyleFiles,
  tarBz2,
  tarGz,
} from '../integration/models-fixtures';

jest.setTimeout(120_000);

const NAME = 'sherpa:test-2stems';
const BROKEN = 'sherpa:broken';
const ADMIN_KEY = 'admin-key-0123456789abcdef';

let server: TestFileServer;
let work: string;
let catalogFile: string;
let archive: Buffer;

beforeAll(async () => {
  server = await TestFileServer.start();
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'models-e2e-'));
  const pack = HAVE_BZIP2 ? tarBz2 : tarGz;
  const ext = HAVE_BZIP2 ? 'tar.bz2' : 'tar.gz';
  archive = pack(filesToEntries(sherpaStyleFiles(), 'sherpa-onnx-spleeter-2stems'));
  const url = server.serve(`/releases/sherpa.${ext}`, { body: archive, chunkDelayMs: 0 });
  catalogFile = path.join(work, 'catalog.yaml');
  await fs.writeFile(
    catalogFile,
    toYaml({
      catalog_version: 42,
      models: [
        sherpaEntry(NAME, url, { sha256: sha256(archive) }),
        sherpaEntry(BROKEN, url, { sha256: '0'.repeat(64) }),
      ],
    }),
  );
});
afterAll(async () => {
  await server.close();
  await fs.rm(work, { recursive: true, force: true });
});

function modelsConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    security: { auth_enabled: false, rate_limit: { limit: 100_000 } },
    models: { catalog_file: catalogFile, download_timeout_s: 5 },
    ...extra,
  };
}

/** Reads an SSE stream until the server closes it; returns [event, data] pairs. */
function readSse(
  url: string,
): Promise<{ event: string; data: { status: string; progress: { fraction: number } } }[]> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SSE status ${res.statusCode}`));
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (buf += c));
        res.on('end', () => {
          const events = buf
            .split('\n\n')
            .filter((b) => b.trim())
            .map((block) => {
              const lines = block.split('\n');
              const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
              const data = JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6));
              return { event, data };
            });
          resolve(events);
        });
      })
      .on('error', reject);
  });
}

describe('Models API (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ config: modelsConfig(), listen: true });
  });
  afterAll(async () => {
    await t.close();
  });

  it('lists catalog and built-in models with install state', async () => {
    const res = await request(t.server).get('/v1/models').expect(200);
    expect(res.body.catalogVersion).toBe(42);
    const byName = Object.fromEntries(res.body.items.map((m: { name: string }) => [m.name, m]));
    expect(byName[NAME]).toMatchObject({
      installed: false,
      activeVersion: null,
      versions: [],
      stems: ['vocals', 'accompaniment'],
    });
    expect(byName['builtin:center']).toMatchObject({
      installed: true,
      kind: 'builtin',
      activeVersion: 'builtin',
    });
    const installed = await request(t.server).get('/v1/models?installed=true').expect(200);
    expect(installed.body.items.map((m: { name: string }) => m.name).sort()).toEqual([
      'builtin:center',
      'builtin:hpss',
    ]);
    await request(t.server).get('/v1/models?installed=maybe').expect(422);
  });

  it('answers an unknown model with 404 problem+json MODEL_NOT_INSTALLED', async () => {
    const res = await request(t.server).get('/v1/models/nope:model').expect(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'MODEL_NOT_INSTALLED', status: 404 });
  });

  it('installs asynchronously (202 + Location), streams progress over SSE, then serves the model', async () => {
    const res = await request(t.server).post(`/v1/admin/models/${NAME}/install`).send({}).expect(202);
    expect(res.headers.location).toBe(`/v1/admin/models/installs/${res.body.id}`);
    expect(res.body).toMatchObject({
      model: NAME,
      links: { events: `/v1/admin/models/installs/${res.body.id}/events` },
    });
    const events = await readSse(`${t.url}${res.body.links.events}`);
    const last = events[events.length - 1];
    expect(last.event).toBe('succeeded');
    expect(last.data).toMatchObject({
      status: 'succeeded',
      version: 'v1',
      installed: true,
      progress: { fraction: 1 },
    });
    expect(events.slice(0, -1).every((e) => e.event === 'progress')).toBe(true);

    const op = await request(t.server).get(res.body.links.self).expect(200);
    expect(op.body).toMatchObject({ status: 'succeeded', version: 'v1' });
    // A finished operation's stream replays the final state and closes.
    expect((await readSse(`${t.url}${res.body.links.events}`)).map((e) => e.event)).toEqual(['succeeded']);

    const model = await request(t.server).get(`/v1/models/${NAME}`).expect(200);
    expect(model.body).toMatchObject({ installed: true, activeVersion: 'v1' });
    expect(model.body.versions[0]).toMatchObject({
      id: 'v1',
      sha256: sha256(archive),
      validation: 'valid',
      inUse: 0,
    });
  });

  it('reports a failed install in the operation (checksum mismatch), leaving the model uninstalled', async () => {
    const res = await request(t.server).post(`/v1/admin/models/${BROKEN}/install`).send({}).expect(202);
    const op = await eventually(async () => {
      const r = await request(t.server).get(res.body.links.self).expect(200);
      return r.body.status === 'failed' ? r.body : null;
    });
    expect(op.error).toMatchObject({ code: 'MODEL_CHECKSUM_MISMATCH' });
    expect((await request(t.server).get(`/v1/models/${BROKEN}`).expect(200)).body.installed).toBe(false);
  });

  it('manages versions: force install, activate, rollback, validate, delete (409 while in use)', async () => {
    const second = await request(t.server)
      .post(`/v1/admin/models/${NAME}/install`)
      .send({ force: true })
      .expect(202);
    await eventually(
      async () => (await request(t.server).get(second.body.links.self)).body.status === 'succeeded',
    );
    expect((await request(t.server).get(`/v1/models/${NAME}`)).body.activeVersion).toBe('v2');

    const activated = await request(t.server)
      .post(`/v1/admin/models/${NAME}/versions/v1/activate`)
      .expect(200);
    expect(activated.body.activeVersion).toBe('v1');
    const rolledBack = await request(t.server).post(`/v1/admin/models/${NAME}/rollback`).expect(200);
    expect(rolledBack.body.activeVersion).toBe('v2');

    const report = await request(t.server).post(`/v1/admin/models/${NAME}/versions/v1/validate`).expect(200);
    expect(report.body).toMatchObject({ name: NAME, version: 'v1', valid: true, corrupted: false });
    expect(report.body.checks.length).toBeGreaterThan(3);

    const lease = await t.get(ModelManager).acquire(NAME);
    const busy = await request(t.server).delete(`/v1/admin/models/${NAME}/versions/v2`).expect(409);
    expect(busy.body).toMatchObject({ code: 'MODEL_IN_USE' });
    expect(
      (await request(t.server).get(`/v1/models/${NAME}`)).body.versions.find(
        (v: { id: string }) => v.id === 'v2',
      ).inUse,
    ).toBe(1);
    await lease.release();
    const removed = await request(t.server).delete(`/v1/admin/models/${NAME}/versions/v2`).expect(200);
    expect(removed.body).toEqual({ name: NAME, removed: ['v2'], activeVersion: 'v1' });
    await request(t.server).delete(`/v1/admin/models/${NAME}/versions/v7`).expect(404);
    await request(t.server).post(`/v1/admin/models/${NAME}/versions/v7/activate`).expect(404);
  });

  it('validates request bodies (422) and unknown install operations (404)', async () => {
    const bad = await request(t.server)
      .post(`/v1/admin/models/${NAME}/install`)
      .send({ force: 'yes' })
      .expect(422);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    await request(t.server).post(`/v1/admin/models/${NAME}/install`).send({ unknown: 1 }).expect(422);
    await request(t.server).get('/v1/admin/models/installs/00000000-0000-0000-0000-000000000000').expect(404);
    await request(t.server).post('/v1/admin/models/nope:model/install').send({}).expect(404);
  });

  it('accepts an uploaded custom ONNX model with a manifest, and refuses an invalid one', async () => {
    const manifest = {
      name: 'custom:upload',
      kind: 'spleeter',
      stems: ['vocals', 'accompaniment'],
      spleeter: {
        F: 1024,
        architecture: 'unet',
        conv_activation: 'leaky_relu',
        deconv_activation: 'relu',
        files: { vocals: 'vocals.onnx', accompaniment: 'accompaniment.onnx' },
      },
    };
    const files = sherpaStyleFiles();
    let req = request(t.server).post('/v1/admin/models').field('manifest', JSON.stringify(manifest));
    for (const [name, bytes] of files) req = req.attach('files', Buffer.from(bytes), name);
    const created = await req.expect(201);
    expect(created.body).toMatchObject({
      name: 'custom:upload',
      source: 'custom',
      installed: true,
      activeVersion: 'v1',
    });
    expect(created.body.versions[0]).toMatchObject({ origin: 'upload', validation: 'valid' });

    const invalid = await request(t.server)
      .post('/v1/admin/models')
      .field('manifest', JSON.stringify({ ...manifest, name: 'custom:bad', kind: 'mdx' }))
      .attach('files', Buffer.from(files.get('vocals.onnx')!), 'vocals.onnx')
      .expect(422);
    expect(invalid.body.code).toBe('VALIDATION_FAILED');
    const garbage = await request(t.server)
      .post('/v1/admin/models')
      .field('manifest', JSON.stringify({ ...manifest, name: 'custom:garbage' }))
      .attach('files', Buffer.from('not an onnx file'), 'vocals.onnx')
      .attach('files', Buffer.from(files.get('accompaniment.onnx')!), 'accompaniment.onnx')
      .expect(422);
    expect(garbage.body.code).toBe('MODEL_INVALID');
    // Multer's temporary files are gone whatever the outcome.
    const uploads = path.join(t.dir, 'models', '.tmp', 'uploads');
    expect(await fs.readdir(uploads).catch(() => [])).toEqual([]);
  });
});

describe('Models API authorisation (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      config: { ...modelsConfig(), security: { auth_enabled: true }, api_key: ADMIN_KEY },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('requires credentials, lets users read and reserves /v1/admin/models for admins', async () => {
    await request(t.server).get('/v1/models').expect(401);
    const key = await request(t.server)
      .post('/v1/admin/api-keys')
      .set('X-API-KEY', ADMIN_KEY)
      .send({ name: 'reader', role: 'user' })
      .expect(201);
    const user = key.body.key as string;
    await request(t.server).get('/v1/models').set('X-API-KEY', user).expect(200);
    await request(t.server).get('/v1/models/builtin:hpss').set('X-API-KEY', user).expect(200);
    const denied = await request(t.server)
      .post(`/v1/admin/models/${NAME}/install`)
      .set('X-API-KEY', user)
      .send({})
      .expect(403);
    expect(denied.body.code).toBe('FORBIDDEN');
    await request(t.server).delete(`/v1/admin/models/${NAME}/versions/v1`).set('X-API-KEY', user).expect(403);
    const op = await request(t.server)
      .post(`/v1/admin/models/${NAME}/install`)
      .set('X-API-KEY', ADMIN_KEY)
      .send({})
      .expect(202);
    await eventually(async () => {
      const r = await request(t.server).get(op.body.links.self).set('X-API-KEY', ADMIN_KEY).expect(200);
      return r.body.status === 'succeeded';
    });
  });
});
