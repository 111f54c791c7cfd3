/**
 * Builds the browser app (web/ → web/dist) only when its sources changed: `npm start` runs this
 * first (when current, only the hash check: milliseconds), `npm run build` always builds (--force), and the web specs call
 * ensureWebBuilt() so `npm test` tests the current page. The inputs' hash is stored in
 * web/dist/.build-hash; a lock directory keeps parallel callers (jest workers) from building at
 * once.
 *
 *   node -r @swc-node/register scripts/build-web.ts [--force]
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const WEB_DIR = path.join(REPO_ROOT, 'web');
export const WEB_DIST = path.join(WEB_DIR, 'dist');
const STAMP = path.join(WEB_DIST, '.build-hash');
const LOCK = path.join(WEB_DIR, '.build-lock');
const LOCK_STALE_MS = 5 * 60_000;
const LOCK_WAIT_MS = 4 * 60_000;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (e.isFile() && !e.name.endsWith('.spec.ts')) out.push(p);
  }
  return out;
}

/** Hash of everything the bundle is made from: web/ sources and the locked tool versions. */
export function webInputsHash(): string {
  const h = createHash('sha256');
  for (const f of sourceFiles(WEB_DIR).sort()) {
    h.update(path.relative(REPO_ROOT, f));
    h.update(readFileSync(f));
  }
  const lock = path.join(REPO_ROOT, 'package-lock.json');
  if (existsSync(lock)) h.update(readFileSync(lock));
  return h.digest('hex');
}

export function isWebBuildCurrent(hash = webInputsHash()): boolean {
  return (
    existsSync(path.join(WEB_DIST, 'index.html')) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === hash
  );
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  while (true) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - statSync(LOCK, { throwIfNoEntry: false })!.mtimeMs;
      if (age > LOCK_STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`web build lock ${LOCK} held for too long`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function runVite(quiet: boolean): Promise<void> {
  const vite = path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) {
    return Promise.reject(new Error('vite is not installed: run "npm install" (it is a devDependency)'));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [vite, 'build', '--config', path.join(WEB_DIR, 'vite.config.mjs')],
      {
        cwd: REPO_ROOT,
        // Jest runs with NODE_ENV=test, which would make Vite build a development bundle.
        env: { ...process.env, NODE_ENV: 'production' },
        stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (exit ${code})\n${output.slice(-4000)}`)),
    );
  });
}

/** Builds web/dist unless it is current. Returns whether it built. */
export async function ensureWebBuilt(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!options.force && isWebBuildCurrent()) return false;
  return withLock(async () => {
    const hash = webInputsHash();
    if (!options.force && isWebBuildCurrent(hash)) return false;
    await runVite(options.quiet ?? false);
    writeFileSync(STAMP, hash);
    return true;
  });
}

if (require.main === module) {
  // --force (npm run build, build:web) always builds and fails on error. Without it (npm start)
  // a failed build is reported and the server still starts: the API works, / answers 503.
  const force = process.argv.includes('--force');
  const started = Date.now();
  ensureWebBuilt({ force })
    .then((built) => {
      if (built) process.stdout.write(`web app built into web/dist in ${Date.now() - started} ms\n`);
    })
    .catch((err: Error) => {
      process.stderr.write(`${err.message}\n`);
      if (force) process.exit(1);
      process.stderr.write('web app not built: starting the server without it (GET / answers 503)\n');
    });
}
