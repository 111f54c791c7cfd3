/**
 * `npm run bench:cross-job`: cross-job batching (performance.cross_job_batching) on this machine.
 *
 * Runs BENCH_JOBS (default 4) separations of different BENCH_SECONDS-long inputs (default 30) at
 * once in one SpleeterEngine, with cross-job batching off and on, interleaved (off, on, on, off…)
 * BENCH_RUNS times each (default 3), on the full-size 2-stem U-Net (generated weights, in
 * .bench/). Prints per side the median wall time of the whole round, the model calls the jobs
 * asked for, the calls the network actually ran (counted at the instrument sessions) and the
 * calls shared, then the on ÷ off wall-time ratio, and checks that both sides wrote the same bytes.
 *
 * Options (env): BENCH_JOBS, BENCH_SECONDS, BENCH_RUNS, BENCH_THREADS (default 2),
 * BENCH_PARALLEL_INSTRUMENTS (default 1: the CPU default, one thread per instrument; 0: in-thread
 * sessions, as on a GPU), BENCH_WINDOW_MS (batch_window_ms, default 0), BENCH_MAX_SEGMENTS
 * (max_batch_segments, default 16), BENCH_DIR (default .bench/).
 *
 * On a CPU the network's cost grows linearly with the segments of a call, so little is expected;
 * the point of batching is a GPU, where one call of n segments costs far less than n calls.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { variantWav } from './bench-wav';
import { generateTestModelFiles } from '../../src/core/onnx/test-model-generator';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import type { SeparationResult } from '../../src/engine/types';
import { WorkerOnnxSession } from '../../src/infra/onnx/worker-onnx-session';

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH_DIR = path.resolve(process.env.BENCH_DIR ?? path.join(ROOT, '.bench'));
const JOBS = Math.max(1, Number(process.env.BENCH_JOBS ?? 4));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const PARALLEL = process.env.BENCH_PARALLEL_INSTRUMENTS !== '0';
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 0);
const MAX_SEGMENTS = Number(process.env.BENCH_MAX_SEGMENTS ?? 16);
const INSTRUMENTS = 2;

type Mode = 'off' | 'on';

interface Round {
  wallMs: number;
  requested: number;
  networkCalls: number;
  shared: number;
  results: SeparationResult[];
}

const log = (m: string) => process.stdout.write(`${m}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Instrument-session runs, in this thread and in the instrument worker threads. */
let sessionRuns = 0;
function countSessionRuns(): void {
  const count = <T extends object>(proto: T, name: keyof T) => {
    const original = proto[name] as unknown as (...args: unknown[]) => unknown;
    (proto as Record<keyof T, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      sessionRuns++;
      return original.apply(this, args);
    };
  };
  count((ort.InferenceSession as unknown as { prototype: { run(): unknown } }).prototype, 'run');
  count(WorkerOnnxSession.prototype, 'run');
}

async function main(): Promise<void> {
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const modelDir = path.join(BENCH_DIR, 'model-2stems-full');
  if (!fs.existsSync(path.join(modelDir, 'spleeter.json'))) {
    log('generating the full-size 2-stem model (seeded random weights)…');
    fs.mkdirSync(modelDir, { recursive: true });
    for (const [name, bytes] of generateTestModelFiles('full', { config: '2stems', seed: 1 }))
      fs.writeFileSync(path.join(modelDir, name), bytes);
  }
  const inputs: string[] = [];
  for (let j = 0; j < JOBS; j++)
    inputs.push(await variantWav(path.join(BENCH_DIR, `cross-job-${SECONDS}s-${j}.wav`), SECONDS, j));
  countSessionRuns();

  const engines: Record<Mode, SpleeterEngine> = { off: engineFor('off'), on: engineFor('on') };
  let outputs = 0;
  const round = async (mode: Mode): Promise<Round> => {
    const before = sessionRuns;
    const t0 = performance.now();
    const results = await Promise.all(
      inputs.map((audioPath) =>
        engines[mode].separate({
          audioPath,
          modelName: modelDir,
          outputDir: path.join(BENCH_DIR, 'cross-job-out', `${++outputs}`),
          bitDepth: 32,
          analysis: false,
        }),
      ),
    );
    const wallMs = performance.now() - t0;
    return {
      wallMs,
      requested: results.reduce((n, r) => n + r.stats.modelCalls, 0),
      networkCalls: (sessionRuns - before) / INSTRUMENTS,
      shared: results.reduce((n, r) => n + r.stats.sharedModelCalls, 0),
      results,
    };
  };

  log(
    `${JOBS} jobs × ${SECONDS} s at once, ${THREADS} threads, ${PARALLEL ? 'a thread per instrument' : 'in-thread sessions'}, ` +
      `window ${WINDOW_MS} ms, max ${MAX_SEGMENTS} segments, ${RUNS} rounds per side`,
  );
  // Warm-up: sessions, the OS file cache.
  const reference = await round('off');
  await round('on');
  const rounds: Record<Mode, Round[]> = { off: [], on: [] };
  for (let i = 0; i < RUNS; i++) {
    const order: Mode[] = i % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const mode of order) {
      const r = await round(mode);
      rounds[mode].push(r);
      log(
        `  round ${i + 1} ${mode.padEnd(3)} ${r.wallMs.toFixed(0).padStart(6)} ms, ${r.requested} calls asked, ` +
          `${r.networkCalls} run, ${r.shared} shared`,
      );
      await sameBytes(reference.results, r.results, mode);
    }
  }
  for (const mode of ['off', 'on'] as const) {
    const rs = rounds[mode];
    log(
      `${mode.padEnd(3)}: median ${median(rs.map((r) => r.wallMs)).toFixed(0)} ms; calls asked ${median(rs.map((r) => r.requested))}, ` +
        `run ${median(rs.map((r) => r.networkCalls))}, shared ${median(rs.map((r) => r.shared))} (medians)`,
    );
  }
  const ratio = median(rounds.on.map((r) => r.wallMs)) / median(rounds.off.map((r) => r.wallMs));
  log(`wall on ÷ off: ${ratio.toFixed(3)}; stems byte-identical on both sides`);
  await Promise.all(Object.values(engines).map((e) => e.dispose()));
  fs.rmSync(path.join(BENCH_DIR, 'cross-job-out'), { recursive: true, force: true });
}

function engineFor(crossJobBatching: Mode): SpleeterEngine {
  return new SpleeterEngine({
    modelsDir: path.join(BENCH_DIR, 'models'),
    intraOpThreads: THREADS,
    parallelInstruments: PARALLEL,
    crossJobBatching,
    batchWindowMs: WINDOW_MS,
    maxBatchSegments: MAX_SEGMENTS,
  });
}

async function sameBytes(a: SeparationResult[], b: SeparationResult[], mode: Mode): Promise<void> {
  for (let j = 0; j < a.length; j++) {
    for (const [stem, file] of Object.entries(a[j].outputs)) {
      const x = await fs.promises.readFile(file);
      const y = await fs.promises.readFile(b[j].outputs[stem]);
      if (!x.equals(y)) throw new Error(`job ${j} stem ${stem} differs with cross_job_batching ${mode}`);
    }
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
