/**
 * MDX-Net options over HTTP: `overlap` and `denoise` reach the engine and change the stems exactly
 * as the library's MdxSeparator does with the same options, are echoed in the job JSON, are part
 * of the result-cache key, are validated (422 VALIDATION_FAILED) and refused for other models
 * (422 OPTION_NOT_SUPPORTED); `sampleRate=44100` gives UVR's output rate untouched.
 * Needs the real engine (an uploaded MDX-Net model runs in the worker threads).
 */
import * as fs from 'fs';
import * as path from 'path';
import request from 'supertest';
import { openAudioInput } from '../../src/core/audio/audio-input';
import { startTestApp, type TestApp } from '../factories/app';
import { collect } from '../factories/audio';
import {
  buildMdxRampOnnx,
  maxAbsDiff,
  mdxUploadManifest,
  SMALL_MDX_PARAMS,
  separateWithMdx,
} from '../factories/mdx-models';
import { binaryParser, decodeWav, ENGINE_KIND, mixture, writeWav16 } from './separations-support';

jest.setTimeout(180_000);

const MDX = 'custom:mdx-ramp';
const RAMP = { gain: 0.5 };
const OPEN_AUTH = { security: { auth_enabled: false, rate_limit: { limit: 100_000 } } };

const describeReal = ENGINE_KIND === 'real' ? describe : describe.skip;
if (ENGINE_KIND !== 'real')
  console.warn('[skip] MDX-Net e2e needs the real engine (SPLEETER_E2E_ENGINE=fake)');

describeReal('Separations API: MDX-Net options (e2e)', () => {
  let t: TestApp;
  const input = mixture(3);
  const wav = writeWav16(input);
  /** What the engine decodes the 16-bit upload to. */
  let decoded: Float32Array;

  beforeAll(async () => {
    t = await startTestApp({
      config: { ...OPEN_AUTH, cache: { enabled: true }, queue: { concurrency: 1, capacity: 50 } },
    });
    await request(t.server)
      .post('/v1/admin/models')
      .field('manifest', JSON.stringify(mdxUploadManifest(MDX)))
      .attach('files', Buffer.from(buildMdxRampOnnx(SMALL_MDX_PARAMS, RAMP)), 'ramp.onnx')
      .expect(201);
    const file = path.join(t.dir, 'input.wav');
    await fs.promises.writeFile(file, wav);
    decoded = await collect((await openAudioInput(file)).stream());
  });
  afterAll(async () => {
    await t?.close();
  });

  async function separate(fields: Record<string, string>, name = 'song.wav') {
    let req = request(t.server).post('/v1/separations?wait=60');
    for (const [k, v] of Object.entries({ model: MDX, bitDepth: '32', ...fields })) req = req.field(k, v);
    const res = await req.attach('file', wav, name);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    return res.body as {
      id: string;
      cached: boolean;
      options: Record<string, unknown>;
      stems: Array<{ name: string; url: string }>;
    };
  }

  async function stems(job: { stems: Array<{ name: string; url: string }> }) {
    const out = new Map<string, { sampleRate: number; data: Float32Array }>();
    for (const s of job.stems) {
      const res = await request(t.server)
        .get(s.url)
        .buffer(true)
        .parse(binaryParser as never)
        .expect(200);
      out.set(s.name, decodeWav(res.body as Buffer));
    }
    return out;
  }

  it('overlap=0.5 and denoise=true give what MdxSeparator gives with the same options, and differ from the defaults', async () => {
    const plain = await separate({});
    expect(plain.options).toMatchObject({ overlap: 'default', denoise: false });
    const half = await separate({ overlap: '0.5' });
    expect(half.options).toMatchObject({ overlap: 0.5, denoise: false });
    const denoised = await separate({ denoise: 'true' });
    expect(denoised.options).toMatchObject({ overlap: 'default', denoise: true });
    // Different options, different cache entries: each ran.
    expect([plain.cached, half.cached, denoised.cached]).toEqual([false, false, false]);

    const got = { plain: await stems(plain), half: await stems(half), denoised: await stems(denoised) };
    const expected = {
      plain: await separateWithMdx(decoded, { ramp: RAMP }),
      half: await separateWithMdx(decoded, { ramp: RAMP, overlap: 0.5 }),
      denoised: await separateWithMdx(decoded, { ramp: RAMP, denoise: true }),
    };
    for (const stem of ['vocals', 'instrumental']) {
      for (const k of ['plain', 'half', 'denoised'] as const) {
        expect(got[k].get(stem)!.sampleRate).toBe(44100);
        expect(maxAbsDiff(got[k].get(stem)!.data, expected[k].get(stem)!)).toBeLessThan(1e-5);
      }
      expect(maxAbsDiff(got.half.get(stem)!.data, got.plain.get(stem)!.data)).toBeGreaterThan(0.01);
      expect(maxAbsDiff(got.denoised.get(stem)!.data, got.plain.get(stem)!.data)).toBeGreaterThan(0.01);
    }
  });

  it('the result cache keys on overlap and denoise: only identical effective options share an entry', async () => {
    const first = await separate({ overlap: '0.25' }, 'a.wav');
    const same = await separate({ overlap: '0.25' }, 'b.wav');
    const other = await separate({ overlap: '0.3' }, 'c.wav');
    // Omitted and explicit 'default' are the same processing (the first test ran it).
    const explicitDefault = await separate({ overlap: 'default', denoise: 'false' }, 'd.wav');
    expect(first.cached).toBe(false);
    expect(same.cached).toBe(true);
    expect(other.cached).toBe(false);
    expect(explicitDefault.cached).toBe(true);
    expect(other.options.overlap).toBe(0.3);
    const a = await stems(first);
    const c = await stems(other);
    expect(maxAbsDiff(a.get('vocals')!.data, c.get('vocals')!.data)).toBeGreaterThan(0.001);
  });

  it('sampleRate=44100 gives the network rate (as UVR) for a 48 kHz input; by default the input rate', async () => {
    const hi = writeWav16(mixture(2, 48000));
    const file = path.join(t.dir, 'input48.wav');
    await fs.promises.writeFile(file, hi);
    const at44 = await collect((await openAudioInput(file)).stream());
    const send = async (fields: Record<string, string>) => {
      let req = request(t.server).post('/v1/separations?wait=60').field('model', MDX).field('bitDepth', '32');
      for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
      const res = await req.attach('file', hi, 'hi.wav').expect(200);
      return res.body as {
        options: { sampleRate: number | null };
        stems: Array<{ name: string; url: string }>;
      };
    };
    const native = await stems(await send({}));
    expect(native.get('vocals')!.sampleRate).toBe(48000);
    expect(native.get('vocals')!.data.length).toBe(2 * 96000);
    const uvr = await send({ sampleRate: '44100' });
    expect(uvr.options.sampleRate).toBe(44100);
    const uvrStems = await stems(uvr);
    const expected = await separateWithMdx(at44, { ramp: RAMP });
    for (const stem of ['vocals', 'instrumental']) {
      expect(uvrStems.get(stem)!.sampleRate).toBe(44100);
      // Not resampled back: exactly the separator's 44.1 kHz output.
      expect(maxAbsDiff(uvrStems.get(stem)!.data, expected.get(stem)!)).toBeLessThan(1e-5);
    }
  });

  it('validates overlap and denoise (422 VALIDATION_FAILED naming the field)', async () => {
    for (const [field, value] of [
      ['overlap', '1'],
      ['overlap', '0.995'],
      ['overlap', '-0.1'],
      ['overlap', 'auto'],
      ['overlap', ''],
      ['denoise', 'maybe'],
    ]) {
      const res = await request(t.server)
        .post('/v1/separations')
        .field('model', MDX)
        .field(field, value)
        .attach('file', wav, 'bad.wav');
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(res.body)).toContain(field);
    }
  });

  it('refuses overlap/denoise for models where they mean nothing (422 OPTION_NOT_SUPPORTED), single and batch', async () => {
    const single = await request(t.server)
      .post('/v1/separations')
      .field('model', 'builtin:center')
      .field('overlap', '0.5')
      .attach('file', wav, 'x.wav');
    expect(single.status).toBe(422);
    expect(single.body).toMatchObject({ code: 'OPTION_NOT_SUPPORTED' });
    expect(single.body.detail).toContain('overlap applies to MDX-Net models only');
    const batch = await request(t.server)
      .post('/v1/separations/batch')
      .field('model', 'builtin:hpss')
      .field('denoise', 'false')
      .attach('files', wav, 'x.wav')
      .attach('files', wav, 'y.wav');
    expect(batch.status).toBe(422);
    expect(batch.body).toMatchObject({ code: 'OPTION_NOT_SUPPORTED' });
    // Nothing was accepted: no job for the refused requests.
    const list = await request(t.server).get('/v1/separations?limit=100').expect(200);
    expect(list.body.data.every((j: { model: { name: string } }) => j.model.name === MDX)).toBe(true);
  });

  it('a batch carries the options to every job and echoes them', async () => {
    const res = await request(t.server)
      .post('/v1/separations/batch')
      .field('model', MDX)
      .field('overlap', '0.5')
      .field('denoise', 'true')
      .attach('files', wav, 'x.wav')
      .attach('files', wav, 'y.wav');
    expect(res.status).toBe(202);
    expect(res.body.jobs).toHaveLength(2);
    for (const job of res.body.jobs) expect(job.options).toMatchObject({ overlap: 0.5, denoise: true });
  });
});
