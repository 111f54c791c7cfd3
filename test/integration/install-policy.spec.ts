/**
 * The install reaches only the npm registry and npm has nothing to warn about: every `.npmrc` key is
 * one npm knows, every dependency install script is reviewed in package.json `allowScripts`
 * (`strict-allow-scripts` fails an install on any other), onnxruntime-node's (which downloads the
 * CUDA provider from NuGet) is denied, and our postinstall runs it only when a GPU host asks.
 * `scripts/check-fresh-install.sh` does the real thing: `npm ci` in a fresh clone.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '..', '..');
const npm = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync('npm', args, { cwd: REPO, env, encoding: 'utf8', timeout: 100_000 });

function npmrcKeys(): string[] {
  return fs
    .readFileSync(path.join(REPO, '.npmrc'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith(';'))
    .map((l) => l.split('=')[0].trim());
}

describe('install policy', () => {
  it('.npmrc sets only configuration keys npm knows (an unknown key makes every npm command warn)', () => {
    const res = npm(['config', 'ls', '-l', '--json']);
    expect(res.status).toBe(0);
    const known = new Set(Object.keys(JSON.parse(res.stdout) as Record<string, unknown>));
    expect(npmrcKeys().filter((k) => !known.has(k))).toEqual([]);
    expect(npmrcKeys()).toContain('strict-allow-scripts');
  });

  it('reviews every dependency install script in allowScripts, and denies onnxruntime-node’s', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      allowScripts: Record<string, boolean>;
      scripts: Record<string, string>;
    };
    const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean; optional?: boolean; os?: string[] }>;
    };
    expect(pkg.allowScripts['onnxruntime-node']).toBe(false);
    const withScripts = Object.entries(lock.packages)
      .filter(([key, p]) => key !== '' && p.hasInstallScript)
      .map(([key]) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => !(name in pkg.allowScripts))).toEqual([]);
    expect(pkg.scripts.postinstall).toBe('node scripts/onnxruntime-gpu-install.js');
  });

  it('a dry-run install prints no npm warning', () => {
    const res = npm(['ci', '--dry-run', '--ignore-scripts']);
    expect(res.status).toBe(0);
    expect(`${res.stdout}\n${res.stderr}`).not.toMatch(/npm warn/i);
  });

  it('the postinstall hook does nothing unless ONNXRUNTIME_NODE_INSTALL asks for GPU binaries', () => {
    const hook = path.join(REPO, 'scripts', 'onnxruntime-gpu-install.js');
    const env = { PATH: process.env.PATH ?? '' };
    for (const extra of [{}, { ONNXRUNTIME_NODE_INSTALL: 'skip' }]) {
      const res = spawnSync(process.execPath, [hook], { env: { ...env, ...extra }, encoding: 'utf8' });
      expect({ status: res.status, out: res.stdout, err: res.stderr }).toEqual({
        status: 0,
        out: '',
        err: '',
      });
    }
  });
});
