import request from 'supertest';
import { startTestApp } from '../factories/app';
import { engineOverrides, mixtureWav } from '../e2e/separations-support';
jest.setTimeout(120000);
it('times', async () => {
  const t = await startTestApp({ config: { security: { auth_enabled: false } }, overrides: engineOverrides() });
  let t0 = Date.now();
  const long = mixtureWav(180);
  console.log('gen', Date.now() - t0); t0 = Date.now();
  const r = await request(t.server).post('/v1/separations').attach('file', long, 'long.wav');
  console.log('upload', Date.now() - t0, r.status); t0 = Date.now();
  await t.close();
});
