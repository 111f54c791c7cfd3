/**
 * A process that cannot start says so in JSON, like every other line it prints: log collectors in
 * containers parse one JSON object per line. Real processes (the API and worker entries), exit
 * code 1, nothing on stdout/stderr that is not a JSON object.
 */
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { makeTempDir } from '../factories/audio';
import { parseJsonLines } from '../support/json-lines';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..');

function start(
  entry: 'main' | 'worker',
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', path.join('src', `${entry}.ts`)], {
      cwd: ROOT,
      env: { ...process.env, SPLEETER_ENV: 'production', SPLEETER_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: out.split('\n').filter((l) => l.trim() !== '') });
    });
  });
}

const parsed = parseJsonLines;

describe('start-up failures are logged as JSON', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('startup-logging-');
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('an invalid setting: one fatal JSON line naming the key, exit 1', async () => {
    const res = await start('main', { SPLEETER_PORT: 'eighty' });
    expect(res.code).toBe(1);
    const records = parsed(res.lines);
    const fatal = records.filter((r) => r.level === 60);
    expect(fatal).toHaveLength(1);
    expect(String(fatal[0].msg)).toContain('SPLEETER_PORT');
  });

  it.each(['main', 'worker'] as const)(
    '%s: an unwritable data directory fails start-up with JSON lines only (the error with its stack), exit 1',
    async (entry) => {
      // A directory below a regular file cannot be created, whoever runs the test (root included).
      const blocker = path.join(dir, `blocker-${entry}`);
      await fs.writeFile(blocker, 'not a directory');
      const res = await start(entry, {
        SPLEETER_STORAGE_DIR: path.join(blocker, 'storage'),
        SPLEETER_CACHE_DIR: path.join(blocker, 'cache'),
        SPLEETER_MODELS_DIR: path.join(dir, `models-${entry}`),
        SPLEETER_SQLITE_PATH: path.join(dir, `${entry}.sqlite`),
        SPLEETER_PORT: '0',
        SPLEETER_QUEUE_DRIVER: 'memory',
      });
      expect(res.code).toBe(1);
      const records = parsed(res.lines);
      const fatal = records.find((r) => r.level === 60);
      expect(fatal).toBeDefined();
      expect(String(fatal!.msg)).toMatch(/ENOTDIR|not a directory/);
      expect((fatal!.err as { stack?: string }).stack).toContain('Error');
    },
  );
});
