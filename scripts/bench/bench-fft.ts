/**
 * FFT micro-benchmark: the STFT's per-frame calls on PFFFT WebAssembly SIMD (dsp/wasm-fft.ts, the
 * default) and on the JavaScript RealFft (dsp/fft.ts, the float64 fallback), and fft.js vs
 * RealFft for the plain real transforms.
 *
 *   node -r @swc-node/register scripts/bench/bench-fft.ts [--size 4096,5120] [--ms 1500]
 *   node -r @swc-node/register scripts/bench/bench-fft.ts --separator [--seconds 60] [--model-ms 150]
 *
 * Reports frames/second (one frame = one real transform of `size` samples) and the round-trip
 * error of each implementation, so the choice in fft.ts can be re-checked on new hardware/Node.
 * Each case runs in its own process so JIT feedback from one cannot slow another down.
 *
 * --separator: DSP cost of SpleeterSeparator (STFT + model input packing + masks/MWF + iSTFT)
 * with an instant in-memory model, per `seconds` of stereo 44.1 kHz audio. With `--model-ms N`
 * every model call takes N ms per segment off this thread (a timer, like worker-thread
 * inference), which shows how much of the DSP the separator hides behind inference: "wait" is
 * the time it sat blocked on the model.
 *
 *   node -r @swc-node/register scripts/bench/bench-fft.ts --separator --dsp-threads 0,1,2 [--rounds 5] [--cases 1,6]
 *
 * --dsp-threads: the same separations with that many DSP worker threads (performance.dsp_threads;
 * 0 = all DSP in this thread), interleaved per round, and per case the medians over the rounds:
 * wall time, CPU of the whole process (every thread) and of the main thread alone (the serial
 * part, from /proc; includes the fake model's copying), and the DSP throughput this gives with an
 * instant model: STFT frames per second per channel (of the input, per pass) and the realtime
 * factor (1000x realtime = 43,066 frames/s). The stems are checked bit-identical across counts.
 */
import { spawnSync } from 'child_process';
import FFT from 'fft.js';
import { ComplexFft, RealFft } from '../../src/core/dsp/fft';
import { createStftFft } from '../../src/core/dsp/wasm-fft';
import { periodicHann } from '../../src/core/dsp/window';
import { whiteNoise } from '../../test/support/signals';
import { SpleeterSeparator } from '../../src/core/spleeter/separator';
import { FakeSegmentModel } from '../../test/support/fake-segment-model';
import { bufferSource } from '../../test/support/stream-helpers';
import type { StemSink } from '../../src/core/separation/types';
import { SpleeterSeparationOptions } from '../../src/core/spleeter/types';
import { DspWorkerPool } from '../../src/infra/dsp/dsp-worker-pool';
import { createHash } from 'crypto';
import { readFileSync } from 'fs';

interface Args {
  sizes: number[];
  ms: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sizes: [4096, 2048, 8192, 5120, 6144, 7680], ms: 1500 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--size') args.sizes = argv[++i].split(',').map(Number);
    else if (argv[i] === '--ms') args.ms = Number(argv[++i]);
  }
  return args;
}

function noise(n: number): Float64Array {
  const x = new Float64Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = s / 2 ** 31 - 1;
  }
  return x;
}

/**
 * Calls per second of `fn`: best of several ~100 ms windows after a warm-up. Taking the best
 * window filters out time stolen by other processes on a shared machine.
 */
function measure(fn: () => void, ms: number): number {
  const warmEnd = performance.now() + Math.min(300, ms / 4);
  while (performance.now() < warmEnd) fn();
  const windows = Math.max(3, Math.round(ms / 100));
  let best = 0;
  for (let w = 0; w < windows; w++) {
    let calls = 0;
    const start = performance.now();
    let now = start;
    while (now - start < 100) {
      for (let i = 0; i < 16; i++) fn();
      calls += 16;
      now = performance.now();
    }
    best = Math.max(best, (calls * 1000) / (now - start));
  }
  return best;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US').padStart(10);
}

type CaseName =
  | 'stft-js-forward'
  | 'stft-js-inverse'
  | 'stft-wasm-forward'
  | 'stft-wasm-inverse'
  | 'ours-forward'
  | 'ours-inverse'
  | 'ours-complex-two-for-one'
  | 'fftjs-real-half'
  | 'fftjs-real-full'
  | 'fftjs-inverse';

const CASES: Array<{ name: CaseName; label: string; pow2Only: boolean }> = [
  // What the STFT calls per frame: windowed forward into float32 planes (bins < 1024 stored), and
  // a masked spectrum (gain below 1024, zero above) inverse-transformed, windowed and accumulated.
  { name: 'stft-js-forward', label: 'STFT frame, JS RealFft (float64)', pow2Only: false },
  { name: 'stft-js-inverse', label: 'iSTFT frame, JS RealFft (float64)', pow2Only: false },
  { name: 'stft-wasm-forward', label: 'STFT frame, PFFFT WebAssembly SIMD', pow2Only: false },
  { name: 'stft-wasm-inverse', label: 'iSTFT frame, PFFFT WebAssembly SIMD', pow2Only: false },
  { name: 'ours-forward', label: 'dsp/fft RealFft.forward (bins 0..n/2)', pow2Only: false },
  { name: 'ours-inverse', label: 'dsp/fft RealFft.inverse', pow2Only: false },
  { name: 'ours-complex-two-for-one', label: 'dsp/fft ComplexFft(n), 2 real frames/call', pow2Only: false },
  { name: 'fftjs-real-half', label: 'fft.js realTransform (half spectrum)', pow2Only: true },
  { name: 'fftjs-real-full', label: 'fft.js realTransform + completeSpectrum', pow2Only: true },
  { name: 'fftjs-inverse', label: 'fft.js Hermitian fill + inverseTransform', pow2Only: true },
];

/** One case in a fresh process so that JIT feedback from other cases cannot slow it down. */
function runCase(name: CaseName, n: number, ms: number): { perSecond: number; error: number } {
  const x = noise(n);
  const bins = n / 2 + 1;
  const ours = new RealFft(n);
  const re = new Float64Array(bins);
  const im = new Float64Array(bins);
  const back = new Float64Array(n);
  ours.forward(x, 0, re, im, 0);
  if (name.startsWith('stft-')) {
    const fft = createStftFft(n, name.startsWith('stft-js') ? 'js' : 'auto');
    const win = periodicHann(n);
    const re32 = new Float32Array(bins);
    const im32 = new Float32Array(bins);
    const gain = Float64Array.from({ length: bins }, (_, k) => (k % 7) / 7);
    const acc = new Float64Array(n);
    const stored = Math.min(1024, bins);
    fft.forwardWindowed32(x, win, re32, im32, 0, bins);
    const perSecond = name.endsWith('forward')
      ? measure(() => fft.forwardWindowed32(x, win, re32, im32, 0, stored), ms)
      : measure(() => fft.inverseScaledAccumulate(gain, stored, 0, re32, im32, 0, acc, win), ms);
    return { perSecond, error: NaN };
  }
  switch (name) {
    case 'ours-forward':
      return { perSecond: measure(() => ours.forward(x, 0, re, im, 0), ms), error: NaN };
    case 'ours-inverse': {
      ours.inverse(re, im, 0, back, 0);
      const error = relErr(back, x, n);
      return { perSecond: measure(() => ours.inverse(re, im, 0, back, 0), ms), error };
    }
    case 'ours-complex-two-for-one': {
      const cplx = new ComplexFft(n);
      const zin = new Float64Array(2 * n);
      const zout = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        zin[2 * i] = x[i];
        zin[2 * i + 1] = x[(i * 7) % n];
      }
      return { perSecond: 2 * measure(() => cplx.forward(zin, zout), ms), error: NaN };
    }
    default:
      break;
  }
  const f = new FFT(n);
  const out = new Float64Array(2 * n);
  f.realTransform(out, x);
  // Cross-check: fft.js and ours must agree on the half spectrum.
  const oursSpec = new Float64Array(2 * bins);
  for (let k = 0; k < bins; k++) {
    oursSpec[2 * k] = re[k];
    oursSpec[2 * k + 1] = im[k];
  }
  const crossErr = relErr(out, oursSpec, 2 * bins);
  if (name === 'fftjs-real-half')
    return { perSecond: measure(() => f.realTransform(out, x), ms), error: crossErr };
  if (name === 'fftjs-real-full') {
    const perSecond = measure(() => {
      f.realTransform(out, x);
      f.completeSpectrum(out);
    }, ms);
    return { perSecond, error: crossErr };
  }
  // Inverse real with fft.js: rebuild the Hermitian spectrum, complex inverse, keep real parts.
  const spec = new Float64Array(2 * n);
  const inv = new Float64Array(2 * n);
  const inverse = (): void => {
    spec[0] = re[0];
    spec[1] = 0;
    for (let k = 1; k < bins; k++) {
      spec[2 * k] = re[k];
      spec[2 * k + 1] = im[k];
      spec[2 * (n - k)] = re[k];
      spec[2 * (n - k) + 1] = -im[k];
    }
    f.inverseTransform(inv, spec);
    for (let i = 0; i < n; i++) back[i] = inv[2 * i];
  };
  inverse();
  const error = relErr(back, x, n);
  return { perSecond: measure(inverse, ms), error };
}

function benchSize(n: number, ms: number): void {
  console.log(`\n=== real FFT size ${n}: frames/s (one frame = one real transform), higher is better ===`);
  const results = new Map<CaseName, number>();
  for (const c of CASES) {
    if (c.pow2Only && (n & (n - 1)) !== 0) continue; // fft.js supports powers of two only
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, __filename, '--case', c.name, '--size', String(n), '--ms', String(ms)],
      {
        encoding: 'utf8',
      },
    );
    if (child.status !== 0) throw new Error(`case ${c.name} failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop() as string) as {
      perSecond: number;
      error: number | null;
    };
    results.set(c.name, r.perSecond);
    const err =
      r.error === null
        ? ''
        : `   (${c.name.startsWith('fftjs-real') ? 'rel diff vs ours' : 'round-trip rel err'} ${r.error.toExponential(2)})`;
    console.log(`${c.label.padEnd(44)} ${fmt(r.perSecond)}${err}`);
  }
  const fjsFwd = results.get('fftjs-real-half');
  const fjsInv = results.get('fftjs-inverse');
  if (fjsFwd && fjsInv) {
    const fwd = (results.get('ours-forward') as number) / fjsFwd;
    const inv = (results.get('ours-inverse') as number) / fjsInv;
    console.log(`speed-up ours / fft.js: forward ${fwd.toFixed(2)}x, inverse ${inv.toFixed(2)}x`);
  }
}

function fmtMs(ms: number): string {
  return Math.round(ms).toString().padStart(6);
}

async function benchSeparator(seconds: number, modelMsPerSegment: number): Promise<void> {
  const samples = Math.round(seconds * 44100);
  const x = whiteNoise(samples, 2, 1, 0.3);
  const four = ['vocals', 'drums', 'bass', 'other'];
  const cases: Array<[string, string[], SpleeterSeparationOptions]> = [
    ['2 stems, ratio masks, batch 1', ['vocals', 'accompaniment'], { batchSegments: 1 }],
    ['2 stems, ratio masks, batch 4', ['vocals', 'accompaniment'], { batchSegments: 4 }],
    ['4 stems, ratio masks, batch 1', four, { batchSegments: 1 }],
    ['4 stems, ratio masks, full bandwidth', four, { batchSegments: 1, bandwidth: 'full' }],
    ['4 stems, only vocals emitted', four, { batchSegments: 1, stems: ['vocals'] }],
    ['2 stems, MWF (3 passes)', ['vocals', 'accompaniment'], { batchSegments: 1, mwf: true }],
    ['4 stems, MWF (3 passes)', four, { batchSegments: 1, mwf: true }],
  ];
  const modelLabel =
    modelMsPerSegment > 0 ? `fake model taking ${modelMsPerSegment} ms per segment` : 'instant fake model';
  console.log(`\n=== SpleeterSeparator DSP cost per ${seconds} s of stereo audio (${modelLabel}) ===`);
  const sink = { write: () => undefined };
  // warm-up so the first case is not charged for JIT compilation
  await new SpleeterSeparator(new FakeSegmentModel(), {}).separate(
    bufferSource(x.subarray(0, 2 * 44100 * 5)),
    sink,
  );
  for (const [label, instruments, options] of cases) {
    const model = new FakeSegmentModel({ kind: 'identity', instruments });
    if (modelMsPerSegment > 0) {
      const run = model.run.bind(model);
      model.run = async (input, S, signal) => {
        await new Promise((r) => setTimeout(r, modelMsPerSegment * S));
        return run(input, S, signal);
      };
    }
    const cpu0 = process.cpuUsage();
    const stats = await new SpleeterSeparator(model, options).separate(bufferSource(x, 44100), sink);
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `${label.padEnd(40)} dsp ${fmtMs(stats.dspMs)} ms  cpu ${fmtMs(cpuMs)} ms  (model ${Math.round(stats.inferenceMs)} ms, wait ${Math.round(stats.inferenceWaitMs)} ms, wall ${Math.round(stats.wallMs)} ms; dsp = ${((seconds * 1000) / stats.dspMs).toFixed(0)}x real time)`,
    );
  }
}

/**
 * CPU time of this (the main) thread in ms, from /proc (Linux; clock ticks of 10 ms), or NaN:
 * with DSP threads it is the part of the work that stays serial.
 */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, 100 ticks/s
  } catch {
    return Number.NaN;
  }
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** A sink hashing every stem's bytes (the bit-identity check across thread counts). */
function hashingSink(): StemSink & { digest(): string } {
  const h = createHash('sha1');
  return {
    write(stems) {
      for (const [name, data] of stems)
        h.update(name).update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
    digest: () => h.digest('hex'),
  };
}

/** --separator --dsp-threads: see the module comment. */
async function benchDspThreads(
  seconds: number,
  threadCounts: number[],
  rounds: number,
  only: number[],
): Promise<void> {
  const samples = Math.round(seconds * 44100);
  const x = whiteNoise(samples, 2, 1, 0.3);
  const four = ['vocals', 'drums', 'bass', 'other'];
  const two = ['vocals', 'accompaniment'];
  const cases: Array<[string, string[], SpleeterSeparationOptions]> = [
    ['2 stems, ratio masks, batch 1', two, { batchSegments: 1 }],
    ['2 stems, ratio masks, batch 4', two, { batchSegments: 4 }],
    ['4 stems, ratio masks, batch 1', four, { batchSegments: 1 }],
    ['4 stems, only vocals emitted', four, { batchSegments: 1, stems: ['vocals'] }],
    ['2 stems, MWF (3 passes)', two, { batchSegments: 1, mwf: true }],
    ['4 stems, MWF (3 passes)', four, { batchSegments: 1, mwf: true }],
  ].filter((_, i) => only.length === 0 || only.includes(i + 1)) as Array<
    [string, string[], SpleeterSeparationOptions]
  >;
  const pools = new Map(threadCounts.filter((n) => n > 0).map((n) => [n, new DspWorkerPool(n)]));
  const poolFor = (n: number) => (n === 0 ? null : (pools.get(n) as DspWorkerPool));
  console.log(
    `\n=== DSP threads: ${seconds} s of stereo audio, instant fake model, ${rounds} interleaved rounds (medians) ===`,
  );
  // warm-up: JIT of this thread and of every pool's threads, ratio masks and MWF
  for (const n of threadCounts) {
    for (const mwf of [false, true]) {
      await new SpleeterSeparator(new FakeSegmentModel(), { mwf }, poolFor(n)).separate(
        bufferSource(x.subarray(0, 2 * 44100 * 30)),
        { write: () => undefined },
      );
    }
  }
  for (const [label, instruments, options] of cases) {
    const walls = new Map<number, number[]>(threadCounts.map((n) => [n, []]));
    const cpus = new Map<number, number[]>(threadCounts.map((n) => [n, []]));
    const mains = new Map<number, number[]>(threadCounts.map((n) => [n, []]));
    const digests = new Set<string>();
    let frames = 0;
    let passes = 1;
    for (let r = 0; r < rounds; r++) {
      for (const n of threadCounts) {
        const model = new FakeSegmentModel({ kind: 'identity', instruments });
        const sink = hashingSink();
        const cpu0 = process.cpuUsage();
        const main0 = mainThreadCpuMs();
        const stats = await new SpleeterSeparator(model, options, poolFor(n)).separate(
          bufferSource(x, 44100),
          sink,
        );
        const cpu = process.cpuUsage(cpu0);
        (mains.get(n) as number[]).push(mainThreadCpuMs() - main0);
        (walls.get(n) as number[]).push(stats.wallMs);
        (cpus.get(n) as number[]).push((cpu.user + cpu.system) / 1000);
        digests.add(sink.digest());
        frames = stats.frames;
        passes = stats.passes;
      }
    }
    console.log(`${label}${digests.size === 1 ? '' : '  ** STEMS DIFFER BETWEEN THREAD COUNTS **'}`);
    for (const n of threadCounts) {
      const wall = median(walls.get(n) as number[]);
      const cpu = median(cpus.get(n) as number[]);
      const main = median(mains.get(n) as number[]);
      const perSecond = (frames * passes) / (wall / 1000);
      console.log(
        `  dsp_threads ${String(n).padEnd(2)} wall ${fmtMs(wall)} ms (${(walls.get(n) as number[]).map((w) => Math.round(w)).join('/')})  cpu ${fmtMs(cpu)} ms (main thread ${fmtMs(main)})  ${Math.round(perSecond).toString().padStart(7)} STFT frames/s per channel  ${((seconds * 1000) / wall).toFixed(0).padStart(4)}x realtime`,
      );
    }
  }
  for (const p of pools.values()) await p.terminate();
}

function main(): void {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  if (process.argv.includes('--separator') && arg('--dsp-threads') !== undefined) {
    const list = (v: string | undefined) => (v ? v.split(',').map(Number) : []);
    void benchDspThreads(
      Number(arg('--seconds') ?? 60),
      list(arg('--dsp-threads')),
      Number(arg('--rounds') ?? 3),
      list(arg('--cases')),
    );
    return;
  }
  if (process.argv.includes('--separator')) {
    const i = process.argv.indexOf('--seconds');
    const m = process.argv.indexOf('--model-ms');
    void benchSeparator(i >= 0 ? Number(process.argv[i + 1]) : 60, m >= 0 ? Number(process.argv[m + 1]) : 0);
    return;
  }
  const argv = process.argv.slice(2);
  const caseIdx = argv.indexOf('--case');
  const args = parseArgs(argv);
  if (caseIdx >= 0) {
    const r = runCase(argv[caseIdx + 1] as CaseName, args.sizes[0], args.ms);
    console.log(JSON.stringify({ perSecond: r.perSecond, error: Number.isNaN(r.error) ? null : r.error }));
    return;
  }
  console.log(`node ${process.version}, ${args.ms} ms per measurement`);
  for (const n of args.sizes) benchSize(n, args.ms);
}

main();
