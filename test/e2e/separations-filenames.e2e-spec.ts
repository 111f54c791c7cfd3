/**
 * Upload file names in any script: stored and answered exactly as sent (UTF-8, as browsers and curl
 * send them), and offered back in `Content-Disposition` so that a client recovers them exactly.
 */
import contentDisposition from 'content-disposition';
import request from 'supertest';
import { startTestApp, type TestApp } from '../factories/app';
import { binaryParser, engineOverrides, mixtureWav } from './separations-support';

jest.setTimeout(120_000);

const BOUNDARY = 'spleeter-test-boundary-7f3a';

/**
 * A multipart body as a browser builds it: the file name as raw UTF-8 bytes in a quoted string
 * (quotes escaped as an RFC 2616 quoted-string, which busboy decodes).
 */
function multipart(fileName: string, data: Buffer): Buffer {
  const quoted = fileName.replace(/[\\"]/g, (c) => `\\${c}`);
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="`, 'latin1'),
    Buffer.from(quoted, 'utf8'),
    Buffer.from(`"\r\nContent-Type: audio/wav\r\n\r\n`, 'latin1'),
    data,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`, 'latin1'),
  ]);
}

const NAMES: Array<[label: string, name: string]> = [
  ['symbols outside the BMP', '☃ 𝄞 snow.wav'],
  ['CJK', '雪の歌 (ライブ).wav'],
  ['Arabic (RTL)', 'أغنية الثلج.wav'],
  ['Hebrew (RTL)', 'שיר השלג.wav'],
  ['quotes', 'it\'s "live" encore.wav'],
  ['Latin-1', 'café déjà vu.wav'],
];

describe('Separations API: UTF-8 file names (e2e)', () => {
  let t: TestApp;
  const wav = mixtureWav(1);

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        security: { auth_enabled: false, rate_limit: { limit: 100_000 } },
        cache: { enabled: false },
      },
      overrides: engineOverrides(),
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(NAMES)('keeps a %s name exactly, in the job and in Content-Disposition', async (_label, name) => {
    const res = await request(t.server)
      .post('/v1/separations?wait=60')
      .set('Content-Type', `multipart/form-data; boundary=${BOUNDARY}`)
      .send(multipart(name, wav));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.input.filename).toBe(name);
    const again = await request(t.server).get(`/v1/separations/${res.body.id}`).expect(200);
    expect(again.body.input.filename).toBe(name);

    const base = name.replace(/\.wav$/, '');
    const stem = await request(t.server)
      .get(res.body.stems[0].url)
      .buffer(true)
      .parse(binaryParser as never)
      .expect(200);
    const header = stem.headers['content-disposition'] as string;
    expect(contentDisposition.parse(header)).toMatchObject({
      type: 'attachment',
      parameters: { filename: `${base}-${res.body.stems[0].name}.wav` },
    });
    // The plain `filename` parameter is the fallback for old clients: ISO-8859-1 only, properly quoted.
    expect(header).toMatch(
      /^attachment; filename="(?:[^"\\]|\\.)*"(?:; filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+)?$/,
    );
    if ([...name].some((c) => c.charCodeAt(0) > 0xff)) expect(header).toContain("filename*=UTF-8''");

    const zip = await request(t.server)
      .get(res.body.links.archive)
      .buffer(true)
      .parse(binaryParser as never)
      .expect(200);
    expect(contentDisposition.parse(zip.headers['content-disposition'] as string).parameters.filename).toBe(
      `${base}-stems.zip`,
    );
  });
});
