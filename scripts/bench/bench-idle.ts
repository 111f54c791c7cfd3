/**
 * `npm run bench:idle`: the server's memory around one 4-stem job, with and without idle release.
 *
 * For each `performance.idle_release_s` setting (default 30 and 0) it starts the server as its own
 * process (`node -r @swc-node/register src/main.ts`, temp dirs, auth and result cache off) with a
 * generated full-size 4-stem Spleeter model as the default model, then reads the process's VmRSS
 * (/proc/<pid>/status: every thread, worker threads and onnxruntime's pools included):
 *   start-up  2 s after /health/live answers,
 *   peak      highest sample (every 100 ms) while a job on a 30 s stereo input runs,
 *   idle      `--idle-after` s (default 60) after that job,
 * then runs a second job (warm worker with release off, cold start after a release) and prints a
 * table with the ratio of the idle RSS to the 400 MB target (issue 16). Linux only.
 *
 * `--dist` runs the compiled build (`node dist/main.js`, as the images do; built first with
 * `node -r @swc-node/register scripts/build-dist-swc.ts dist`). From sources every thread (the
 * separation worker and its instrument session threads too) loads swc and compiles the TypeScript
 * it runs, memory a production server never holds.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { Command, InvalidArgumentError } from 'commander';
import { testModelDir } from '../../test/factories/models';

const ROOT = path.resolve(__dirname, '..', '..');
const TARGET_MB = 400;

interface Options {
  env: string[];
  dist: boolean;
  idle: number[];
  seconds: number;
  idleAfter: number;
}

interface RunResult {
  idleReleaseS: number;
  startupMb: number;
  peakMb: number;
  idleMb: number;
  firstJobS: number;
  secondJobS: number;
  secondPeakMb: number;
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 16-bit stereo 44.1 kHz WAV: tones and a little noise (something for every stem). */
function writeInput(file: string, seconds: number): void {
  const rate = 44100;
  const frames = Math.round(seconds * rate);
  const pcm = new Int16Array(frames * 2);
  let seed = 12345;
  for (let i = 0; i < frames; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const n = (seed / 0x100000000 - 0.5) * 0.05;
    const t = i / rate;
    const a = 0.3 * Math.sin(2 * Math.PI * 110 * t) + 0.2 * Math.sin(2 * Math.PI * 880 * t);
    pcm[2 * i] = Math.round((a + n) * 32767);
    pcm[2 * i + 1] = Math.round((a * 0.8 - n) * 32767);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + pcm.byteLength, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(pcm.byteLength, 40);
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from(pcm.buffer)]));
}

async function waitLive(base: string, child: ChildProcess, limitMs = 180_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`server exited (code ${child.exitCode})`);
    try {
      if ((await fetch(`${base}/health/live`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`server not live within ${limitMs / 1000} s`);
}

/** Runs one job (wait mode) while sampling RSS; returns its wall time and the peak RSS. */
async function job(base: string, pid: number, wav: Buffer): Promise<{ seconds: number; peakMb: number }> {
  let peak = rssMb(pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 100);
  const started = performance.now();
  try {
    const form = new FormData();
    form.append('file', new Blob([wav], { type: 'audio/wav' }), 'input.wav');
    const res = await fetch(`${base}/v1/separations?wait=300`, { method: 'POST', body: form });
    let body = (await res.json()) as { id?: string; status?: string };
    if (res.status !== 200 && res.status !== 202)
      throw new Error(`job refused: HTTP ${res.status} ${JSON.stringify(body).slice(0, 400)}`);
    // 202: still running after the longest wait; poll (bounded) until it ends.
    const end = Date.now() + 30 * 60_000;
    while (body.status !== 'succeeded' && body.status !== 'failed' && Date.now() < end) {
      await sleep(500);
      body = (await (await fetch(`${base}/v1/separations/${body.id}`)).json()) as typeof body;
    }
    if (body.status !== 'succeeded')
      throw new Error(`job did not succeed: ${JSON.stringify(body).slice(0, 400)}`);
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, rssMb(pid));
  return { seconds: (performance.now() - started) / 1000, peakMb: peak };
}

async function runOnce(
  idleReleaseS: number,
  model: string,
  wav: Buffer,
  idleAfterS: number,
  extraEnv: Record<string, string>,
  dist: boolean,
): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-idle-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    SPLEETER_HOST: '127.0.0.1',
    SPLEETER_PORT: String(port),
    SPLEETER_MODELS_DIR: path.join(dir, 'models'),
    SPLEETER_DEFAULT_MODEL: model,
    SPLEETER_STORAGE_DIR: path.join(dir, 'storage'),
    SPLEETER_CACHE_DIR: path.join(dir, 'cache'),
    SPLEETER_SQLITE_PATH: path.join(dir, 'db.sqlite'),
    SPLEETER_CACHE__ENABLED: 'false',
    SPLEETER_SECURITY__AUTH_ENABLED: 'false',
    SPLEETER_LOG_LEVEL: 'warn',
    SPLEETER_PERFORMANCE__IDLE_RELEASE_S: String(idleReleaseS),
    ...extraEnv,
  };
  const args = dist ? ['dist/main.js'] : ['-r', '@swc-node/register', 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pid = child.pid!;
  try {
    await waitLive(base, child);
    await sleep(2000);
    const startupMb = rssMb(pid);
    const first = await job(base, pid, wav);
    await sleep(idleAfterS * 1000);
    const idleMb = rssMb(pid);
    const second = await job(base, pid, wav);
    return {
      idleReleaseS,
      startupMb,
      peakMb: first.peakMb,
      idleMb,
      firstJobS: first.seconds,
      secondJobS: second.seconds,
      secondPeakMb: second.peakMb,
    };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(15_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
}

async function main(argv: string[]): Promise<void> {
  const opts = new Command()
    .name('bench-idle')
    .option(
      '--idle <list>',
      'performance.idle_release_s values, comma-separated',
      (v) => v.split(',').map(seconds),
      [30, 0],
    )
    .option(
      '--env <KEY=VALUE>',
      'extra environment for the server (repeatable), e.g. GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--dist', 'run the compiled build (dist/main.js) instead of the sources through swc', false)
    .option('--seconds <s>', 'input length in seconds', seconds, 30)
    .option('--idle-after <s>', 'seconds after the first job at which the idle RSS is read', seconds, 60)
    .parse(argv)
    .opts<Options>();
  if (process.platform !== 'linux') throw new Error('bench:idle reads /proc and runs on Linux only');
  if (opts.dist && !fs.existsSync(path.join(ROOT, 'dist', 'main.js')))
    throw new Error(
      '--dist: no dist/main.js; build it: node -r @swc-node/register scripts/build-dist-swc.ts dist',
    );

  process.stderr.write('generating the full-size 4-stem model (cached in .cache/test-models)...\n');
  const model = await testModelDir('full', { config: '4stems' });
  const tmpWav = path.join(os.tmpdir(), `bench-idle-${process.pid}.wav`);
  writeInput(tmpWav, opts.seconds);
  const wav = fs.readFileSync(tmpWav);
  fs.rmSync(tmpWav, { force: true });

  const extraEnv: Record<string, string> = {};
  for (const kv of opts.env) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`--env ${kv}: expected KEY=VALUE`);
    extraEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const results: RunResult[] = [];
  for (const idle of opts.idle) {
    process.stderr.write(`idle_release_s=${idle}: starting the server...\n`);
    results.push(await runOnce(idle, model, wav, opts.idleAfter, extraEnv, opts.dist));
  }

  const f = (n: number) => n.toFixed(0).padStart(8);
  const s = (n: number) => n.toFixed(1).padStart(8);
  console.log(
    `\n4-stem full-size Spleeter, ${opts.seconds} s stereo input, ${os.cpus().length} CPUs; RSS in MiB` +
      (opts.dist ? '; server: dist/main.js' : '; server: src/main.ts through swc') +
      (opts.env.length ? `; server env ${opts.env.join(' ')}` : ''),
  );
  console.log(
    'idle_release_s  start-up   peak(1)  idle@' +
      `${opts.idleAfter}s`.padEnd(4) +
      '  idle/target  job1 s  job2 s  peak(2)',
  );
  for (const r of results) {
    console.log(
      `${String(r.idleReleaseS).padStart(14)}  ${f(r.startupMb)}  ${f(r.peakMb)}  ${f(r.idleMb)}  ` +
        `${(r.idleMb / TARGET_MB).toFixed(2).padStart(11)}  ${s(r.firstJobS)}${s(r.secondJobS)}  ${f(r.secondPeakMb)}`,
    );
  }
  console.log(`target: idle RSS <= ${TARGET_MB} MB (ratio <= 1.00). job2 runs after the idle wait:`);
  console.log('a warm worker when idle_release_s is 0, a cold start (model load) after a release.');
}

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`bench-idle failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
