/**
 * `npm run bench:api`: load check of the REST API.
 *
 * N concurrent clients each separate the 11 s example clip M times over HTTP (POST with `?wait`,
 * polling if the wait runs out), then download every stem. Prints throughput (audio seconds per wall
 * second), p50/p95/max latency (upload → finished job), and the server's RSS over the run, to show
 * that memory stays bounded (uploads stream to disk, downloads stream from it).
 *
 * By default the server runs in this process (temp dirs, auth off, result cache off so every
 * request really separates); `--url` benchmarks a running server instead (memory then is not
 * measured here: watch the server). Options: see `--help`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import type { INestApplication } from '@nestjs/common';
import { Command, InvalidArgumentError } from 'commander';

const ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_CLIP = path.resolve(ROOT, '..', 'shared', 'fixtures', 'audio', 'audio_example.mp3');

interface Options {
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

  if (!fs.existsSync(opts.file)) {
    process.stderr.write(
      `Input ${opts.file} not found (the default is the shared 11 s fixture next to the repository).\n`,
    );
    process.exit(2);
  }
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
    queue: { concurrency: opts.queueConcurrency, capacity: 10_000 },
    // One engine worker thread per queue slot, so a 'running' job is really running.
    performance: { max_concurrent_jobs: opts.queueConcurrency },
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
