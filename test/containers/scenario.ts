/**
 * A small cluster in real containers (issue 10): one API container and two worker containers of
 * the CPU image, on the host network, against the machine's PostgreSQL and Redis (own database,
 * own key prefix), one empty named volume shared at /data, read-only root filesystems, uid 1000.
 *
 * Six separations of real audio (the ../shared clip looped to a few minutes; generated audio when
 * ../shared is absent) with a full-size generated 2-stem model; one worker is killed (SIGKILL)
 * while both run a job, the API container is restarted while jobs are queued. Then: every job
 * succeeded exactly once (one attempt each, two for the job of the killed worker), its stems are
 * byte-identical to a single-process CLI run of the same input and model in the same image, no
 * `.partial` file or staging directory is left on the volume, and every log line of every
 * container is JSON. Everything it creates is removed at the end, failed or not.
 *
 * Run by test/containers/run.sh (`npm run test:containers`) with IMAGE set; prints step timings.
 */
import { execFile, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync } from 'fs';
import * as net from 'net';
import * as path from 'path';
import IORedis from 'ioredis';
import { Client } from 'pg';

const IMAGE = process.env.IMAGE ?? 'spleeter-server:containers-test';
const PG_URL = process.env.SPLEETER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.SPLEETER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SHARED_AUDIO = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'audio');
const CLIP = 'audio_example.mp3';
const MODEL = 'sherpa:spleeter-2stems';
const JOBS = 6;
const RUN = randomBytes(4).toString('hex');
const NAME = `spleeter-ct-${RUN}`;
const LABEL = `spleeter.containers-test=${RUN}`;
const API_KEY = randomBytes(24).toString('hex');
const DB_NAME = `spleeter_ct_${RUN}`;
const QUEUE_PREFIX = `spleeter-ct-${RUN}`;
const DEADLINE_MS = 12 * 60_000;

const t0 = Date.now();
function step(message: string): void {
  process.stdout.write(`[containers ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}

class CheckFailed extends Error {}
function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
  step(`ok: ${message}`);
}

function docker(args: string[], options: { input?: string; allowFail?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'docker',
      args,
      { maxBuffer: 256 * 1024 * 1024, encoding: 'buffer' },
      (err, stdout, stderr) => {
        if (err && !options.allowFail) {
          reject(
            new Error(
              `docker ${args.slice(0, 3).join(' ')} failed: ${stderr.toString().trim() || err.message}`,
            ),
          );
        } else resolve(stdout.toString());
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** A container's log, stdout and stderr together (the app logs to both). */
function containerLogs(name: string, tail?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['logs', ...(tail ? ['--tail', String(tail)] : []), name]);
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ports {
  api: number;
  workers: [number, number];
}

/** Options every container of the cluster shares: the hardening under test. */
function runArgs(name: string, env: Record<string, string>): string[] {
  const args = [
    'run',
    '--detach',
    '--name',
    name,
    '--label',
    LABEL,
    '--network',
    'host',
    '--read-only',
    '--tmpfs',
    '/tmp',
    '--user',
    '1000:1000',
    '--volume',
    `${NAME}-data:/data`,
    '--stop-timeout',
    '20',
  ];
  for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
  return args;
}

function clusterEnv(dbUrl: string): Record<string, string> {
  return {
    SPLEETER_DATABASE_URL: dbUrl,
    SPLEETER_REDIS_URL: REDIS_URL,
    SPLEETER_QUEUE_DRIVER: 'redis',
    SPLEETER_QUEUE__PREFIX: QUEUE_PREFIX,
    SPLEETER_API_KEY: API_KEY,
    // Six jobs on two inputs: the result cache would answer four of them without a worker.
    SPLEETER_CACHE__ENABLED: 'false',
    SPLEETER_SECURITY__RATE_LIMIT__LIMIT: '100000',
    SPLEETER_THREADS: '2',
    SPLEETER_HOST: '127.0.0.1',
    SPLEETER_SERVER__SHUTDOWN_TIMEOUT_S: '10',
  };
}

async function startApi(ports: Ports, dbUrl: string): Promise<void> {
  await docker([
    ...runArgs(`${NAME}-api`, {
      ...clusterEnv(dbUrl),
      SPLEETER_ROLE: 'api',
      SPLEETER_PORT: String(ports.api),
    }),
    IMAGE,
    'node',
    'dist/main.js',
  ]);
}

async function startWorker(i: 0 | 1, ports: Ports, dbUrl: string): Promise<void> {
  await docker([
    ...runArgs(`${NAME}-worker${i + 1}`, {
      ...clusterEnv(dbUrl),
      SPLEETER_METRICS_PORT: String(ports.workers[i]),
    }),
    IMAGE,
    'node',
    'dist/worker.js',
  ]);
}

/** A one-off container on the shared volume (same hardening), returning its stdout. */
async function oneOff(script: string, extra: string[] = []): Promise<string> {
  return docker([
    'run',
    '--rm',
    '--label',
    LABEL,
    '--network',
    'host',
    '--read-only',
    '--tmpfs',
    '/tmp',
    '--user',
    '1000:1000',
    '--volume',
    `${NAME}-data:/data`,
    '--env',
    'SPLEETER_THREADS=2',
    ...extra,
    '--entrypoint',
    'sh',
    IMAGE,
    '-c',
    script,
  ]);
}

async function waitHealthy(url: string, what: string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(500);
  }
  throw new CheckFailed(`${what} not ready at ${url} within ${timeoutMs / 1000} s (${last})`);
}

interface JobView {
  id: string;
  status: string;
  progress: number;
  stems: Array<{ name: string; url: string }> | null;
  error?: { code: string; message: string } | null;
}

async function api(ports: Ports, route: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${ports.api}${route}`, {
    ...init,
    headers: { 'X-API-KEY': API_KEY, ...(init.headers ?? {}) },
    signal: AbortSignal.timeout(60_000),
  });
}

/** GET a job; null while the API is down (restart) or answering 5xx. */
async function getJob(ports: Ports, id: string): Promise<JobView | null> {
  try {
    const res = await api(ports, `/v1/separations/${id}`);
    if (res.status >= 500) return null;
    if (!res.ok) throw new CheckFailed(`GET job ${id}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as JobView;
  } catch (err) {
    if (err instanceof CheckFailed) throw err;
    return null;
  }
}

async function main(): Promise<void> {
  const admin = new Client({ connectionString: PG_URL });
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 2 });
  let db: Client | null = null;
  let failed = false;
  try {
    const ports: Ports = { api: await freePort(), workers: [await freePort(), await freePort()] };
    const dbUrl = PG_URL.replace(/\/[^/?]*(\?|$)/, `/${DB_NAME}$1`);
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
    await docker(['volume', 'create', '--label', LABEL, `${NAME}-data`]);
    step(
      `run ${RUN}: database ${DB_NAME}, Redis prefix ${QUEUE_PREFIX}, volume ${NAME}-data, ports ${JSON.stringify(ports)}`,
    );

    // ---------------------------------------------------------------- model and inputs on the volume
    const real = existsSync(path.join(SHARED_AUDIO, CLIP));
    const inputs = real
      ? `ffmpeg -nostdin -v error -stream_loop 29 -i /fixtures/${CLIP} -c:a libmp3lame -b:a 192k /data/inputs/a.mp3 && ` +
        `ffmpeg -nostdin -v error -stream_loop 19 -i /fixtures/${CLIP} -c:a flac /data/inputs/b.flac`
      : `ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=220:duration=327" -f lavfi -i "anoisesrc=d=327:a=0.05:seed=7" ` +
        `-filter_complex "[0][1]amix=inputs=2,aformat=channel_layouts=stereo" -c:a libmp3lame -b:a 192k /data/inputs/a.mp3 && ` +
        `ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=330:duration=218" -f lavfi -i "anoisesrc=d=218:a=0.05:seed=9" ` +
        `-filter_complex "[0][1]amix=inputs=2,aformat=channel_layouts=stereo" -c:a flac /data/inputs/b.flac`;
    if (!real) step(`${SHARED_AUDIO}/${CLIP} not found (../shared absent): generated audio instead`);
    await oneOff(
      [
        'set -e',
        'mkdir -p /data/inputs /data/work',
        inputs,
        'node dist/cli/main.js models generate-test /data/work/model --config 2stems --kind full >/dev/null',
        `node dist/cli/main.js models install ${MODEL} --from /data/work/model >/dev/null`,
        // One short run writes onnxruntime's optimized copy of the model (<models>/.ort-cache), so
        // the reference and every worker create their sessions from the same graph.
        'ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=440:duration=2" -ac 2 /tmp/warm.wav',
        `node dist/cli/main.js separate /tmp/warm.wav -m ${MODEL} -o /tmp/warm -q`,
        'rm -rf /data/work',
      ].join('\n'),
      real ? ['--volume', `${SHARED_AUDIO}:/fixtures:ro`] : [],
    );
    step(
      `inputs (${real ? 'the real clip, looped' : 'generated'}) and the full-size generated model ${MODEL} installed on the volume`,
    );

    // ---------------------------------------------------------------- single-process reference
    const refSums = await oneOff(
      [
        'set -e',
        `node dist/cli/main.js separate /data/inputs/a.mp3 /data/inputs/b.flac -m ${MODEL} -o /data/reference ` +
          `-f '{filename}/{instrument}.{codec}' -q`,
        'cd /data/reference && node -e "' +
          "const fs=require('fs'),c=require('crypto');for(const d of fs.readdirSync('.'))for(const f of fs.readdirSync(d))" +
          "console.log(d+'/'+f+' '+c.createHash('sha256').update(fs.readFileSync(d+'/'+f)).digest('hex'))" +
          '"',
      ].join('\n'),
    );
    const reference = new Map(
      refSums
        .split('\n')
        .filter((l) => /^[ab]\/[a-z]+\.wav [0-9a-f]{64}$/.test(l))
        .map((l) => l.split(' ') as [string, string]),
    );
    check(
      reference.size === 4,
      `reference run (CLI, one process) wrote 4 stems: ${[...reference.keys()].join(', ')}`,
    );

    // ---------------------------------------------------------------- cluster up
    // The API first: it runs the database migrations, which concurrent first starts would race.
    await startApi(ports, dbUrl);
    await waitHealthy(`http://127.0.0.1:${ports.api}/health/ready`, 'API');
    step('API (SPLEETER_ROLE=api) ready');

    // ---------------------------------------------------------------- submit
    const files = ['a.mp3', 'b.flac', 'a.mp3', 'b.flac', 'a.mp3', 'b.flac'];
    const bytes = new Map<string, Buffer>();
    for (const f of new Set(files)) {
      bytes.set(f, Buffer.from(await oneOff(`base64 -w0 /data/inputs/${f}`), 'base64'));
    }
    const jobs: Array<{ id: string; input: string }> = [];
    for (const f of files.slice(0, JOBS)) {
      const form = new FormData();
      form.append('file', new Blob([bytes.get(f)!]), f);
      form.append('model', MODEL);
      const res = await api(ports, '/v1/separations', { method: 'POST', body: form });
      const body = (await res.json()) as JobView;
      check(res.status === 202, `submitted ${f} → 202 job ${body.id}`);
      jobs.push({ id: body.id, input: f.replace(/\.\w+$/, '') });
    }
    // Workers start on a full queue, so both are busy at once when one is killed.
    db = new Client({ connectionString: dbUrl });
    await db.connect();
    await startWorker(0, ports, dbUrl);
    await startWorker(1, ports, dbUrl);
    step('2 workers (node dist/worker.js) started');
    const rows = async () =>
      (
        await db!.query<{ id: string; status: string; attempts: number; progress: number }>(
          'SELECT id, status, attempts, progress FROM separation_jobs',
        )
      ).rows;

    // ---------------------------------------------------------------- kill a worker mid-job
    let running: string[] = [];
    // Mid-job: both jobs seen running for 2 s (progress is no guide: ffmpeg-decoded inputs report
    // none until the end, issue 13 item 2).
    const killBy = Date.now() + 180_000;
    const since = new Map<string, number>();
    while (Date.now() < killBy) {
      const now = Date.now();
      const r = (await rows()).filter((j) => j.status === 'running');
      for (const id of [...since.keys()]) if (!r.some((j) => j.id === id)) since.delete(id);
      for (const j of r) if (!since.has(j.id)) since.set(j.id, now);
      running = [...since].filter(([, t]) => now - t >= 2000).map(([id]) => id);
      if (running.length === 2) break;
      await sleep(200);
    }
    check(running.length === 2, `both workers run a job (for 2 s): ${JSON.stringify(await rows())}`);
    for (const p of ports.workers) await waitHealthy(`http://127.0.0.1:${p}/health/ready`, 'worker');
    await docker(['kill', '--signal', 'KILL', `${NAME}-worker1`]);
    step(`docker kill worker1 (SIGKILL) while it ran one of ${running.join(', ')}`);

    // ---------------------------------------------------------------- restart the API mid-run
    await sleep(2000);
    const before = await rows();
    check(
      before.some((j) => j.status === 'queued'),
      `jobs still queued when the API restarts (${before.map((j) => j.status).join(', ')})`,
    );
    await docker(['restart', '--time', '20', `${NAME}-api`]);
    await waitHealthy(`http://127.0.0.1:${ports.api}/health/ready`, 'API after restart');
    step('API container restarted and ready again');

    // The killed worker comes back (its start-up sweep runs beside the live worker).
    await docker(['start', `${NAME}-worker1`]);
    await waitHealthy(`http://127.0.0.1:${ports.workers[0]}/health/ready`, 'worker1 after restart');
    step('worker1 started again');

    // ---------------------------------------------------------------- wait for all
    const until = Date.now() + 8 * 60_000;
    let views: Array<JobView | null> = [];
    while (Date.now() < until) {
      views = await Promise.all(jobs.map((j) => getJob(ports, j.id)));
      if (views.every((v) => v && ['succeeded', 'failed', 'canceled'].includes(v.status))) break;
      await sleep(1000);
    }
    for (const [i, v] of views.entries()) {
      check(
        v?.status === 'succeeded',
        `job ${jobs[i].id} (${jobs[i].input}) succeeded${v?.error ? ` (${v.error.code}: ${v.error.message})` : ''}`,
      );
    }
    step('all jobs finished');

    // ---------------------------------------------------------------- exactly once
    const final = await rows();
    const attempts = new Map(final.map((j) => [j.id, j.attempts]));
    const retried = final.filter((j) => j.attempts > 1);
    check(
      retried.length === 1 && running.includes(retried[0].id) && retried[0].attempts === 2,
      `exactly one job ran twice, the killed worker's (${retried.map((j) => `${j.id}: ${j.attempts} attempts`).join(', ')})`,
    );
    check(
      jobs.every((j) => attempts.get(j.id) === (j.id === retried[0].id ? 2 : 1)),
      'every other job ran exactly once',
    );
    const queue = `${QUEUE_PREFIX}:separation`;
    const [waiting, active, failedJobs] = await Promise.all([
      redis.llen(`${queue}:wait`),
      redis.llen(`${queue}:active`),
      redis.zcard(`${queue}:failed`),
    ]);
    check(
      waiting + active + failedJobs === 0,
      `queue drained: ${waiting} waiting, ${active} active, ${failedJobs} failed`,
    );

    // ---------------------------------------------------------------- byte-identical stems
    for (const job of jobs) {
      for (const stem of ['vocals', 'accompaniment']) {
        const res = await api(ports, `/v1/separations/${job.id}/stems/${stem}`);
        const body = Buffer.from(await res.arrayBuffer());
        const sum = (await import('crypto')).createHash('sha256').update(body).digest('hex');
        const expected = reference.get(`${job.input}/${stem}.wav`);
        check(
          res.status === 200 && sum === expected,
          `job ${job.id} ${stem}: ${body.length} bytes, identical to the reference`,
        );
      }
    }

    // ---------------------------------------------------------------- nothing left behind
    await sleep(1000);
    const leftovers = await oneOff(
      "find /data \\( -name '*.partial' -o -name '*.part-*' -o -path '/data/storage/tmp/*' \\) -print",
    );
    check(
      leftovers.trim() === '',
      `no .partial file or scratch entry left on the volume${leftovers.trim() ? `: ${leftovers.trim()}` : ''}`,
    );

    // ---------------------------------------------------------------- JSON logs
    for (const c of ['api', 'worker1', 'worker2']) {
      const out = await containerLogs(`${NAME}-${c}`);
      const lines = out.split('\n').filter((l) => l.trim());
      const bad = lines.filter((l) => {
        try {
          return typeof JSON.parse(l) !== 'object';
        } catch {
          return true;
        }
      });
      check(
        lines.length > 0 && bad.length === 0,
        `${c}: all ${lines.length} log lines are JSON${bad.length ? ` (not: ${bad[0].slice(0, 160)})` : ''}`,
      );
      // The image's own environment (SPLEETER_IMAGE_GLIBC_TUNABLES among it) is known to the config.
      const unknownEnv = lines.filter((l) => l.includes('Ignoring unknown environment variable'));
      check(
        unknownEnv.length === 0,
        `${c}: no unknown SPLEETER_ variable${unknownEnv.length ? ` (${unknownEnv[0].slice(0, 160)})` : ''}`,
      );
    }
    step('scenario passed');
  } catch (err) {
    failed = true;
    process.stdout.write(`[containers] FAILED: ${(err as Error).message}\n`);
    for (const c of ['api', 'worker1', 'worker2']) {
      const logs = await containerLogs(`${NAME}-${c}`, 30).catch(() => '');
      if (logs.trim()) process.stdout.write(`--- ${c} (last lines)\n${logs}\n`);
    }
  } finally {
    // ---------------------------------------------------------------- clean up, failed or not
    const ids = (await docker(['ps', '-aq', '--filter', `label=${LABEL}`], { allowFail: true })).trim();
    if (ids) await docker(['rm', '-f', '-v', ...ids.split('\n')], { allowFail: true });
    await docker(['volume', 'rm', '-f', `${NAME}-data`], { allowFail: true });
    await db?.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    const stream = redis.scanStream({ match: `${QUEUE_PREFIX}:*`, count: 500 });
    const keys: string[] = [];
    for await (const batch of stream) keys.push(...(batch as string[]));
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    step(`cleaned up (containers, volume, database ${DB_NAME}, ${keys.length} Redis keys)`);
  }
  if (failed) process.exitCode = 1;
}

const deadline = setTimeout(() => {
  process.stdout.write(`[containers] FAILED: scenario still running after ${DEADLINE_MS / 60_000} min\n`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();
void main();
