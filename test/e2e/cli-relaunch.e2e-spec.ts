/**
 * The CLI's relaunch with glibc's huge pages (src/cli/main.ts, infra/config/huge-pages.ts) as a
 * user meets it: the separation runs in a child started with the tunable; signals sent to the
 * process the user started reach it; a killed parent does not leave it running; exit codes and
 * messages are the same as without the relaunch. Skipped where this machine would not relaunch.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  BATCH_MALLOC_TUNABLES,
  HUGE_PAGES_TUNABLE,
  hugePagesRelaunchEnv,
} from '../../src/infra/config/huge-pages';
import { makeTempDir, runFfmpeg, writeTextFile } from '../factories/audio';
import { testModelDir } from '../factories/models';
import { CLI_BIN, runCli } from '../support/cli-process';

jest.setTimeout(120_000);

const relaunches = hugePagesRelaunchEnv({}) !== null;
const describeRelaunch = relaunches ? describe : describe.skip;
if (!relaunches) {
  console.warn('cli-relaunch: skipped, this machine does not relaunch (THP mode, glibc or platform)');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((tid) => fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/))
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(readStat(pid));
function readStat(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

/** Waits (at most ~20 s) until the separation writes its outputs: its SIGINT handler is set. */
async function untilWriting(out: string): Promise<void> {
  for (let i = 0; i < 400 && !fs.existsSync(out); i++) await sleep(50);
  expect(fs.existsSync(out)).toBe(true);
}

/** The relaunched CLI under `parent`, once it runs (at most ~10 s). */
async function relaunchedChild(parent: ChildProcess): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const [child] = childrenOf(parent.pid!);
    if (child) return child;
    await sleep(50);
  }
  throw new Error('no relaunched child appeared');
}

describeRelaunch('CLI relaunch with huge pages', () => {
  let dir: string;
  let model: string;
  let input: string;
  const started: ChildProcess[] = [];

  function start(
    args: string[],
    env: Record<string, string> = {},
  ): { proc: ChildProcess; exit: Promise<number | string> } {
    const proc = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: dir,
      env: {
        ...process.env,
        SPLEETER_LOG_LEVEL: 'warn',
        SPLEETER_MODELS_DIR: path.join(dir, 'models'),
        ...env,
      },
      stdio: 'ignore',
    });
    started.push(proc);
    const exit = new Promise<number | string>((resolve) =>
      proc.once('exit', (code, signal) => resolve(code ?? signal!)),
    );
    return { proc, exit };
  }
  const stems = (out: string) =>
    fs.existsSync(out)
      ? fs.readdirSync(out, { recursive: true }).filter((f) => String(f).endsWith('.wav'))
      : [];

  beforeAll(async () => {
    dir = await makeTempDir('cli-relaunch-');
    model = await testModelDir('identity', { config: '2stems' });
    // Long enough that a separation is still running when the test signals it; made by ffmpeg
    // (about a second) rather than generated here (about a minute under jest).
    input = path.join(dir, 'long.wav');
    await runFfmpeg([
      '-f',
      'lavfi',
      '-i',
      'anoisesrc=d=600:a=0.3:seed=3:r=44100',
      '-ac',
      '2',
      '-c:a',
      'pcm_s16le',
      input,
    ]);
  });
  afterAll(async () => {
    for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('separates in a child started with the tunable; SIGINT to the parent cancels it cleanly', async () => {
    const out = path.join(dir, 'out-int');
    const { proc, exit } = start(['separate', input, '-m', model, '-o', out, '-q']);
    const child = await relaunchedChild(proc);
    // Right after fork() the child still shows the parent's environment, until its exec.
    let environ: string[] = [];
    for (let i = 0; i < 100 && !environ.some((v) => v.startsWith('GLIBC_TUNABLES=')); i++) {
      environ = fs.readFileSync(`/proc/${child}/environ`, 'utf8').split('\0');
      await sleep(50);
    }
    // glibc's start-up rewrites the variable in place (here it keeps only the first tunable), so
    // the child's environ shows the huge-page tunable; the heap tunables are in the parent's env.
    expect(environ).toContain(`GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE}`);
    expect(hugePagesRelaunchEnv({})?.GLIBC_TUNABLES).toBe(
      [HUGE_PAGES_TUNABLE, ...BATCH_MALLOC_TUNABLES].join(':'),
    );
    await untilWriting(out);
    expect(proc.exitCode).toBeNull();
    proc.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(alive(child)).toBe(false);
    expect(stems(out)).toEqual([]);
  });

  it('stops the child when the parent is killed with SIGKILL', async () => {
    const out = path.join(dir, 'out-kill');
    const { proc, exit } = start(['separate', input, '-m', model, '-o', out, '-q']);
    const child = await relaunchedChild(proc);
    await untilWriting(out);
    proc.kill('SIGKILL');
    expect(await exit).toBe('SIGKILL');
    for (let i = 0; i < 100 && alive(child); i++) await sleep(100);
    expect(alive(child)).toBe(false);
    expect(stems(out)).toEqual([]);
  });

  it('runs in one process with SPLEETER_HUGE_PAGES=0, and both ways exit and print alike', async () => {
    const out = path.join(dir, 'out-off');
    const { proc, exit } = start(['separate', input, '-m', model, '-o', out, '-q'], {
      SPLEETER_HUGE_PAGES: '0',
    });
    await untilWriting(out);
    expect(childrenOf(proc.pid!)).toEqual([]);
    proc.kill('SIGINT');
    expect(await exit).toBe(130);

    const text = await writeTextFile(path.join(dir, 'notes.wav'));
    const env = { SPLEETER_MODELS_DIR: path.join(dir, 'models') };
    const [relaunched, inProcess] = await Promise.all([
      runCli(['separate', text, '-m', 'builtin:center', '-o', 'bad'], dir, env),
      runCli(['separate', text, '-m', 'builtin:center', '-o', 'bad'], dir, {
        ...env,
        SPLEETER_HUGE_PAGES: '0',
      }),
    ]);
    expect(relaunched.code).toBe(3);
    expect(relaunched).toMatchObject({
      code: inProcess.code,
      stdout: inProcess.stdout,
      stderr: inProcess.stderr,
    });
  });
});
