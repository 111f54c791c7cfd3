/**
 * Cost of a separation's analysis (loudness + silence of the input and every stem): the same 60 s
 * stereo input separated with analysis on and off, alternately, median wall time of each.
 * `node -r @swc-node/register scripts/bench/bench-separation-analysis.ts [model…]`
 * (default models: builtin:center and the full-size generated 2-stem Spleeter model).
 * Env: BENCH_RUNS (pairs of runs, default 3), BENCH_SECONDS (input length, default 60),
 * BENCH_INPUT (a file to separate instead of the generated two tones + noise, whose constant level
 * is the worst case of the true-peak meter's skip test), BENCH_TRUE_PEAK=0 (analysis without true peak).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { WavFileWriter } from '../../src/core/audio/wav-file';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import { testModelDir } from '../../test/factories/models';

const SR = 44100;
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);

async function writeInput(file: string): Promise<void> {
  const w = await WavFileWriter.create(file, {
    sampleFormat: 'int',
    bitsPerSample: 16,
    channels: 2,
    sampleRate: SR,
  });
  const block = SR;
  let seed = 1;
  for (let s = 0; s < SECONDS; s++) {
    const buf = new Float32Array(block * 2);
    for (let i = 0; i < block; i++) {
      const t = (s * block + i) / SR;
      seed = (seed * 1664525 + 1013904223) >>> 0;
      const n = (seed / 2 ** 32 - 0.5) * 0.05;
      const v = 0.2 * Math.sin(2 * Math.PI * 220 * t) + 0.1 * Math.sin(2 * Math.PI * 660 * t);
      buf[2 * i] = v + n;
      buf[2 * i + 1] = 0.7 * v - n;
    }
    await w.write(buf);
  }
  await w.close();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sep-analysis-'));
  const input = process.env.BENCH_INPUT ? path.resolve(process.env.BENCH_INPUT) : path.join(dir, 'in.wav');
  if (!process.env.BENCH_INPUT) await writeInput(input);
  const models = process.argv.slice(2).length
    ? process.argv.slice(2)
    : ['builtin:center', await testModelDir('full')];
  const engine = new SpleeterEngine({ intraOpThreads: 2, ortCacheDir: null });
  try {
    for (const model of models) {
      const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
      // The analysers' own time ÷ the run's, within each run: steadier than on ÷ off on a busy machine.
      const share: number[] = [];
      const run = async (analysis: boolean) => {
        const r = await engine.separate({
          audioPath: input,
          outputDir: path.join(dir, 'out'),
          modelName: model,
          analysis,
          analysisTruePeak: process.env.BENCH_TRUE_PEAK !== '0',
          overwrite: true,
        });
        if (analysis) share.push(r.timings.analysisMs / r.timings.totalMs);
        return r.timings.totalMs;
      };
      await run(true); // warm-up: sessions, file cache
      for (let i = 0; i < RUNS; i++) {
        const order: boolean[] = i % 2 ? [true, false] : [false, true];
        for (const a of order) times[a ? 'on' : 'off'].push(await run(a));
      }
      const on = median(times.on);
      const off = median(times.off);
      console.log(
        `${path.basename(model)}: ${path.basename(input)}, ${(await engine.probe(input)).durationSec.toFixed(1)} s, analysis off ${off.toFixed(0)} ms, on ${on.toFixed(0)} ms, ` +
          `overhead ${(((on - off) / off) * 100).toFixed(1)} % (runs off ${times.off.map((x) => x.toFixed(0)).join('/')}, ` +
          `on ${times.on.map((x) => x.toFixed(0)).join('/')}); analysis time within the runs: ` +
          `${share.map((x) => (x * 100).toFixed(1)).join('/')} % of the total`,
      );
    }
  } finally {
    await engine.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
