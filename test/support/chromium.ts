/**
 * Debian's Chromium for the browser specs, driven by playwright-core (which never downloads a
 * browser). When /usr/bin/chromium is missing, it is installed from Debian (`apt-get install -y
 * chromium`, root only, bounded in time); if that is impossible the specs skip with the reason.
 * Synchronous on purpose: jest must know whether to skip when it loads the spec file.
 */
import { spawnSync } from 'child_process';
import { existsSync } from 'fs';

export const CHROMIUM_PATH = process.env.SPLEETER_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that work on a machine without network, GPU or sandbox privileges. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

const INSTALL_TIMEOUT_MS = 8 * 60_000;

let cached: { path: string } | { skip: string } | undefined;

export function ensureChromium(): { path: string } | { skip: string } {
  if (cached) return cached;
  cached = locate();
  return cached;
}

function locate(): { path: string } | { skip: string } {
  if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  if (process.platform !== 'linux' || typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { skip: `${CHROMIUM_PATH} is missing and installing it needs root (apt-get install -y chromium)` };
  }
  process.stderr.write('Chromium missing: installing Debian package "chromium" (apt-get)…\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      env,
      timeout: INSTALL_TIMEOUT_MS,
      encoding: 'utf8',
    });
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, timeout: INSTALL_TIMEOUT_MS, encoding: 'utf8' });
    r = install();
  }
  if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  const why = (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
  return { skip: `could not install Chromium from Debian (${why || `exit ${r.status}`})` };
}
