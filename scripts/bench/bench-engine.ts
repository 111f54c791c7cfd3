/**
 * `npm run bench`: the engine benchmark of issues #2 and #16.
 *
 * 1. Generates the full-size 2-stem Spleeter model (seeded random weights) and stereo 44.1 kHz WAV
 *    inputs: the main one (180 s), a 1 s one and a long one (20 min by default).
 * 2. Runs, interleaved (CLI, pure, pure, CLI, …) and BENCH_RUNS times each, the CLI (a child
 *    process, compiled JS from dist/) on the main input on 2 threads, and
 *    scripts/bench/pure-ort-process.js: a plain Node process that only loads onnxruntime and runs
 *    the same number of segments through the same model files on the same threads. Each is
 *    measured as a whole process under /usr/bin/time: wall time, CPU time (user + sys of the
 *    process and every thread and child it waited for), peak RSS. Medians and their ratios are
 *    printed (issue 16 targets: ≤ 1.25 wall, ≤ 1.2 CPU, ≤ 1.15 peak RSS).
 * 3. Also (kept from issue #2): the realtime factor, engine.separate's own timings, the same
 *    segments through onnxruntime inside this process (the faster of sessions in turn and one
 *    worker thread per instrument), the 1 s run (the fixed costs) against a 1-segment pure process,
 *    and the long input once: peak RSS long ÷ 3 min (target ≤ 1.05) and the long run ÷ the warm
 *    pure per-segment time × its segments.
 *
 * The machine may be shared: every ratio compares runs made in this one invocation, interleaved.
 *
 * Options (env): BENCH_SECONDS (main input, default 180), BENCH_LONG_MINUTES (default 20, 0 to
 * skip), BENCH_THREADS (default 2), BENCH_RUNS (default 3), BENCH_BATCH (segments per model call,
 * default 1 = the engine default), BENCH_DIR (default .bench/), BENCH_SKIP_BUILD=1 (use dist/ as it
 * is), BENCH_SOURCES=1 (run the TypeScript sources through swc), BENCH_CLI_ARGS (extra CLI
 * arguments, e.g. "--no-analysis"), BENCH_IN_PROCESS=0 (skip the in-process onnxruntime figure).
 *
 * BENCH_BASELINE_DIST=<dir> adds a third side to the interleaved rounds: the CLI of another
 * build (e.g. an older commit transpiled with `scripts/build-dist-swc.ts <dir>`, next to a
 * package.json and node_modules), so before/after figures come from the same run.
 *
 * BENCH_SESSION_OPTIONS=1 only compares onnxruntime session options: the pure process on the main
 * input with each variant of SESSION_VARIANTS, interleaved, BENCH_RUNS times each.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { musicWav } from './bench-wav';
import { generateTestModelFiles } from '../../src/core/onnx/test-model-generator';
import { rewriteConvTransposes } from '../../src/core/onnx/conv-transpose-rewrite';
import { decodeModel, encodeModel } from '../../src/core/onnx/onnx-protos';
import { hugePagesRelaunchEnv } from '../../src/infra/config/huge-pages';
import { externalDataConfig } from '../../src/infra/onnx/optimized-model-cache';
import { WorkerOnnxSession } from '../../src/infra/onnx/worker-onnx-session';
import { SPLEETER_FRAME_STEP, SPLEETER_T } from '../../src/core/spleeter/types';

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH_DIR = path.resolve(process.env.BENCH_DIR ?? path.join(ROOT, '.bench'));
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const BATCH = Number(process.env.BENCH_BATCH ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 180);
const LONG_MINUTES = Number(process.env.BENCH_LONG_MINUTES ?? 20);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const IN_PROCESS = process.env.BENCH_IN_PROCESS !== '0';
const EXTRA_CLI_ARGS = (process.env.BENCH_CLI_ARGS ?? '').split(/\s+/).filter(Boolean);
const SR = 44100;
/** The long run's peak RSS is compared with a 3-minute run (issue 16). */
const RSS_REFERENCE_SECONDS = 180;

/** One whole process: wall, CPU (user + sys of the tree it waited for), peak RSS. */
interface ProcessRun {
  wallMs: number;
  cpuMs: number;
  maxRssKb: number;
}

interface CliRun extends ProcessRun {
  result: {
    timings: {
      totalMs: number;
      decodeMs: number;
      inferenceMs: number;
      dspMs: number;
      encodeMs: number;
      analysisMs?: number;
    };
  };
}

function segmentsFor(seconds: number): number {
  return Math.ceil(Math.ceil((seconds * SR + 4096) / SPLEETER_FRAME_STEP) / SPLEETER_T);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The run whose wall time is the median (its breakdown is printed). */
function medianRun<T extends ProcessRun>(runs: T[]): T {
  return [...runs].sort((a, b) => a.wallMs - b.wallMs)[(runs.length - 1) >> 1];
}

function summary(runs: ProcessRun[]): ProcessRun {
  return {
    wallMs: median(runs.map((r) => r.wallMs)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    maxRssKb: median(runs.map((r) => r.maxRssKb)),
  };
}

/** Session option variants of BENCH_SESSION_OPTIONS=1 (merged into the pure process's options). */
const SESSION_VARIANTS: Record<string, object> = {
  default: {},
  'no intra-op spinning': { extra: { session: { intra_op: { allow_spinning: '0' } } } },
  'no CPU arena': { enableCpuMemArena: false },
  'no memory pattern': { enableMemPattern: false },
  'denormals as zero': { extra: { session: { set_denormal_as_zero: '1' } } },
};

async function compareSessionOptions(modelDir: string, segments: number): Promise<void> {
  // BENCH_VARIANTS=name,name… limits the comparison to some variants (default always included).
  const only = (process.env.BENCH_VARIANTS ?? '').split(',').filter(Boolean);
  const variants = Object.entries(SESSION_VARIANTS).filter(
    ([name]) => name === 'default' || only.length === 0 || only.includes(name),
  );
  const runs = new Map<string, ProcessRun[]>(variants.map(([k]) => [k, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [name, options] of variants) {
      log(`session options '${name}', round ${i + 1}/${RUNS}…`);
      runs.get(name)!.push(await pureOrtProcess(modelDir, segments, options));
    }
  }
  const base = summary(runs.get('default')!);
  const lines = [
    '',
    `onnxruntime session options — pure process, ${segments} segments, ${THREADS} threads, medians of ${RUNS} interleaved runs (÷ default)`,
  ];
  for (const [name, r] of runs) {
    const m = summary(r);
    lines.push(
      `  ${name.padEnd(22)} wall ${(m.wallMs / 1000).toFixed(2)} s (${(m.wallMs / base.wallMs).toFixed(3)})  CPU ${(m.cpuMs / 1000).toFixed(2)} s (${(m.cpuMs / base.cpuMs).toFixed(3)})  peak RSS ${(m.maxRssKb / 1024).toFixed(0)} MiB (${(m.maxRssKb / base.maxRssKb).toFixed(3)})`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

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
  const input = await ensureWav(path.join(BENCH_DIR, `input-${SECONDS}s.wav`), SECONDS);
  const segments = segmentsFor(SECONDS);
  if (process.env.BENCH_SESSION_OPTIONS === '1') {
    await compareSessionOptions(modelDir, segments);
    return;
  }

  // The same files as the CLI's sessions load them from its optimized-model cache: the decoder's
  // ConvTransposes rewritten (core/onnx/conv-transpose-rewrite.ts), optimized by onnxruntime and
  // saved with the weights in an external data file, which onnxruntime maps instead of copying
  // (infra/onnx/optimized-model-cache.ts). The pure process on these says what is left of the
  // CLI's overhead once the model costs the same on both sides.
  const rewrittenDir = path.join(BENCH_DIR, 'model-2stems-full-as-cached');
  if (!fs.existsSync(path.join(rewrittenDir, 'spleeter.json'))) {
    fs.mkdirSync(rewrittenDir, { recursive: true });
    for (const name of fs.readdirSync(modelDir)) {
      const bytes = fs.readFileSync(path.join(modelDir, name));
      if (!name.endsWith('.onnx')) {
        fs.writeFileSync(path.join(rewrittenDir, name), bytes);
        continue;
      }
      const model = decodeModel(bytes);
      rewriteConvTransposes(model);
      const session = await ort.InferenceSession.create(encodeModel(model), {
        graphOptimizationLevel: 'all',
        executionProviders: ['cpu'],
        optimizedModelFilePath: path.join(rewrittenDir, name),
        extra: { session: externalDataConfig(`${name}.data`) },
      });
      await session.release();
    }
  }

  const cli = await cliCommand();
  log(`CLI: ${cli.join(' ')} ${EXTRA_CLI_ARGS.join(' ')}`);
  // Warm-up: the OS file cache, the optimized-model cache, swc's compile cache for sources.
  await runCli(cli, input, modelDir, 'warmup');
  await pureOrtProcess(modelDir, segments);

  // Interleaved, alternating which side goes first, so that a change in the machine's load hits
  // both sides alike.
  const cliRuns: CliRun[] = [];
  const pureRuns: ProcessRun[] = [];
  // The pure process as the CLI's sessions run: the cached form, and glibc's huge pages and heap
  // tunables when the CLI starts itself with them (infra/config/huge-pages.ts).
  const pureRewrittenRuns: ProcessRun[] = [];
  const cliLikeEnv = hugePagesRelaunchEnv() ?? process.env;
  const baselineDist = process.env.BENCH_BASELINE_DIST;
  const baselineCli = baselineDist ? [process.execPath, path.resolve(baselineDist, 'cli', 'main.js')] : null;
  const baselineRuns: CliRun[] = [];
  // The baseline keeps its own optimized-model cache: sharing one, each side's entry would replace
  // the other's (one entry per model file) and every run would pay for optimizing the graph.
  const baselineConfig = path.join(BENCH_DIR, 'baseline-config.yaml');
  fs.writeFileSync(
    baselineConfig,
    `spleeter:\n  models:\n    ort_cache_dir: ${JSON.stringify(path.resolve(BENCH_DIR, 'models', '.ort-cache-baseline'))}\n`,
  );
  const baselineEnv = { SPLEETER_CONFIG: baselineConfig };
  if (baselineCli) await runCli(baselineCli, input, modelDir, 'warmup-baseline', baselineEnv);
  for (let i = 0; i < RUNS; i++) {
    log(`main input, round ${i + 1}/${RUNS}…`);
    const sides: Array<() => Promise<void>> = [
      async () => void cliRuns.push(await runCli(cli, input, modelDir, `main-${i}`)),
      async () => void pureRuns.push(await pureOrtProcess(modelDir, segments)),
      async () =>
        void pureRewrittenRuns.push(await pureOrtProcess(rewrittenDir, segments, undefined, cliLikeEnv)),
    ];
    if (baselineCli)
      sides.push(
        async () =>
          void baselineRuns.push(await runCli(baselineCli, input, modelDir, `base-${i}`, baselineEnv)),
      );
    // Rotate which side goes first.
    for (let k = 0; k < sides.length; k++) await sides[(i + k) % sides.length]();
  }
  const cliMed = summary(cliRuns);
  const pureMed = summary(pureRuns);
  const pureRwMed = summary(pureRewrittenRuns);
  const run = medianRun(cliRuns);

  const pure = IN_PROCESS ? await pureOnnxRuntime(modelDir, segments) : null;

  // Fixed costs: the whole CLI run on a 1 s input (process start, configuration, sessions, one
  // segment of inference, writing, exit) against the pure process on one segment.
  const tiny = await ensureWav(path.join(BENCH_DIR, 'input-1s.wav'), 1);
  const tinyRuns: CliRun[] = [];
  const tinyPureRuns: ProcessRun[] = [];
  for (let i = 0; i < RUNS; i++) {
    tinyRuns.push(await runCli(cli, tiny, modelDir, `tiny-${i}`));
    tinyPureRuns.push(await pureOrtProcess(modelDir, 1));
  }
  const tinyMed = summary(tinyRuns);
  const tinyPureMed = summary(tinyPureRuns);

  let long: CliRun | null = null;
  let reference: ProcessRun | null = null;
  if (LONG_MINUTES > 0) {
    const longFile = await ensureWav(path.join(BENCH_DIR, `input-${LONG_MINUTES}min.wav`), LONG_MINUTES * 60);
    log(`separating the ${LONG_MINUTES}-minute input (this takes a while)…`);
    long = await runCli(cli, longFile, modelDir, 'long');
    if (SECONDS === RSS_REFERENCE_SECONDS) reference = cliMed;
    else {
      const refFile = await ensureWav(
        path.join(BENCH_DIR, `input-${RSS_REFERENCE_SECONDS}s.wav`),
        RSS_REFERENCE_SECONDS,
      );
      reference = await runCli(cli, refFile, modelDir, 'reference');
    }
  }

  const t = run.result.timings;
  const rtf = SECONDS / (cliMed.wallMs / 1000);
  // Medians of the ratios of each round's runs (made one after the other): a change in the
  // machine's load between rounds moves both runs of a round, so these are steadier than the
  // ratio of the medians when the machine is shared.
  const paired = (a: ProcessRun[], b: ProcessRun[]) =>
    (['wallMs', 'cpuMs', 'maxRssKb'] as const)
      .map((k) => median(a.map((r, i) => r[k] / b[i][k])).toFixed(3))
      .join(' / ');
  const list = (runs: ProcessRun[], key: keyof ProcessRun, f: (v: number) => string) =>
    runs.map((r) => f(r[key])).join(', ');
  const sec = (v: number) => (v / 1000).toFixed(2);
  const mib = (kb: number) => (kb / 1024).toFixed(0);
  const lines = [
    '',
    `spleeter-server engine benchmark — full-size 2-stem model, ${SECONDS} s stereo 44.1 kHz WAV (${segments} segments), ${THREADS} threads, ${BATCH} segments/call${EXTRA_CLI_ARGS.length ? `, CLI ${EXTRA_CLI_ARGS.join(' ')}` : ''}`,
    `  machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, onnxruntime-node ${ortVersion()}, load average ${os.loadavg()[0].toFixed(2)} at the end`,
    `  whole processes, medians of ${RUNS} interleaved runs:`,
    `                               wall          CPU (user+sys)   peak RSS`,
    `    CLI separate:              ${sec(cliMed.wallMs).padStart(6)} s      ${sec(cliMed.cpuMs).padStart(6)} s         ${mib(cliMed.maxRssKb).padStart(5)} MiB`,
    `    pure onnxruntime process:  ${sec(pureMed.wallMs).padStart(6)} s      ${sec(pureMed.cpuMs).padStart(6)} s         ${mib(pureMed.maxRssKb).padStart(5)} MiB`,
    `    CLI ÷ pure:                ${(cliMed.wallMs / pureMed.wallMs).toFixed(3).padStart(6)}        ${(cliMed.cpuMs / pureMed.cpuMs).toFixed(3).padStart(6)}           ${(cliMed.maxRssKb / pureMed.maxRssKb).toFixed(3).padStart(5)}      (targets ≤ 1.25, ≤ 1.2, ≤ 1.15)`,
    `    CLI ÷ pure, median of the ${RUNS} rounds' own ratios: ${paired(cliRuns, pureRuns)} (wall / CPU / peak RSS)`,
    `    pure process as the CLI's sessions run (cached form: decoder rewritten, weights mapped${cliLikeEnv === process.env ? '' : ', huge pages, heap tunables'}): ${sec(pureRwMed.wallMs)} s wall, ${sec(pureRwMed.cpuMs)} s CPU, ${mib(pureRwMed.maxRssKb)} MiB; CLI ÷ that ${(cliMed.wallMs / pureRwMed.wallMs).toFixed(3)} / ${(cliMed.cpuMs / pureRwMed.cpuMs).toFixed(3)} / ${(cliMed.maxRssKb / pureRwMed.maxRssKb).toFixed(3)}`,
    `    runs, CLI:   wall ${list(cliRuns, 'wallMs', sec)} s; CPU ${list(cliRuns, 'cpuMs', sec)} s; RSS ${list(cliRuns, 'maxRssKb', mib)} MiB`,
    `    runs, pure:  wall ${list(pureRuns, 'wallMs', sec)} s; CPU ${list(pureRuns, 'cpuMs', sec)} s; RSS ${list(pureRuns, 'maxRssKb', mib)} MiB`,
    `  (a) realtime factor of the whole run:     ${rtf.toFixed(2)}x realtime (RTF ${(1 / rtf).toFixed(3)})`,
    `    engine.separate (median run):           ${sec(t.totalMs)} s (decode ${sec(t.decodeMs)}, inference ${sec(t.inferenceMs)}, dsp ${sec(t.dspMs)}, encode ${sec(t.encodeMs)}${t.analysisMs !== undefined ? `, analysis ${sec(t.analysisMs)}` : ''}; overlapping)`,
  ];
  if (baselineRuns.length) {
    const b = summary(baselineRuns);
    lines.push(
      `  baseline CLI (${baselineDist}): ${sec(b.wallMs)} s wall, ${sec(b.cpuMs)} s CPU, ${mib(b.maxRssKb)} MiB; ÷ pure ${(b.wallMs / pureMed.wallMs).toFixed(3)} / ${(b.cpuMs / pureMed.cpuMs).toFixed(3)} / ${(b.maxRssKb / pureMed.maxRssKb).toFixed(3)}; this CLI ÷ baseline ${(cliMed.wallMs / b.wallMs).toFixed(3)} / ${(cliMed.cpuMs / b.cpuMs).toFixed(3)} / ${(cliMed.maxRssKb / b.maxRssKb).toFixed(3)} (per-round ratios: ${paired(cliRuns, baselineRuns)})`,
      `    runs, baseline: wall ${list(baselineRuns, 'wallMs', sec)} s; CPU ${list(baselineRuns, 'cpuMs', sec)} s; RSS ${list(baselineRuns, 'maxRssKb', mib)} MiB`,
    );
  }
  if (pure) {
    lines.push(
      `  pure onnxruntime in this process:         ${sec(pure.ms)} s (faster of: sessions in turn ${sec(pure.sequentialMs)} s, one worker thread per instrument ${sec(pure.parallelMs)} s)`,
      `  (b) whole run ÷ that:                     ${(cliMed.wallMs / pure.ms).toFixed(3)}   (engine.separate alone: ${(t.totalMs / pure.ms).toFixed(3)})`,
    );
  }
  lines.push(
    `  1 s input (fixed costs + one segment):   CLI ${sec(tinyMed.wallMs)} s wall, ${sec(tinyMed.cpuMs)} s CPU, ${mib(tinyMed.maxRssKb)} MiB; pure process on 1 segment ${sec(tinyPureMed.wallMs)} s, ${sec(tinyPureMed.cpuMs)} s, ${mib(tinyPureMed.maxRssKb)} MiB`,
  );
  if (long && reference) {
    const longSegments = segmentsFor(LONG_MINUTES * 60);
    lines.push(
      `  peak RSS, ${LONG_MINUTES} min input:                  ${mib(long.maxRssKb)} MiB (whole run ${(long.wallMs / 1000).toFixed(1)} s, ${sec(long.cpuMs)} s CPU, ${((LONG_MINUTES * 60) / (long.wallMs / 1000)).toFixed(2)}x realtime)`,
      `  peak RSS ${LONG_MINUTES} min ÷ ${RSS_REFERENCE_SECONDS / 60} min:                ${(long.maxRssKb / reference.maxRssKb).toFixed(3)}   (target ≤ 1.05; ${mib(reference.maxRssKb)} MiB for ${RSS_REFERENCE_SECONDS / 60} min)`,
    );
    if (pure) {
      const pureLong = (pure.steadyCallMs / BATCH) * longSegments;
      lines.push(
        `  (b) on the ${LONG_MINUTES} min input:                 ${(long.wallMs / pureLong).toFixed(3)}   (whole run ÷ ${longSegments} segments × the warm pure per-segment time ${sec(pure.steadyCallMs / BATCH)} s = ${sec(pureLong)} s: the overhead once start-up is amortised)`,
      );
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function ortVersion(): string {
  const file = path.join(ROOT, 'node_modules', 'onnxruntime-node', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

function log(m: string): void {
  process.stderr.write(`[bench] ${m}\n`);
}

/**
 * The compiled CLI (what a deployment runs), rebuilt first with scripts/build-dist-swc.ts (seconds;
 * the same transpiler `npm start` and jest use) so it matches the sources. BENCH_SKIP_BUILD=1 uses
 * dist/ as it is; BENCH_SOURCES=1 runs the sources through swc.
 */
async function cliCommand(): Promise<string[]> {
  const dist = path.join(ROOT, 'dist', 'cli', 'main.js');
  if (!process.env.BENCH_SOURCES && (!process.env.BENCH_SKIP_BUILD || !fs.existsSync(dist))) {
    log('building dist/ (scripts/build-dist-swc.ts)…');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['-r', '@swc-node/register', path.join(ROOT, 'scripts', 'build-dist-swc.ts')],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`dist build failed (${code})`)),
      );
    });
  }
  if (!process.env.BENCH_SOURCES && fs.existsSync(dist)) return [process.execPath, dist];
  return [process.execPath, '-r', '@swc-node/register', path.join(ROOT, 'src', 'cli', 'main.ts')];
}

/**
 * Runs `args` under /usr/bin/time: wall time measured here, CPU time (user + sys) and peak RSS of
 * the child as GNU time reports them (its rusage covers every thread and waited-for child).
 */
function timed(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ProcessRun & { stdout: string; stderr: string; code: number | null }> {
  if (!fs.existsSync('/usr/bin/time')) throw new Error('the benchmark needs GNU time (/usr/bin/time)');
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '__TIME__ %M %U %S', ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const m = /__TIME__ (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
      resolve({
        wallMs,
        maxRssKb: m ? Number(m[1]) : NaN,
        cpuMs: m ? (Number(m[2]) + Number(m[3])) * 1000 : NaN,
        stdout,
        stderr,
        code,
      });
    });
  });
}

async function runCli(
  cli: string[],
  input: string,
  model: string,
  label: string,
  env: NodeJS.ProcessEnv = {},
): Promise<CliRun> {
  const out = path.join(BENCH_DIR, `out-${label}`);
  fs.rmSync(out, { recursive: true, force: true });
  const args = [...cli, 'separate', input, '-m', model, '-o', out, '-t', String(THREADS), '--json', '-q'];
  const r = await timed([...args, ...EXTRA_CLI_ARGS], {
    ...process.env,
    SPLEETER_BATCH_SEGMENTS: String(BATCH),
    SPLEETER_MODELS_DIR: path.join(BENCH_DIR, 'models'),
    ...env,
  });
  fs.rmSync(out, { recursive: true, force: true });
  if (r.code !== 0) throw new Error(`CLI failed (${r.code}): ${r.stderr}`);
  return {
    wallMs: r.wallMs,
    cpuMs: r.cpuMs,
    maxRssKb: r.maxRssKb,
    result: JSON.parse(r.stdout.trim().split('\n').pop()!) as CliRun['result'],
  };
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

/** scripts/bench/pure-ort-process.js on the model's files, as a whole process (start → exit). */
async function pureOrtProcess(
  modelDir: string,
  segments: number,
  sessionOptions?: object,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProcessRun> {
  const script = path.join(__dirname, 'pure-ort-process.js');
  const args = [process.execPath, script, modelDir, String(segments), String(THREADS), '1024'];
  if (sessionOptions) args.push(JSON.stringify(sessionOptions));
  const r = await timed(args, env);
  if (r.code !== 0) throw new Error(`pure-ort-process failed (${r.code}): ${r.stderr}`);
  return { wallMs: r.wallMs, cpuMs: r.cpuMs, maxRssKb: r.maxRssKb };
}

/** The input (bench-wav.ts), written once and logged when it is. */
async function ensureWav(file: string, seconds: number): Promise<string> {
  if (!fs.existsSync(file)) log(`writing ${seconds} s test input ${path.basename(file)}…`);
  return musicWav(file, seconds);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
