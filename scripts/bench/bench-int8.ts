/**
 * `npm run bench:int8`: what int8 quantization would buy on this machine (a measurement, not a shipped feature), for the full-size 2-stem U-Net
 * (seeded random weights; the same model as `npm run bench`).
 *
 * 1. Quantizes the fp32 model three ways (per tensor; per channel; per channel + the transposed
 *    convolutions) with quantizeSpleeterModelDir, each into its own directory.
 * 2. Speed: one segment (2 × 512 × 1024) through the vocals network of each variant, pure
 *    onnxruntime, `BENCH_THREADS` intra-op threads (default 2), spinning off so that CPU time counts
 *    work only; the variants interleaved round by round (`BENCH_ROUNDS`, default 9), medians of wall
 *    and CPU time. On a shared machine the CPU-time ratio is the steadier one.
 * 3. Quality: separates the real clip (`BENCH_CLIP`, default ../shared/fixtures/audio/
 *    audio_example.mp3; skipped when absent) with the engine at fp32 and at each int8 variant and
 *    prints the SNR of every int8 stem against the fp32 stem.
 *
 * `benchInt8()` returns the numbers, so the main benchmark can include them.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { WavFileReader } from '../../src/core/audio/wav-file';
import { generateTestModelFiles } from '../../src/core/onnx/test-model-generator';
import { SpleeterEngine } from '../../src/engine/spleeter-engine';
import { quantizeSpleeterModelDir } from './int8/model-quantizer';

const ROOT = path.resolve(__dirname, '..', '..');

export interface Int8Variant {
  name: string;
  perChannel: boolean;
  deconv: boolean;
}

export const INT8_VARIANTS: readonly Int8Variant[] = [
  { name: 'per-tensor', perChannel: false, deconv: false },
  { name: 'per-channel', perChannel: true, deconv: false },
  { name: 'per-channel+deconv', perChannel: true, deconv: true },
];

export interface Int8BenchOptions {
  /** Work directory (models, outputs); default <repo>/.bench. */
  dir?: string;
  threads?: number;
  rounds?: number;
  /** Real clip for the SNR; null skips the quality pass. */
  clip?: string | null;
  variants?: readonly Int8Variant[];
  log?: (line: string) => void;
}

export interface Int8Timing {
  name: string;
  fileMb: number;
  wallMs: number;
  cpuMs: number;
  /** fp32 ÷ this; 1 for fp32 itself. */
  wallSpeedup: number;
  cpuSpeedup: number;
  /** SNR of each stem against the fp32 stem (dB); null for fp32 or without a clip. */
  snrDb: Record<string, number> | null;
}

export interface Int8BenchResult {
  threads: number;
  rounds: number;
  clip: string | null;
  results: Int8Timing[];
}

export async function benchInt8(opts: Int8BenchOptions = {}): Promise<Int8BenchResult> {
  const dir = path.resolve(opts.dir ?? path.join(ROOT, '.bench'));
  const threads = opts.threads ?? 2;
  const rounds = Math.max(1, opts.rounds ?? 9);
  const variants = opts.variants ?? INT8_VARIANTS;
  const log = opts.log ?? (() => undefined);
  const clip = opts.clip === undefined ? defaultClip() : opts.clip;

  const fp32Dir = path.join(dir, 'model-2stems-full');
  if (!fs.existsSync(path.join(fp32Dir, 'spleeter.json'))) {
    log('generating the full-size 2-stem model (seeded random weights)…');
    fs.mkdirSync(fp32Dir, { recursive: true });
    for (const [name, bytes] of generateTestModelFiles('full', { config: '2stems', seed: 1 })) {
      fs.writeFileSync(path.join(fp32Dir, name), bytes);
    }
  }
  const files: { name: string; modelDir: string; precision: 'fp32' | 'int8'; file: string }[] = [
    { name: 'fp32', modelDir: fp32Dir, precision: 'fp32', file: path.join(fp32Dir, 'vocals.onnx') },
  ];
  for (const v of variants) {
    const outputDir = path.join(dir, `model-2stems-int8-${v.name.replace(/\W+/g, '-')}`);
    log(`quantizing (${v.name})…`);
    await quantizeSpleeterModelDir(fp32Dir, { ...v, outputDir, force: true });
    files.push({
      name: v.name,
      modelDir: outputDir,
      precision: 'int8',
      file: path.join(outputDir, 'vocals.int8.onnx'),
    });
  }

  // Speed: pure onnxruntime, interleaved.
  const sessions = [];
  for (const f of files) {
    sessions.push(
      await ort.InferenceSession.create(f.file, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      } as ort.InferenceSession.SessionOptions),
    );
  }
  const x = new Float32Array(2 * 512 * 1024);
  for (let i = 0; i < x.length; i++) x[i] = Math.abs(Math.sin(i * 0.37)) * 2;
  const wall: number[][] = files.map(() => []);
  const cpu: number[][] = files.map(() => []);
  log(`timing ${files.length} networks, ${rounds} rounds, ${threads} threads…`);
  for (let r = -1; r < rounds; r++) {
    for (let k = 0; k < sessions.length; k++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await sessions[k].run({ [sessions[k].inputNames[0]]: new ort.Tensor('float32', x, [2, 1, 512, 1024]) });
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (r >= 0) {
        wall[k].push(ms);
        cpu[k].push((c.user + c.system) / 1000);
      }
    }
  }
  await Promise.all(sessions.map((s) => s.release()));

  // Quality: the whole engine on the real clip.
  let stems: Map<string, Float32Array>[] | null = null;
  if (clip) {
    stems = [];
    const outRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-int8-'));
    try {
      for (const f of files) {
        log(`separating ${path.basename(clip)} (${f.name})…`);
        const engine = new SpleeterEngine({
          modelsDir: path.join(outRoot, 'models'),
          intraOpThreads: threads,
          precision: f.precision,
          ortCacheDir: null,
        });
        try {
          const res = await engine.separate({
            audioPath: clip,
            modelName: f.modelDir,
            outputDir: path.join(outRoot, f.name),
            codec: 'wav',
            bitDepth: 32,
            analysis: false,
            tags: false,
          });
          const byStem = new Map<string, Float32Array>();
          for (const [stem, file] of Object.entries(res.outputs))
            byStem.set(stem, await readWavSamples(file));
          stems.push(byStem);
        } finally {
          await engine.dispose();
        }
      }
    } finally {
      fs.rmSync(outRoot, { recursive: true, force: true });
    }
  }

  const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
  const results = files.map((f, k) => ({
    name: f.name,
    fileMb: fs.statSync(f.file).size / 1e6,
    wallMs: med(wall[k]),
    cpuMs: med(cpu[k]),
    wallSpeedup: med(wall[0]) / med(wall[k]),
    cpuSpeedup: med(cpu[0]) / med(cpu[k]),
    snrDb:
      stems && k > 0
        ? Object.fromEntries([...stems[0]].map(([stem, ref]) => [stem, snrDb(ref, stems![k].get(stem)!)]))
        : null,
  }));
  return { threads, rounds, clip, results };
}

function defaultClip(): string | null {
  const clip = path.resolve(
    process.env.BENCH_CLIP ?? path.join(ROOT, '..', 'shared', 'fixtures', 'audio', 'audio_example.mp3'),
  );
  return fs.existsSync(clip) ? clip : null;
}

async function readWavSamples(file: string): Promise<Float32Array> {
  const chunks: Float32Array[] = [];
  for await (const c of (await WavFileReader.open(file)).frames()) chunks.push(c);
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** 10·log10(Σ ref² / Σ (ref − x)²) over the common length. */
export function snrDb(ref: Float32Array, x: Float32Array): number {
  let s = 0;
  let e = 0;
  const n = Math.min(ref.length, x.length);
  for (let i = 0; i < n; i++) {
    s += ref[i] * ref[i];
    e += (ref[i] - x[i]) ** 2;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

export function formatInt8Bench(r: Int8BenchResult): string {
  const lines = [
    `one segment through the vocals U-Net, ${r.threads} threads, median of ${r.rounds} interleaved rounds; ` +
      (r.clip ? `SNR vs fp32 on ${path.basename(r.clip)}` : 'no clip: SNR skipped'),
    `${'model'.padEnd(20)} ${'file MB'.padStart(8)} ${'wall ms'.padStart(8)} ${'cpu ms'.padStart(7)} ${'speed-up wall/cpu'.padStart(18)}  SNR dB (per stem)`,
  ];
  for (const t of r.results) {
    const snr = t.snrDb
      ? Object.entries(t.snrDb)
          .map(([s, v]) => `${s} ${v.toFixed(1)}`)
          .join(', ')
      : '-';
    lines.push(
      `${t.name.padEnd(20)} ${t.fileMb.toFixed(1).padStart(8)} ${t.wallMs.toFixed(0).padStart(8)} ${t.cpuMs.toFixed(0).padStart(7)} ${`${t.wallSpeedup.toFixed(2)}× / ${t.cpuSpeedup.toFixed(2)}×`.padStart(18)}  ${snr}`,
    );
  }
  return lines.join('\n');
}

if (require.main === module) {
  benchInt8({
    threads: Number(process.env.BENCH_THREADS ?? 2),
    rounds: Number(process.env.BENCH_ROUNDS ?? 9),
    dir: process.env.BENCH_DIR,
    log: (line) => process.stderr.write(`${line}\n`),
  })
    .then((r) => process.stdout.write(`${formatInt8Bench(r)}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    });
}
