/**
 * The web app in a real browser: Debian's Chromium, headless, driven by playwright-core, against
 * the real server (real engine, builtin:center) listening on 127.0.0.1. One user story per test,
 * in order: sign in, upload, live progress to 100, play, mute, the karaoke mix checked sample by
 * sample against the stems, history, delete; another user sees nothing of it; admin pages refuse a
 * user key; problems are shown with their code; an admin manages keys and verifies the audit chain,
 * activates a model version and rolls it back; a JWT user signs in with the token (Bearer header).
 * Screenshots go to test-artifacts/web/ (git-ignored). Two files are dropped at once: a short
 * generated mixture and the real clip from ../shared (left out, with a note, when absent); the
 * mixer works on the real clip, or on the generated one without it.
 */
import { createHash, createHmac } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureWebBuilt, REPO_ROOT } from '../../scripts/build-web';
import { startTestApp, type TestApp } from '../factories/app';
import { generateTestModelFiles } from '../factories/models';
import { CHROMIUM_ARGS, ensureChromium } from '../support/chromium';
import { decodeWav, engineOverrides, mixtureWav, type DecodedWav } from './separations-support';

const availability = ensureChromium();
const describeBrowser = 'path' in availability ? describe : describe.skip;
if ('skip' in availability) process.stderr.write(`web-ui browser specs skipped: ${availability.skip}\n`);

const ENV_KEY = 'web-ui-env-admin-key-0123456789';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'web');
const REAL_CLIP = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'audio', 'audio_example.mp3');
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const STEP = 60_000;
const CUSTOM_MODEL = 'custom:web';
const JWT_SECRET = 'web-ui-hs256-secret-0123456789abcdef-0123456789';
const JWT_ISS = 'https://idp.web-ui.test';
const JWT_AUD = 'spleeter-server';

/** An HS256 JWT as an identity provider would issue it (signed here with node:crypto). */
function hs256Jwt(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

/** The tiny 2-stem Spleeter stand-in, uploaded twice (different weights) to get versions v1 and v2. */
async function uploadCustomModel(url: string, key: string, scales: number[]): Promise<Response> {
  const form = new FormData();
  form.append(
    'manifest',
    JSON.stringify({
      name: CUSTOM_MODEL,
      kind: 'spleeter',
      stems: ['vocals', 'accompaniment'],
      spleeter: {
        F: 1024,
        architecture: 'unet',
        conv_activation: 'leaky_relu',
        deconv_activation: 'relu',
        files: { vocals: 'vocals.onnx', accompaniment: 'accompaniment.onnx' },
      },
    }),
  );
  for (const [name, bytes] of generateTestModelFiles('scale', { config: '2stems', manifest: false, scales }))
    form.append('files', new Blob([bytes]), name);
  return fetch(`${url}/v1/admin/models`, { method: 'POST', headers: { 'X-API-KEY': key }, body: form });
}

interface PageElement {
  value: number;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  querySelector(s: string): PageElement | null;
}

/** What the page-side callbacks below touch (this Node-typed file has no DOM declarations). */
interface PageWindow {
  location: { hash: string };
  localStorage: { length: number };
  sessionStorage: { getItem(k: string): string | null };
  document: {
    cookie: string;
    body: unknown;
    querySelector(s: string): PageElement | null;
    querySelectorAll(s: string): Iterable<PageElement>;
  };
  MutationObserver: new (cb: () => void) => { observe(target: unknown, options: object): void };
  __progress: Record<string, number[]>;
}

interface Keys {
  admin: string;
  alice: string;
  bob: string;
}

describeBrowser('Web UI in Chromium (e2e)', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let keys: Keys;
  let tmp: string;
  let clip: { file: string; name: string };
  let generated: { file: string; name: string };
  let jobId = '';
  let jwt = '';
  const requestUrls: string[] = [];
  const keyHeaders: string[] = [];
  const bearerHeaders: string[] = [];
  const cspErrors: string[] = [];
  const pageErrors: string[] = [];

  const api = async (key: string, p: string, init: RequestInit = {}) =>
    fetch(`${t.url}${p}`, { ...init, headers: { 'X-API-KEY': key, ...(init.headers ?? {}) } });

  const shot = async (name: string) => {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  const go = async (hash: string) => {
    await page.evaluate((h) => ((globalThis as unknown as PageWindow).location.hash = h), hash);
  };

  const signIn = async (key: string) => {
    await page.goto(`${t.url}/`);
    await page.locator('#api-key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  const signOut = async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#api-key').waitFor();
  };

  beforeAll(async () => {
    await ensureWebBuilt({ quiet: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'spleeter-web-ui-'));
    // A short generated WAV (its progress is reported as it runs), plus the real clip when present
    // (decoded by ffmpeg; the engine reports its progress only at the end). The mixer uses the clip.
    generated = { file: path.join(tmp, 'generated-mixture.wav'), name: 'generated-mixture.wav' };
    fs.writeFileSync(generated.file, mixtureWav(4));
    if (fs.existsSync(REAL_CLIP)) {
      clip = { file: REAL_CLIP, name: path.basename(REAL_CLIP) };
    } else {
      process.stderr.write(`web-ui: ${REAL_CLIP} absent, using the generated mixture only\n`);
      clip = generated;
    }
    t = await startTestApp({
      listen: true,
      config: {
        api_key: ENV_KEY,
        audit: { flush_interval_ms: 50 },
        security: {
          jwt: { secret: JWT_SECRET, algorithms: ['HS256'], issuer: JWT_ISS, audience: JWT_AUD },
        },
      },
      overrides: engineOverrides(),
    });
    const create = async (name: string, role: 'admin' | 'user') => {
      const res = await api(ENV_KEY, '/v1/admin/api-keys', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name, role }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { key: string }).key;
    };
    keys = {
      admin: await create('web-admin', 'admin'),
      alice: await create('alice', 'user'),
      bob: await create('bob', 'user'),
    };
    for (const scales of [
      [0.5, 0.5],
      [0.25, 0.75],
    ]) {
      const res = await uploadCustomModel(t.url, ENV_KEY, scales);
      expect(res.status).toBe(201);
    }
    jwt = hs256Jwt({
      sub: 'jules',
      iss: JWT_ISS,
      aud: JWT_AUD,
      exp: Math.floor(Date.now() / 1000) + 3600,
    });

    browser = await chromium.launch({
      executablePath: (availability as { path: string }).path,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
    page = await context.newPage();
    page.on('request', (r) => {
      requestUrls.push(r.url());
      const k = r.headers()['x-api-key'];
      if (k) keyHeaders.push(k);
      const a = r.headers()['authorization'];
      if (a) bearerHeaders.push(a);
    });
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy|Trusted Type|Refused to/i.test(m.text()))
        cspErrors.push(m.text());
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'signs in with a user API key, kept in this tab only and sent as a header',
    async () => {
      await signIn(keys.alice);
      await page.locator('.who-role').filter({ hasText: 'user' }).waitFor();
      await expect(
        page.getByRole('navigation').getByRole('link', { name: 'API keys' }).count(),
      ).resolves.toBe(0);
      const stored = await page.evaluate(() => {
        const w = globalThis as unknown as PageWindow;
        return {
          local: w.localStorage.length,
          cookie: w.document.cookie,
          session: w.sessionStorage.getItem('spleeter.credential'),
        };
      });
      expect(stored.local).toBe(0);
      expect(stored.cookie).toBe('');
      expect(stored.session).toContain(keys.alice);
      expect(keyHeaders).toContain(keys.alice);
      await shot('01-separate-desktop');
    },
    STEP,
  );

  it(
    'uploads songs (several at once) and shows each separation progress rising to 100',
    async () => {
      // Record every value each progress bar shows, not just the ones a poll would catch.
      await page.evaluate(() => {
        const w = globalThis as unknown as PageWindow;
        const seen: Record<string, number[]> = {};
        w.__progress = seen;
        new w.MutationObserver(() => {
          for (const card of w.document.querySelectorAll('.task')) {
            const name = card.querySelector('.task-name')?.textContent ?? '';
            const value = card.querySelector('.job-progress')?.value;
            if (value === undefined) continue;
            const list = (seen[name] ??= []);
            if (list[list.length - 1] !== value) list.push(value);
          }
        }).observe(w.document.body, { subtree: true, childList: true, attributes: true });
      });
      const files = [...new Set([generated.file, clip.file])];
      await page.locator('input[type=file]:enabled').waitFor({ state: 'attached' });
      await page.locator('input[type=file]').setInputFiles(files);
      await expect(page.locator('.task').count()).resolves.toBe(files.length);
      await page
        .locator('.task[data-phase="succeeded"]')
        .nth(files.length - 1)
        .waitFor({ timeout: 45_000 });
      const seen = await page.evaluate(() => (globalThis as unknown as PageWindow).__progress);
      process.stdout.write(`web-ui: progress values seen ${JSON.stringify(seen)}\n`);
      for (const f of files) {
        const values = seen[path.basename(f)];
        expect(values[values.length - 1]).toBe(100);
        for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
      }
      // The WAV's progress is reported while it runs: the bar shows values between 0 and 100.
      expect(seen[generated.name].some((v) => v > 0 && v < 100)).toBe(true);
      const task = page.locator('.task', { hasText: clip.name });
      await expect(
        task.locator('.upload-progress').evaluate((el) => (el as unknown as { value: number }).value),
      ).resolves.toBe(100);
      jobId = (await task.getAttribute('data-job-id')) ?? '';
      expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
      await shot('02-progress-done');
    },
    STEP,
  );

  it(
    'plays all stems and mutes one',
    async () => {
      await page.locator('.task', { hasText: clip.name }).getByRole('link', { name: 'Listen & mix' }).click();
      const play = page.locator('button.play');
      await play.waitFor({ timeout: 30_000 });
      await expect(page.locator('.stem').count()).resolves.toBe(2);
      await play.click();
      await page.waitForFunction(
        () =>
          Number((globalThis as unknown as PageWindow).document.querySelector('.clock')?.dataset.position) >
          0.3,
        undefined,
        { timeout: 15_000 },
      );
      await expect(play.getAttribute('data-playing')).resolves.toBe('true');
      const mute = page.getByRole('button', { name: 'Mute center', exact: true });
      await mute.click();
      await expect(mute.getAttribute('aria-pressed')).resolves.toBe('true');
      await expect(page.locator('button.download-mix').textContent()).resolves.toContain(
        'no center (karaoke)',
      );
      // Keyboard: digit n mutes stem n (and again unmutes), Space pauses.
      const muteSides = page.getByRole('button', { name: 'Mute sides', exact: true });
      await page.locator('h2#mixer-title').click();
      await page.keyboard.press('2');
      await expect(muteSides.getAttribute('aria-pressed')).resolves.toBe('true');
      await page.keyboard.press('2');
      await expect(muteSides.getAttribute('aria-pressed')).resolves.toBe('false');
      await page.keyboard.press('Space');
      await expect(play.getAttribute('data-playing')).resolves.toBe('false');
      await shot('03-mixer-desktop');
      await page.setViewportSize(PHONE);
      await shot('04-mixer-phone');
      await page.setViewportSize(DESKTOP);
    },
    STEP,
  );

  it(
    'downloads the current mix, equal sample by sample to the sum of the chosen stems',
    async () => {
      const job = (await (await api(keys.alice, `/v1/separations/${jobId}`)).json()) as {
        stems: Array<{ name: string; url: string }>;
      };
      const stems = new Map<string, { bytes: Buffer; wav: DecodedWav }>();
      for (const s of job.stems) {
        const bytes = Buffer.from(await (await api(keys.alice, s.url)).arrayBuffer());
        stems.set(s.name, { bytes, wav: decodeWav(bytes) });
      }
      const center = stems.get('center')!.wav;
      const sides = stems.get('sides')!.wav;

      const downloadMix = async () => {
        const [dl] = await Promise.all([
          page.waitForEvent('download'),
          page.locator('button.download-mix').click(),
        ]);
        return { name: dl.suggestedFilename(), wav: decodeWav(fs.readFileSync((await dl.path())!)) };
      };
      const maxDiff = (mix: DecodedWav, gCenter: number, gSides: number) => {
        expect(mix.sampleRate).toBe(center.sampleRate);
        expect(mix.channels).toBe(center.channels);
        expect(mix.data.length).toBe(Math.max(center.data.length, sides.data.length));
        // Plain comparisons: Math.* calls are slow inside jest's sandbox for a million samples.
        let worst = 0;
        const n = mix.data.length;
        for (let i = 0; i < n; i++) {
          const c = i < center.data.length ? center.data[i] : 0;
          const sd = i < sides.data.length ? sides.data[i] : 0;
          const d = mix.data[i] - (gCenter * c + gSides * sd);
          const a = d < 0 ? -d : d;
          if (a > worst) worst = a;
        }
        return worst;
      };
      const HALF_LSB = 0.5 / 32768 + 1e-6;

      // Karaoke: center muted, so the mix is the sides stem alone, and clearly not the whole song.
      const karaoke = await downloadMix();
      expect(karaoke.name).toContain('karaoke');
      expect(maxDiff(karaoke.wav, 0, 1)).toBeLessThanOrEqual(HALF_LSB);
      expect(maxDiff(karaoke.wav, 1, 1)).toBeGreaterThan(0.01);

      // Both stems, center at half volume: the mix is 0.5·center + sides.
      await page.getByRole('button', { name: 'Mute center', exact: true }).click();
      await page.locator('input[aria-label="center volume"]').evaluate((el) => {
        (el as unknown as { value: string }).value = '0.5';
        el.dispatchEvent(new Event('input', { bubbles: true }));
      });
      const weighted = await downloadMix();
      expect(maxDiff(weighted.wav, 0.5, 1)).toBeLessThanOrEqual(HALF_LSB);
      expect(maxDiff(weighted.wav, 1, 1)).toBeGreaterThan(0.01);

      // A single stem's download is the server's file, byte for byte.
      const [dl] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: /^Download sides/ }).click(),
      ]);
      const got = fs.readFileSync((await dl.path())!);
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      expect(sha(got)).toBe(sha(stems.get('sides')!.bytes));
    },
    STEP,
  );

  it(
    'lists the job in the history with its facts, and deletes it',
    async () => {
      await page.getByRole('navigation').getByRole('link', { name: 'History' }).click();
      const row = page.locator(`tr[data-job-id="${jobId}"]`);
      await row.waitFor();
      const text = (await row.textContent()) ?? '';
      expect(text).toContain(clip.name);
      expect(text).toContain('Done');
      expect(text).toContain('builtin:center');
      expect(text).toMatch(/× realtime/);
      await shot('05-history-desktop');
      await page.setViewportSize(PHONE);
      await shot('06-history-phone');
      await page.setViewportSize(DESKTOP);
      await row.getByRole('button', { name: `Delete ${clip.name}` }).click();
      await row.locator('button.danger').click();
      await row.getByText('Files deleted').waitFor();
      const after = (await (await api(keys.alice, `/v1/separations/${jobId}`)).json()) as {
        filesDeletedAt: string;
      };
      expect(after.filesDeletedAt).toBeTruthy();
      const stem = await api(keys.alice, `/v1/separations/${jobId}/stems/sides`);
      expect(stem.status).toBe(410);
    },
    STEP,
  );

  it(
    "does not show a user another user's job",
    async () => {
      await signOut();
      await signIn(keys.bob);
      await page.locator('.who-role').filter({ hasText: 'user' }).waitFor();
      await page.getByRole('navigation').getByRole('link', { name: 'History' }).click();
      await page.getByText('No jobs yet').waitFor();
      await expect(page.locator(`tr[data-job-id="${jobId}"]`).count()).resolves.toBe(0);
      await go(`#/jobs/${jobId}`);
      const problem = page.locator('.problem[data-code="JOB_NOT_FOUND"]');
      await problem.waitFor();
      expect(await problem.textContent()).toContain('HTTP 404');
    },
    STEP,
  );

  it(
    'refuses the admin pages to a user key with a clear 403',
    async () => {
      for (const hash of ['#/admin/keys', '#/admin/audit', '#/admin/models']) {
        await go(hash);
        const problem = page.locator('main .problem[data-code="FORBIDDEN"]');
        await problem.waitFor();
        const text = (await problem.textContent()) ?? '';
        expect(text).toContain('HTTP 403');
        expect(text).toContain('admin role');
      }
      await shot('07-admin-refused');
      // The keys and audit pages asked the API, which refused (and logged) the user.
      const denied = await api(keys.admin, '/v1/admin/audit?outcome=denied&action=apikey.list');
      expect(((await denied.json()) as { items: unknown[] }).items.length).toBeGreaterThanOrEqual(1);
    },
    STEP,
  );

  it(
    'shows problem+json errors with their code: a non-audio upload, then a wrong key',
    async () => {
      await go('#/');
      const bogus = path.join(tmp, 'not-audio.mp3');
      fs.writeFileSync(bogus, 'this is plain text, not audio '.repeat(40));
      await page.locator('input[type=file]:enabled').waitFor({ state: 'attached' });
      await page.locator('input[type=file]').setInputFiles(bogus);
      const problem = page.locator('.task .problem[data-code="UNSUPPORTED_AUDIO"]');
      await problem.waitFor({ timeout: 20_000 });
      expect(await problem.textContent()).toContain('HTTP 415');
      await shot('08-problem-upload');
      await signOut();
      await page.locator('#api-key').fill(`spl_0123456789abcdef_${'A'.repeat(43)}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const refused = page.locator('.problem[data-code="UNAUTHENTICATED"]');
      await refused.waitFor();
      expect(await refused.textContent()).toContain('HTTP 401');
    },
    STEP,
  );

  it(
    'lets an admin create a key shown once, revoke it, and verify the audit chain',
    async () => {
      await page.locator('#api-key').fill(keys.admin);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('.who-role').filter({ hasText: 'admin' }).waitFor();
      await page.getByRole('navigation').getByRole('link', { name: 'API keys' }).click();
      await page.locator('#key-name').fill('carol');
      await page.getByRole('button', { name: 'Create key' }).click();
      const secret = (await page.locator('.secret-value').textContent()) ?? '';
      expect(secret).toMatch(/^spl_/);
      expect((await api(secret, '/v1/auth/me')).status).toBe(200);
      await page.getByRole('button', { name: 'Done, hide it' }).click();
      await expect(page.locator('.secret-value').count()).resolves.toBe(0);
      await page.getByRole('button', { name: 'Revoke carol' }).click();
      await page.locator('tr', { hasText: 'carol' }).locator('button.danger').click();
      await page.locator('tr', { hasText: 'carol' }).getByText('revoked').waitFor();
      expect((await api(secret, '/v1/auth/me')).status).toBe(401);

      await page.getByRole('navigation').getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('button', { name: 'Verify the hash chain' }).click();
      await page.locator('.verify-result[data-valid="true"]').waitFor();
      await page.getByRole('navigation').getByRole('link', { name: 'Models' }).click();
      await page.locator('[data-model="builtin:center"] .badge', { hasText: 'Installed' }).waitFor();
      await shot('09-admin-models');
    },
    STEP,
  );

  it(
    'lets an admin validate a model, activate another version, and roll back only after confirming',
    async () => {
      const card = page.locator(`[data-model="${CUSTOM_MODEL}"]`);
      const active = async () =>
        ((await (await api(keys.admin, `/v1/models/${CUSTOM_MODEL}`)).json()) as { activeVersion: string })
          .activeVersion;
      await card.locator('[data-version="v2"][data-active="true"]').waitFor();
      await card.getByRole('button', { name: 'Validate', exact: true }).click();
      const report = card.locator('.validation-result[data-valid="true"]');
      await report.waitFor({ timeout: 30_000 });
      expect(await report.textContent()).toContain('Validation of v2: valid');

      await card.getByRole('button', { name: `Activate ${CUSTOM_MODEL} v1` }).click();
      await card.getByText('Activated: v1 is now active (was v2).').waitFor();
      await card.locator('[data-version="v1"][data-active="true"]').waitFor();
      await expect(active()).resolves.toBe('v1');
      // The report was about v2: it is gone once v1 is active.
      await expect(report.count()).resolves.toBe(0);

      // Rollback asks first; keeping the version changes nothing.
      await card.getByRole('button', { name: `Roll back ${CUSTOM_MODEL}` }).click();
      const confirm = card.getByRole('group', { name: `Confirm rollback of ${CUSTOM_MODEL}` });
      await confirm.getByRole('button', { name: 'Keep v1' }).click();
      await expect(confirm.count()).resolves.toBe(0);
      await expect(active()).resolves.toBe('v1');

      await card.getByRole('button', { name: `Roll back ${CUSTOM_MODEL}` }).click();
      await confirm.getByRole('button', { name: `Roll back ${CUSTOM_MODEL}` }).click();
      await card.getByText('Rolled back: v2 is now active (was v1).').waitFor();
      await card.locator('[data-version="v2"][data-active="true"]').waitFor();
      await expect(active()).resolves.toBe('v2');
      await shot('10-admin-models-versions');

      // Nothing left to roll back to: the API's problem is shown on the model's card.
      await card.getByRole('button', { name: `Roll back ${CUSTOM_MODEL}` }).click();
      await confirm.getByRole('button', { name: `Roll back ${CUSTOM_MODEL}` }).click();
      const problem = card.locator('.problem[data-code="MODEL_NOT_INSTALLED"]');
      await problem.waitFor();
      const text = (await problem.textContent()) ?? '';
      expect(text).toContain('HTTP 404');
      expect(text).toContain('no previous version');
      await expect(active()).resolves.toBe('v2');
    },
    STEP,
  );

  it(
    'signs in with a JWT, sent as Authorization: Bearer, and shows that user its own history',
    async () => {
      const form = new FormData();
      form.append('file', new Blob([mixtureWav(1)]), 'jwt-mixture.wav');
      const created = await fetch(`${t.url}/v1/separations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${jwt}` },
        body: form,
      });
      expect(created.status).toBe(202);
      const jwtJob = ((await created.json()) as { id: string }).id;

      await signOut();
      await signIn(jwt);
      await page.locator('.who-id').filter({ hasText: 'jwt:jules' }).waitFor();
      await page.locator('.who-role').filter({ hasText: 'user' }).waitFor();
      const stored = await page.evaluate(() =>
        (globalThis as unknown as PageWindow).sessionStorage.getItem('spleeter.credential'),
      );
      expect(JSON.parse(stored ?? '{}')).toEqual({ kind: 'bearer', value: jwt });
      expect(bearerHeaders).toContain(`Bearer ${jwt}`);
      expect(keyHeaders).not.toContain(jwt);

      await page.getByRole('navigation').getByRole('link', { name: 'History' }).click();
      const row = page.locator(`tr[data-job-id="${jwtJob}"]`);
      await row.waitFor();
      expect(await row.textContent()).toContain('jwt-mixture.wav');
      // Only the token's own job: alice's (deleted) and bob's are not listed.
      await expect(page.locator('tr[data-job-id]').count()).resolves.toBe(1);
      await shot('11-history-jwt');
    },
    STEP,
  );

  it('never put a key in a URL and ran under its CSP without violations or errors', () => {
    for (const k of [...Object.values(keys), jwt]) {
      expect(requestUrls.filter((u) => u.includes(k))).toEqual([]);
    }
    expect(cspErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
