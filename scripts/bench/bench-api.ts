/**
 * `npm run bench:api`: the REST API under concurrency (issue 16).
 *
 * Default scenario (`--scenario concurrency`), an in-process server with a generated full-size
 * 2-stem Spleeter model (seeded weights, as `npm run bench`) as its default model:
 *   1. N simultaneous separations of a generated 3-minute stereo WAV against the same N one after
 *      another, both on warm workers, interleaved over `--rounds` rounds (the order alternates);
 *      prints each side's median total time and their ratio (issue target ≤ 1.1).
 *   2. While one 3-minute separation runs: `--uploads` concurrent uploads of the 11 s example clip
 *      (re-encoded to MP3 with ffmpeg in a temp dir), each timed from the request to its 202; prints
 *      p50/p95/max (issue target p50 ≤ 1 s). The uploaded jobs are canceled afterwards.
 * `--thread-budget` sets performance.inference_thread_budget (a large value, e.g. 1024, turns the
 * shared budget off: every job's sessions use every core, the behaviour before the budget).
 *
 * `--scenario load`: N concurrent clients each separate the clip M times over HTTP (POST with
 * `?wait`, polling if the wait runs out), then download every stem. Prints throughput, p50/p95/max
 * latency and the server's RSS over the run. `--url` benchmarks a running server instead.
 *
 * Every loop is bounded (polls by a deadline); the server listens on 127.0.0.1 only and uses a temp
 * directory (embedded SQLite, in-process queue) that is removed at the end.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import type { INestApplication } from '@nestjs/common';
import { spawn, spawnSync } from 'child_process';
import * as net from 'net';
import { Command, InvalidArgumentError } from 'commander';
import { musicWav } from './bench-wav';
import { generateTestModelFiles } from '../../src/core/onnx/test-model-generator';

const ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_CLIP = path.resolve(ROOT, '..', 'shared', 'fixtures', 'audio', 'audio_example.mp3');
const BENCH_DIR = path.resolve(process.env.BENCH_DIR ?? path.join(ROOT, '.bench'));

interface Options {
  scenario: 'concurrency' | 'load';
  jobs: number;
  seconds: number;
  rounds: number;
  uploads: number;
  threadBudget: number;
  threads: number;
  workerNice: number;
  probeConcurrency: number;
  nativeMp3: boolean;
  clients: number;
  requests: number;
  file: string;
  model: string;
  url?: string;
  apiKey?: string;
  queueConcurrency: number;
  fakeEngine: boolean;
}

interface Sample {
  latencyMs: number;
  audioSec: number;
  status: string;
  downloadedBytes: number;
}

const MB = 1024 * 1024;

function nonNegInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer ≥ 0`);
    return n;
  };
}

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

async function main(argv: string[]): Promise<void> {
  const opts = new Command()
    .name('bench-api')
    .option('-s, --scenario <name>', 'concurrency (default) or load', 'concurrency')
    .option('--jobs <n>', 'concurrency: separations at once vs one after another', positiveInt('jobs'), 4)
    .option('--seconds <n>', 'concurrency: length of the generated input', positiveInt('seconds'), 180)
    .option(
      '--rounds <n>',
      'concurrency: interleaved rounds (medians reported; 0: uploads only)',
      nonNegInt('rounds'),
      2,
    )
    .option(
      '--uploads <n>',
      'concurrency: concurrent uploads during a separation',
      positiveInt('uploads'),
      40,
    )
    .option(
      '--thread-budget <n>',
      'performance.inference_thread_budget (0 = default; 1024 = effectively off)',
      nonNegInt('thread-budget'),
      0,
    )
    .option('--no-native-mp3', 'audio.native_mp3_probe false (every upload probed by ffprobe)')
    .option('--threads <n>', 'performance.intra_op_threads (0 = one per core)', nonNegInt('threads'), 0)
    .option('--worker-nice <n>', 'performance.worker_nice (0 = off)', nonNegInt('worker-nice'), 10)
    .option(
      '--probe-concurrency <n>',
      'audio.probe_concurrency (0 = one per core; 1000 = effectively unbounded)',
      nonNegInt('probe-concurrency'),
      0,
    )
    .option('-c, --clients <n>', 'concurrent clients', positiveInt('clients'), 4)
    .option('-n, --requests <n>', 'separations per client', positiveInt('requests'), 3)
    .option('-f, --file <path>', 'input audio', DEFAULT_CLIP)
    .option('-m, --model <name>', 'model', 'builtin:center')
    .option(
      '--url <base>',
      'benchmark a running server (e.g. http://127.0.0.1:8080) instead of an in-process one',
    )
    .option('--api-key <key>', 'X-API-KEY for --url')
    .option(
      '--queue-concurrency <n>',
      'in-process server: jobs run in parallel',
      positiveInt('queue-concurrency'),
      Math.max(1, Math.min(2, os.cpus().length)),
    )
    .option(
      '--fake-engine',
      'in-process server: the REST layer alone, with the test engine (WAV input only)',
      false,
    )
    .parse(argv)
    .opts<Options>();

  if (opts.scenario !== 'concurrency' && opts.scenario !== 'load') {
    process.stderr.write(`unknown scenario '${String(opts.scenario)}' (concurrency or load)\n`);
    process.exit(2);
  }
  if (!fs.existsSync(opts.file)) {
    process.stderr.write(
      `Input ${opts.file} not found (the default is the shared 11 s fixture next to the repository).\n`,
    );
    process.exit(2);
  }
  if (opts.scenario === 'concurrency') return runConcurrency(opts);
  const input = fs.readFileSync(opts.file);
  const server = opts.url
    ? { base: opts.url.replace(/\/+$/, ''), close: async () => undefined }
    : await startServer(opts);
  const headers: Record<string, string> = opts.apiKey ? { 'X-API-KEY': opts.apiKey } : {};

  const rss: number[] = [];
  const sampler = opts.url ? null : setInterval(() => rss.push(process.memoryUsage().rss), 100);
  const baseline = process.memoryUsage().rss;
  log(
    `${opts.clients} client(s) × ${opts.requests} separation(s) of ${path.basename(opts.file)} (${(input.length / MB).toFixed(2)} MB), model ${opts.model}` +
      (opts.url
        ? ` against ${server.base}`
        : `, in-process server, queue concurrency ${opts.queueConcurrency}`),
  );

  const samples: Sample[] = [];
  const failures: string[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, client) => {
      for (let i = 0; i < opts.requests; i++) {
        try {
          samples.push(await separateOnce(server.base, headers, input, path.basename(opts.file), opts.model));
        } catch (err) {
          failures.push(`client ${client} #${i}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const wallSec = (performance.now() - started) / 1000;
  if (sampler) clearInterval(sampler);
  await server.close();

  const ok = samples.filter((s) => s.status === 'succeeded');
  const lat = ok.map((s) => s.latencyMs).sort((a, b) => a - b);
  const audio = ok.reduce((n, s) => n + s.audioSec, 0);
  log('');
  log(
    `jobs:        ${ok.length} succeeded, ${samples.length - ok.length} not succeeded, ${failures.length} request error(s)`,
  );
  log(`wall time:   ${wallSec.toFixed(2)} s`);
  log(
    `throughput:  ${(audio / wallSec).toFixed(2)} audio s per wall s (${(ok.length / wallSec).toFixed(2)} jobs/s)`,
  );
  if (lat.length) {
    log(
      `latency:     p50 ${pct(lat, 0.5).toFixed(0)} ms, p95 ${pct(lat, 0.95).toFixed(0)} ms, max ${lat[lat.length - 1].toFixed(0)} ms`,
    );
  }
  log(`downloaded:  ${(ok.reduce((n, s) => n + s.downloadedBytes, 0) / MB).toFixed(1)} MB of stems`);
  if (rss.length) {
    // Bounded = the second half of the run does not sit higher than the first: no per-job growth.
    const half = Math.floor(rss.length / 2);
    const peakFirst = Math.max(...rss.slice(0, half));
    const peakSecond = Math.max(...rss.slice(half));
    log(
      `memory:      RSS baseline ${(baseline / MB).toFixed(0)} MB, peak ${(Math.max(...rss) / MB).toFixed(0)} MB ` +
        `(first half ${(peakFirst / MB).toFixed(0)} MB, second half ${(peakSecond / MB).toFixed(0)} MB)` +
        ` → ${peakSecond <= peakFirst * 1.2 + 32 * MB ? 'bounded' : 'GROWING'}`,
    );
  }
  for (const f of failures.slice(0, 10)) log(`  error: ${f}`);
  if (failures.length || ok.length < samples.length) process.exitCode = 1;
}

async function separateOnce(
  base: string,
  headers: Record<string, string>,
  input: Buffer,
  name: string,
  model: string,
): Promise<Sample> {
  const t0 = performance.now();
  const form = new FormData();
  form.set('model', model);
  form.set('file', new Blob([input]), name);
  let res = await fetch(`${base}/v1/separations?wait=300`, { method: 'POST', body: form, headers });
  let job = (await res.json()) as {
    id: string;
    status: string;
    input: { durationSec: number };
    stems: Array<{ url: string }>;
    detail?: string;
    code?: string;
  };
  if (res.status !== 200 && res.status !== 202)
    throw new Error(`POST → ${res.status} ${job.code ?? ''} ${job.detail ?? ''}`);
  while (job.status === 'queued' || job.status === 'running') {
    await new Promise((r) => setTimeout(r, 250));
    res = await fetch(`${base}/v1/separations/${job.id}`, { headers });
    job = (await res.json()) as typeof job;
  }
  const latencyMs = performance.now() - t0;
  let downloadedBytes = 0;
  for (const stem of job.stems ?? []) {
    const r = await fetch(stem.url.startsWith('http') ? stem.url : `${base}${stem.url}`, { headers });
    if (!r.ok || !r.body) throw new Error(`GET ${stem.url} → ${r.status}`);
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) downloadedBytes += chunk.length;
  }
  return { latencyMs, audioSec: job.input?.durationSec ?? 0, status: job.status, downloadedBytes };
}

async function startServer(opts: Options): Promise<{ base: string; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-api-'));
  const overrides = {
    env: 'production',
    security: { auth_enabled: false, rate_limit: { limit: 1_000_000 } },
    cache: { enabled: false },
    logging: { level: 'warn' },
    monitoring: { enabled: false },
    database: { sqlite_path: path.join(dir, 'db.sqlite') },
    storage: { dir: path.join(dir, 'storage') },
    models: { dir: process.env.SPLEETER_MODELS_DIR ?? path.join(dir, 'models') },
    // One engine worker thread per queue slot, so a 'running' job is really running.
    queue: { concurrency: opts.queueConcurrency, capacity: 10_000 },
  };
  let app: INestApplication;
  if (opts.fakeEngine) {
    const { Test } = await import('@nestjs/testing');
    const { AppModule } = await import('../../src/app.module');
    const { configureApp } = await import('../../src/app.factory');
    const { EngineService } = await import('../../src/modules/engine/engine.service');
    const { FakeEngineService } = await import('../../test/support/fake-engine');
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot({ env: {}, overrides })] })
      .overrideProvider(EngineService)
      .useValue(new FakeEngineService())
      .compile();
    const nest = moduleRef.createNestApplication({ bodyParser: false, logger: ['error', 'warn'] });
    configureApp(nest as never);
    app = nest;
  } else {
    const { createApp } = await import('../../src/app.factory');
    app = await createApp({ config: { env: {}, overrides }, logger: false });
  }
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface JobView {
  id: string;
  status: string;
  detail?: string;
  code?: string;
}

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

async function runConcurrency(opts: Options): Promise<void> {
  const jobs = opts.jobs;
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const modelDir = ensureModel();
  const longInput = await ensureWav(path.join(BENCH_DIR, `input-${opts.seconds}s.wav`), opts.seconds);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-api-clip-'));
  try {
    const clip = path.join(tmp, 'clip.mp3');
    const ff = spawnSync(
      'ffmpeg',
      ['-v', 'error', '-y', '-i', opts.file, '-c:a', 'libmp3lame', '-b:a', '192k', clip],
      {
        timeout: 60_000,
      },
    );
    if (ff.status !== 0)
      throw new Error(`ffmpeg could not make the MP3 clip: ${ff.stderr?.toString() ?? ff.error}`);
    const server = await startChildServer({
      SPLEETER_DEFAULT_MODEL: modelDir,
      SPLEETER_QUEUE__CONCURRENCY: String(Math.max(jobs, 2)),
      SPLEETER_PERFORMANCE__IDLE_RELEASE_S: '0',
      SPLEETER_PERFORMANCE__INTRA_OP_THREADS: String(opts.threads),
      SPLEETER_PERFORMANCE__INFERENCE_THREAD_BUDGET: String(opts.threadBudget),
      SPLEETER_PERFORMANCE__WORKER_NICE: String(opts.workerNice),
      SPLEETER_AUDIO__PROBE_CONCURRENCY: String(opts.probeConcurrency),
      SPLEETER_AUDIO__NATIVE_MP3_PROBE: String(opts.nativeMp3),
    });
    try {
      const long = fs.readFileSync(longInput);
      const clipBytes = fs.readFileSync(clip);
      log(
        `${jobs} × ${opts.seconds} s stereo WAV (${(long.length / MB).toFixed(1)} MB), full-size 2-stem model, ` +
          `${os.availableParallelism()} cores, intra_op_threads ${opts.threads || 'auto'}, ` +
          `inference_thread_budget ${opts.threadBudget || 'auto'}, worker_nice ${opts.workerNice}, ` +
          `probe_concurrency ${opts.probeConcurrency || 'auto'}, native_mp3_probe ${opts.nativeMp3}, ` +
          `queue concurrency ${Math.max(jobs, 2)}, server in its own process`,
      );
      if (opts.rounds > 0) {
        // A short input is enough to start every worker and load the model in each.
        log('warm-up: starting the workers and loading the model…');
        const warm = fs.readFileSync(await ensureWav(path.join(BENCH_DIR, 'input-5s.wav'), 5));
        await timeAll(server.base, warm, jobs, true);
      }

      const seq: number[] = [];
      const sim: number[] = [];
      for (let r = 0; r < opts.rounds; r++) {
        const order: Array<'seq' | 'sim'> = r % 2 === 0 ? ['seq', 'sim'] : ['sim', 'seq'];
        for (const side of order) {
          const ms = await timeAll(server.base, long, jobs, side === 'sim');
          (side === 'sim' ? sim : seq).push(ms);
          log(
            `  round ${r + 1}: ${side === 'sim' ? 'simultaneous' : 'sequential  '} ${(ms / 1000).toFixed(2)} s`,
          );
        }
      }

      log(
        `uploads: ${opts.uploads} concurrent uploads of the ${clipBytes.length} B MP3 while a separation runs…`,
      );
      const upload = await uploadsDuringSeparation(server.base, long, clipBytes, opts.uploads);

      const seqMs = median(seq);
      const simMs = median(sim);
      log('');
      if (opts.rounds > 0) {
        log(`${jobs} sequential:   ${(seqMs / 1000).toFixed(2)} s (median of ${seq.length})`);
        log(`${jobs} simultaneous: ${(simMs / 1000).toFixed(2)} s (median of ${sim.length})`);
        log(`ratio simultaneous ÷ sequential: ${(simMs / seqMs).toFixed(3)} (target ≤ 1.1)`);
      }
      const lat = upload.latencies.sort((a, b) => a - b);
      if (lat.length)
        log(
          `upload → 202 (${lat.length} of ${opts.uploads}, separation ${upload.separationRunning ? 'running' : 'NOT running'} throughout): ` +
            `p50 ${(pct(lat, 0.5) / 1000).toFixed(3)} s, p95 ${(pct(lat, 0.95) / 1000).toFixed(3)} s, max ${(lat[lat.length - 1] / 1000).toFixed(3)} s (target p50 ≤ 1 s)`,
        );
      for (const f of upload.failures.slice(0, 5)) log(`  upload error: ${f}`);
      if (upload.failures.length) process.exitCode = 1;
    } finally {
      await server.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Submits `n` separations (all at once, or each after the previous finished); ms until all finished. */
async function timeAll(base: string, input: Buffer, n: number, together: boolean): Promise<number> {
  const t0 = performance.now();
  const one = async () => {
    const job = await submit(base, input, 'long.wav');
    const done = await waitFor(base, job.id, (j) => TERMINAL.has(j.status), 20 * 60_000);
    if (done.status !== 'succeeded')
      throw new Error(`job ${job.id} ${done.status}: ${done.code ?? ''} ${done.detail ?? ''}`);
  };
  if (together) await Promise.all(Array.from({ length: n }, one));
  else for (let i = 0; i < n; i++) await one();
  return performance.now() - t0;
}

async function uploadsDuringSeparation(
  base: string,
  long: Buffer,
  clip: Buffer,
  count: number,
): Promise<{ latencies: number[]; failures: string[]; separationRunning: boolean }> {
  const running = await submit(base, long, 'long.wav');
  await waitFor(base, running.id, (j) => j.status !== 'queued', 60_000);
  const latencies: number[] = [];
  const failures: string[] = [];
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const t0 = performance.now();
      try {
        const form = new FormData();
        form.set('file', new Blob([clip]), `clip-${i}.mp3`);
        const res = await fetch(`${base}/v1/separations`, { method: 'POST', body: form });
        const body = (await res.json()) as JobView;
        if (res.status !== 202)
          throw new Error(`POST → ${res.status} ${body.code ?? ''} ${body.detail ?? ''}`);
        latencies.push(performance.now() - t0);
        ids.push(body.id);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }),
  );
  const state = await getJob(base, running.id);
  const separationRunning = state.status === 'running';
  // Not part of the measure: cancel what was queued and the long job, and wait for them to settle.
  for (const id of [...ids, running.id]) await fetch(`${base}/v1/separations/${id}`, { method: 'DELETE' });
  for (const id of [...ids, running.id]) await waitFor(base, id, (j) => TERMINAL.has(j.status), 120_000);
  return { latencies, failures, separationRunning };
}

async function submit(base: string, input: Buffer, name: string): Promise<JobView> {
  const form = new FormData();
  form.set('file', new Blob([input]), name);
  const res = await fetch(`${base}/v1/separations`, { method: 'POST', body: form });
  const job = (await res.json()) as JobView;
  if (res.status !== 202 && res.status !== 200)
    throw new Error(`POST → ${res.status} ${job.code ?? ''} ${job.detail ?? ''}`);
  return job;
}

async function getJob(base: string, id: string): Promise<JobView> {
  const res = await fetch(`${base}/v1/separations/${id}`);
  return (await res.json()) as JobView;
}

/** Polls the job every 100 ms until `done` holds; throws after `limitMs`. */
async function waitFor(
  base: string,
  id: string,
  done: (j: JobView) => boolean,
  limitMs: number,
): Promise<JobView> {
  const end = performance.now() + limitMs;
  for (;;) {
    const job = await getJob(base, id);
    if (done(job)) return job;
    if (performance.now() > end) throw new Error(`job ${id} still ${job.status} after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The server as its own process (sources through swc, as `npm run bench:idle`), so the benchmark's
 * clients do not share its event loop; temp dirs, embedded SQLite, in-process queue, 127.0.0.1.
 */
async function startChildServer(
  env: Record<string, string>,
): Promise<{ base: string; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-api-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      SPLEETER_HOST: '127.0.0.1',
      SPLEETER_PORT: String(port),
      SPLEETER_MODELS_DIR: path.join(dir, 'models'),
      SPLEETER_STORAGE_DIR: path.join(dir, 'storage'),
      SPLEETER_CACHE_DIR: path.join(dir, 'cache'),
      SPLEETER_SQLITE_PATH: path.join(dir, 'db.sqlite'),
      SPLEETER_CACHE__ENABLED: 'false',
      SPLEETER_SECURITY__AUTH_ENABLED: 'false',
      SPLEETER_SECURITY__RATE_LIMIT__LIMIT: '1000000',
      SPLEETER_QUEUE__CAPACITY: '10000',
      SPLEETER_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const exited = new Promise((r) => child.once('exit', r));
    if (child.exitCode === null && child.signalCode === null)
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const end = Date.now() + 180_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited (code ${child.exitCode})`);
      const live = await fetch(`${base}/health/live`).then(
        (r) => r.ok,
        () => false,
      );
      if (live) break;
      if (Date.now() > end) throw new Error('server not live within 180 s');
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { base, close };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function ensureModel(): string {
  const modelDir = path.join(BENCH_DIR, 'model-2stems-full');
  if (!fs.existsSync(path.join(modelDir, 'spleeter.json'))) {
    log('generating the full-size 2-stem model (seeded random weights)…');
    fs.mkdirSync(modelDir, { recursive: true });
    for (const [name, bytes] of generateTestModelFiles('full', { config: '2stems', seed: 1 }))
      fs.writeFileSync(path.join(modelDir, name), bytes);
  }
  return modelDir;
}

/** The input (bench-wav.ts), written once and logged when it is. */
async function ensureWav(file: string, seconds: number): Promise<string> {
  if (!fs.existsSync(file)) log(`writing ${seconds} s test input ${path.basename(file)}…`);
  return musicWav(file, seconds);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function pct(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`bench-api failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
