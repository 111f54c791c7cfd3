/**
 * bin/spleeter-server.js in a checkout: the compiled dist/ when it is current (built after every
 * source file changed), the TypeScript sources through swc otherwise. Checked on a copy of the
 * launcher in a throw-away checkout whose two entry points say which one ran.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

jest.setTimeout(60_000);

const REPO = path.resolve(__dirname, '..', '..');

describe('bin/spleeter-server.js entry selection', () => {
  let root: string;
  const at = (...p: string[]) => path.join(root, ...p);
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(at(rel)), { recursive: true });
    fs.writeFileSync(at(rel), text);
  };
  /** Sets a file's mtime to `secondsAgo` before now. */
  const age = (rel: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    fs.utimesSync(at(rel), t, t);
  };
  const launch = (env: Record<string, string> = {}) => {
    const res = spawnSync(process.execPath, [at('bin', 'spleeter-server.js')], {
      cwd: os.tmpdir(),
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.stderr).toBe('');
    return res.stdout.trim();
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bin-entry-'));
    fs.mkdirSync(at('bin'));
    fs.copyFileSync(path.join(REPO, 'bin', 'spleeter-server.js'), at('bin', 'spleeter-server.js'));
    fs.symlinkSync(path.join(REPO, 'node_modules'), at('node_modules'), 'dir');
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022' } }));
    write('src/cli/main.ts', "const from: string = 'src';\nprocess.stdout.write(from + '\\n');\n");
    write('src/core/dsp/fft.ts', 'export const n = 1;\n');
    write('src/core/dsp/fft.spec.ts', 'export {};\n');
    write('dist/cli/main.js', "process.stdout.write('dist\\n');\n");
    write('dist/.tsbuildinfo', '{}');
    for (const f of ['src/cli/main.ts', 'src/core/dsp/fft.ts', 'src/core/dsp/fft.spec.ts']) age(f, 120);
    age('dist/cli/main.js', 60);
    age('dist/.tsbuildinfo', 60);
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('runs dist/ when it was built after every source file', () => {
    expect(launch()).toBe('dist');
  });

  it('runs the sources when one changed after the build, however deep', () => {
    age('src/core/dsp/fft.ts', 10);
    expect(launch()).toBe('src');
  });

  it('ignores a changed test file (tests are not built into dist/)', () => {
    age('src/core/dsp/fft.spec.ts', 10);
    expect(launch()).toBe('dist');
  });

  it('runs the sources when there is no complete build', () => {
    fs.rmSync(at('dist', '.tsbuildinfo'));
    expect(launch()).toBe('src');
  });

  it('honours SPLEETER_USE_DIST either way', () => {
    age('src/cli/main.ts', 10);
    expect(launch({ SPLEETER_USE_DIST: '1' })).toBe('dist');
    age('src/cli/main.ts', 120);
    expect(launch({ SPLEETER_USE_DIST: '0' })).toBe('src');
  });

  it('runs dist/ in an install without the sources', () => {
    fs.rmSync(at('src'), { recursive: true });
    expect(launch()).toBe('dist');
  });
});
