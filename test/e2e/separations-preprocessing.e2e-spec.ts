/**
 * Preprocessing options over HTTP (issue 11): `highpassHz` and `noiseReduction` are accepted as
 * multipart fields, reach the engine (the job's result says what ran), are echoed in the job's
 * `options` (each bringing DC removal: `preprocess` true), and bad values are refused with
 * 422 VALIDATION_FAILED before a job exists.
 */
import request from 'supertest';
import { startTestApp, type TestApp } from '../factories/app';
import { mixtureWav, MODEL } from './separations-support';

jest.setTimeout(120_000);

const OPEN_AUTH = { security: { auth_enabled: false, rate_limit: { limit: 100_000 } } };

describe('Separations API: preprocessing options (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ config: { ...OPEN_AUTH, queue: { concurrency: 1, capacity: 50 } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (fields: Record<string, string>, wait = true) => {
    let req = request(t.server).post(wait ? '/v1/separations?wait=60' : '/v1/separations');
    for (const [k, v] of Object.entries({ model: MODEL, ...fields })) req = req.field(k, v);
    return req.attach('file', mixtureWav(1), 'mix.wav');
  };

  it('without the fields: no high-pass, no noise reduction', async () => {
    const res = await post({}).expect(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.options).toMatchObject({ preprocess: false, highpassHz: null, noiseReduction: false });
  });

  it('highpassHz and noiseReduction are accepted, run and are echoed in the options', async () => {
    const res = await post({ highpassHz: '80', noiseReduction: 'true', preprocess: 'false' }).expect(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.options).toMatchObject({ preprocess: true, highpassHz: 80, noiseReduction: true });
    const again = await request(t.server).get(`/v1/separations/${res.body.id}`).expect(200);
    expect(again.body.options).toMatchObject({ highpassHz: 80, noiseReduction: true });
  });

  it.each([
    ['highpassHz', '5'],
    ['highpassHz', '501'],
    ['highpassHz', 'abc'],
    ['noiseReduction', 'maybe'],
  ])('%s=%s is refused 422 VALIDATION_FAILED', async (field, value) => {
    const res = await post({ [field]: value }, false).expect(422);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(res.body)).toContain(field);
  });
});
