/**
 * `npm run bench`: the engine benchmark of issue #2.
 *
 * 1. Generates the full-size 2-stem Spleeter model (seeded random weights) and a 60 s stereo
 *    44.1 kHz WAV (plus a long one, 20 min by default).
 * 2. Separates the 60 s file from the CLI (a child process, compiled JS when `dist/` exists) on
 *    2 threads and measures the whole run's wall time and peak RSS.
 * 3. Runs the same model on the same number of segments, in the same batches, with nothing else
 *    (pure onnxruntime), and prints (a) the realtime factor of the whole run and (b) whole run ÷ pure
 *    onnxruntime time (target ≤ 1.3).
 * 4. Separates a 1 s file (the fixed costs of a CLI run) and the long file the same way, and prints
 *    peak RSS long ÷ short (target ≤ 1.5) and the long run ÷ the pure per-segment time × its segments.
 *
 * Options (env): BENCH_LONG_MINUTES (default 20, 0 to skip), BENCH_THREADS (default 2),
 * BENCH_RUNS (measured runs of the 60 s input, median reported; default 3),
 * BENCH_BATCH (segments per model call, default 1 = the engine default), BENCH_DIR (default .bench/).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { WavFileWriter } from '../../src/core/audio/wav-file';
import { generateTestModelFiles } from '../../src/core/onnx/test-model-generator';
import { WorkerOnnxSession } from '../../src/infra/onnx/worker-onnx-session';
import { SPLEETER_FRAME_STEP, SPLEETER_T } from '../../src/core/spleeter/types';

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH_DIR = path.resolve(process.env.BENCH_DIR ?? path.join(ROOT, '.bench'));
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const BATCH = Number(process.env.BENCH_BATCH ?? 1);
const LONG_MINUTES = Number(process.env.BENCH_LONG_MINUTES ?? 20);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const SR = 44100;

async function main(): Promise<void> {
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const modelDir = path.join(BENCH_DIR, 'model-2stems-full');
  if (!fs.existsSync(path.join(modelDir, 'spleeter.json'))) {
    log('generating the full-size 2-stem model (seeded random weights)…');
    fs.mkdirSync(modelDir, { recursive: true });
    for (const [name, bytes] of generateTestModelFiles('full', { config: '2stems', seed: 1 })) {
      fs.writeFileSync(path.join(modelDir, name), bytes);
    }
  }
  const short = await ensureWav(path.join(BENCH_DIR, 'input-60s.wav'), 60);

  const cli = await cliCommand();
  log(`CLI: ${cli.join(' ')}`);
  // A warm-up run: the OS file cache and (for TS sources) swc's compile cache, so the measured run is steady.
  await runCli(cli, short, modelDir, 'warmup');
  // Median of several runs: a 2-core machine's timings wobble from run to run.
  const runs: CliRun[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runCli(cli, short, modelDir, `short-${i}`));
  runs.sort((a, b) => a.wallMs - b.wallMs);
  const run = runs[Math.floor(runs.length / 2)];

  const frames = Math.ceil((60 * SR + 4096) / SPLEETER_FRAME_STEP);
  const segments = Math.ceil(frames / SPLEETER_T);
  const pure = await pureOnnxRuntime(modelDir, segments);

  // The same segments through onnxruntime as a whole process of its own (start → exit), so that
  // both sides of this second ratio pay Node's start and session creation.
  const pureProcessRuns: number[] = [];
  for (let i = 0; i < RUNS; i++) pureProcessRuns.push(await pureOrtProcess(modelDir, segments));
  pureProcessRuns.sort((a, b) => a - b);
  const pureProcessMs = pureProcessRuns[Math.floor(pureProcessRuns.length / 2)];

  const audioSeconds = 60;
  const rtf = audioSeconds / (run.wallMs / 1000);
  const ratio = run.wallMs / pure.ms;
  const engineRatio = run.result.timings.totalMs / pure.ms;

  // Fixed costs: the whole CLI run on a 1 s input (process start, configuration, sessions, one
  // segment of inference, writing, exit).
  const tiny = await ensureWav(path.join(BENCH_DIR, 'input-1s.wav'), 1);
  const tinyRuns: CliRun[] = [];
  for (let i = 0; i < RUNS; i++) tinyRuns.push(await runCli(cli, tiny, modelDir, `tiny-${i}`));
  tinyRuns.sort((a, b) => a.wallMs - b.wallMs);
  const tinyRun = tinyRuns[Math.floor(tinyRuns.length / 2)];

  let long: { wallMs: number; maxRssKb: number } | null = null;
  if (LONG_MINUTES > 0) {
    const longFile = await ensureWav(path.join(BENCH_DIR, `input-${LONG_MINUTES}min.wav`), LONG_MINUTES * 60);
    log(`separating the ${LONG_MINUTES}-minute input (this takes a while)…`);
    long = await runCli(cli, longFile, modelDir, 'long');
  }

  const lines = [
    '',
    `spleeter-server engine benchmark — full-size 2-stem model, 60 s stereo 44.1 kHz WAV, ${THREADS} threads, ${BATCH} segments/call`,
    `  machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, onnxruntime-node ${ortVersion()}`,
    `  whole CLI run (process start → exit):     ${(run.wallMs / 1000).toFixed(2)} s (median of ${RUNS}: ${runs.map((r) => (r.wallMs / 1000).toFixed(2)).join(', ')})`,
    `    engine.separate total:                  ${(run.result.timings.totalMs / 1000).toFixed(2)} s (decode ${ms(run.result.timings.decodeMs)}, inference ${ms(run.result.timings.inferenceMs)}, dsp ${ms(run.result.timings.dspMs)}, encode ${ms(run.result.timings.encodeMs)})`,
    `  pure onnxruntime, same ${segments} segments:     ${(pure.ms / 1000).toFixed(2)} s (faster of: sessions in turn ${ms(pure.sequentialMs)}, one worker thread per instrument ${ms(pure.parallelMs)})`,
    `  (a) realtime factor of the whole run:     ${rtf.toFixed(2)}x realtime (RTF ${(1 / rtf).toFixed(3)})`,
    `  (b) whole run ÷ pure onnxruntime:         ${ratio.toFixed(3)}   (target ≤ 1.3; engine.separate alone: ${engineRatio.toFixed(3)})`,
    `  pure onnxruntime as a whole process:      ${ms(pureProcessMs)} (node start → exit: load, 2 sessions, the same segments; scripts/bench/pure-ort-process.js)`,
    `    whole run ÷ that:                       ${(run.wallMs / pureProcessMs).toFixed(3)}`,
    `  peak RSS, 60 s input:                     ${(run.maxRssKb / 1024).toFixed(0)} MiB`,
    `  whole CLI run on a 1 s input:             ${(tinyRun.wallMs / 1000).toFixed(2)} s (fixed costs + one segment of inference, ${ms(pure.ms / segments)})`,
  ];
  if (long) {
    const longSegments = Math.ceil(
      Math.ceil((LONG_MINUTES * 60 * SR + 4096) / SPLEETER_FRAME_STEP) / SPLEETER_T,
    );
    const pureLong = (pure.steadyCallMs / BATCH) * longSegments;
    lines.push(
      `  peak RSS, ${LONG_MINUTES} min input:                  ${(long.maxRssKb / 1024).toFixed(0)} MiB (whole run ${(long.wallMs / 1000).toFixed(1)} s, ${((LONG_MINUTES * 60) / (long.wallMs / 1000)).toFixed(2)}x realtime)`,
      `  peak RSS ratio long ÷ short:              ${(long.maxRssKb / run.maxRssKb).toFixed(3)}   (target ≤ 1.5)`,
      `  (b) on the ${LONG_MINUTES} min input:                 ${(long.wallMs / pureLong).toFixed(3)}   (whole run ÷ ${longSegments} segments × the warm pure per-segment time ${ms(pure.steadyCallMs / BATCH)} = ${ms(pureLong)}: the overhead once start-up is amortised)`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function ortVersion(): string {
  const file = path.join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

function ms(v: number): string {
  return `${(v / 1000).toFixed(2)} s`;
}

function log(m: string): void {
  process.stderr.write(`[bench] ${m}\n`);
}

/**
 * The compiled CLI (what a deployment runs), rebuilt first with `npm run build` so it matches the
 * sources (BENCH_SKIP_BUILD=1 uses dist/ as it is; BENCH_SOURCES=1 runs the sources through swc).
 */
async function cliCommand(): Promise<string[]> {
  const dist = path.join(ROOT, 'dist', 'cli', 'main.js');
  if (!process.env.BENCH_SOURCES && (!process.env.BENCH_SKIP_BUILD || !fs.existsSync(dist))) {
    log('building dist/ (npm run build)…');
    await new Promise<void>((resolve) => {
      const child = spawn('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('close', () => resolve());
    });
  }
  if (!process.env.BENCH_SOURCES && fs.existsSync(dist)) return [process.execPath, dist];
  return [process.execPath, '-r', '@swc-node/register', path.join(ROOT, 'src', 'cli', 'main.ts')];
}

interface CliRun {
  wallMs: number;
  maxRssKb: number;
  result: {
    timings: { totalMs: number; decodeMs: number; inferenceMs: number; dspMs: number; encodeMs: number };
  };
}

/** Runs the CLI under /usr/bin/time (when present) for the child's peak RSS. */
function runCli(cli: string[], input: string, model: string, label: string): Promise<CliRun> {
  const out = path.join(BENCH_DIR, `out-${label}`);
  fs.rmSync(out, { recursive: true, force: true });
  const args = [...cli, 'separate', input, '-m', model, '-o', out, '-t', String(THREADS), '--json', '-q'];
  const useTime = fs.existsSync('/usr/bin/time');
  const cmd = useTime ? '/usr/bin/time' : args[0];
  const cmdArgs = useTime ? ['-f', '__MAXRSS_KB__=%M', ...args] : args.slice(1);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, cmdArgs, {
      env: {
        ...process.env,
        SPLEETER_BATCH_SEGMENTS: String(BATCH),
        SPLEETER_MODELS_DIR: path.join(BENCH_DIR, 'models'),
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      fs.rmSync(out, { recursive: true, force: true });
      if (code !== 0) {
        reject(new Error(`CLI failed (${code}): ${stderr}`));
        return;
      }
      const rss = /__MAXRSS_KB__=(\d+)/.exec(stderr);
      resolve({
        wallMs,
        maxRssKb: rss ? Number(rss[1]) : NaN,
        result: JSON.parse(stdout.trim().split('\n').pop()!),
      });
    });
  });
}

/**
 * The same model files, the same segment count and batch size, nothing else, on the same thread
 * budget — measured both ways onnxruntime can use 2 threads here: (1) the instrument sessions one
 * after the other with THREADS intra-op threads each, (2) one session per instrument in its own
 * worker thread with THREADS / instruments threads each, all at once (what the engine does). The
 * faster one is the reference, so the ratio is never flattered by a slow baseline.
 */
async function pureOnnxRuntime(
  modelDir: string,
  segments: number,
): Promise<{ ms: number; sequentialMs: number; parallelMs: number; steadyCallMs: number }> {
  const files = ['vocals.onnx', 'accompaniment.onnx'].map((f) => path.join(modelDir, f));
  const F = 1024;
  const make = (S: number) => {
    const data = new Float32Array(2 * S * SPLEETER_T * F);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000;
    return data;
  };
  const inputs: Float32Array[] = [];
  for (let s0 = 0; s0 < segments; s0 += BATCH) inputs.push(make(Math.min(BATCH, segments - s0)));

  // (1) sequential, fresh sessions: the first call's one-off allocations count, as in the engine.
  const sessions = await Promise.all(
    files.map((f) =>
      ort.InferenceSession.create(f, {
        executionProviders: ['cpu'],
        intraOpNumThreads: THREADS,
        interOpNumThreads: 1,
      }),
    ),
  );
  const sequentialCalls: number[] = [];
  for (const x of inputs) {
    const t0 = performance.now();
    const S = x.length / (2 * SPLEETER_T * F);
    for (const s of sessions)
      await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [2, S, SPLEETER_T, F]) });
    sequentialCalls.push(performance.now() - t0);
  }
  const sequentialMs = sequentialCalls.reduce((a, b) => a + b, 0);
  await Promise.all(sessions.map((s) => s.release()));

  // (2) one worker thread per instrument, threads split between them.
  const perWorker = Math.max(1, Math.floor(THREADS / files.length));
  const workers = await Promise.all(
    files.map((f) =>
      WorkerOnnxSession.start(f, {
        executionProviders: ['cpu'],
        intraOpThreads: perWorker,
        interOpThreads: 1,
      }),
    ),
  );
  const parallelCalls: number[] = [];
  for (const x of inputs) {
    const t0 = performance.now();
    const S = x.length / (2 * SPLEETER_T * F);
    await Promise.all(workers.map((w) => w.run('x', 'y', x, [2, S, SPLEETER_T, F])));
    parallelCalls.push(performance.now() - t0);
  }
  await Promise.all(workers.map((w) => w.release()));
  const parallelMs = parallelCalls.reduce((a, b) => a + b, 0);
  // Per call once warm (the first call's one-off allocations left out): the stricter baseline
  // for long inputs.
  const calls = parallelMs <= sequentialMs ? parallelCalls : sequentialCalls;
  const warm = calls.length > 1 ? calls.slice(1) : calls;
  const steadyCallMs = [...warm].sort((a, b) => a - b)[Math.floor(warm.length / 2)];
  return { ms: Math.min(sequentialMs, parallelMs), sequentialMs, parallelMs, steadyCallMs };
}

/** Wall time of scripts/bench/pure-ort-process.js on the model's files (process start → exit). */
function pureOrtProcess(modelDir: string, segments: number): Promise<number> {
  const script = path.join(__dirname, 'pure-ort-process.js');
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script, modelDir, String(segments), String(THREADS), '1024'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`pure-ort-process failed (${code}): ${stderr}`));
    });
  });
}

/** A music-like stereo test signal (chords, a drum-like pulse, noise), written streaming. */
async function ensureWav(file: string, seconds: number): Promise<string> {
  if (fs.existsSync(file)) return file;
  log(`writing ${seconds} s test input ${path.basename(file)}…`);
  const writer = await WavFileWriter.create(file, {
    sampleFormat: 'int',
    bitsPerSample: 16,
    channels: 2,
    sampleRate: SR,
  });
  const block = SR;
  const buf = new Float32Array(block * 2);
  let seed = 12345;
  const sin = Math.sin;
  const TWO_PI = 2 * Math.PI;
  for (let start = 0; start < seconds * SR; start += block) {
    const n = Math.min(block, seconds * SR - start);
    for (let i = 0; i < n; i++) {
      const t = (start + i) / SR;
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = (seed / 0x7fffffff - 0.5) * 0.05;
      const beat = t % 0.5 < 0.03 ? sin(TWO_PI * 60 * t) * 0.5 : 0;
      const chord = 0.1 * (sin(TWO_PI * 220 * t) + sin(TWO_PI * 277.2 * t) + sin(TWO_PI * 329.6 * t));
      const voice = 0.15 * sin(TWO_PI * (440 + 20 * sin(TWO_PI * 5 * t)) * t);
      buf[2 * i] = chord + beat + noise + voice * 0.8;
      buf[2 * i + 1] = chord * 0.9 + beat + noise + voice;
    }
    await writer.write(n === block ? buf : buf.subarray(0, 2 * n));
  }
  await writer.close();
  return file;
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
