/**
 * `npm run bench:analysis`: speed of the analysis and preprocessing code (src/core/analysis) and
 * the time the Spleeter pipeline saves by not running the model on segments of digital silence.
 *
 * 1. Throughput, one thread, × realtime (seconds of audio per second of wall time, best of
 *    BENCH_RUNS): every analyzer alone and all of them in one AudioAnalyzer pass, on 60 s of
 *    generated drums + chords (stereo 44.1 kHz), plus loudness at 192 kHz and the preprocessing
 *    and normalisation stages.
 * 2. Silent segments: a full-size 2-stem Spleeter U-Net (seeded random weights, onnxruntime CPU,
 *    BENCH_THREADS threads) on 8 segments (95 s) of which 4 are digital silence, with and without
 *    the skip: wall time of each, their ratio, and whether the stems are byte-identical.
 *    BENCH_SKIP_SEPARATION=1 leaves this part out.
 *
 * Options (env): BENCH_RUNS (default 3), BENCH_THREADS (default 2), BENCH_DIR (default .bench/).
 */
import * as fs from 'fs';
import * as path from 'path';
import { AudioAnalyzer, STEM_ANALYSIS } from '../../src/core/analysis/audio-analyzer';
import { KeyEstimator } from '../../src/core/analysis/key';
import { LoudnessMeter } from '../../src/core/analysis/loudness';
import { TruePeakLimiter } from '../../src/core/analysis/loudness-normalization';
import { NoiseProfileEstimator, SpectralGateDenoiser } from '../../src/core/analysis/noise-reduction';
import { AudioPreprocessor } from '../../src/core/analysis/preprocess';
import { SilenceDetector } from '../../src/core/analysis/silence';
import { TempoEstimator } from '../../src/core/analysis/tempo';
import { chordProgression, drumTrack, musicLike, type Signal } from '../../test/support/analysis-signals';
import { generateTestModelFiles } from '../../src/core/onnx/test-model-generator';
import { tones, whiteNoise } from '../../test/support/signals';
import { SpleeterSeparator } from '../../src/core/spleeter/separator';
import { segmentSampleSpan } from '../../src/core/spleeter/silent-segments';
import { bufferSource, collectingSink } from '../../test/support/stream-helpers';
import { OnnxRuntime } from '../../src/infra/onnx/onnx-runtime';
import { loadSpleeterModel } from '../../src/engine/families/spleeter/spleeter-onnx-model';

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH_DIR = path.resolve(process.env.BENCH_DIR ?? path.join(ROOT, '.bench'));
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const CHUNK_FRAMES = 16384;

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function chunks(sig: Signal): Float32Array[] {
  const out: Float32Array[] = [];
  const step = CHUNK_FRAMES * sig.channels;
  for (let o = 0; o < sig.data.length; o += step) out.push(sig.data.subarray(o, o + step));
  return out;
}

/** Best of RUNS: × realtime of `run` over `sig` (audio seconds / wall seconds). */
function measure(name: string, sig: Signal, run: (parts: Float32Array[]) => void): void {
  const parts = chunks(sig);
  const seconds = sig.data.length / sig.channels / sig.sampleRate;
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    run(parts);
    best = Math.min(best, performance.now() - t0);
  }
  log(
    `  ${name.padEnd(46)} ${(seconds / (best / 1000)).toFixed(0).padStart(6)} × realtime  (${best.toFixed(0)} ms)`,
  );
}

function music(rate: number, seconds: number): Signal {
  const chords = chordProgression(9, 'minor', {
    sampleRate: rate,
    chordSeconds: 2,
    repeats: Math.ceil(seconds / 8),
  });
  const drums = drumTrack(112, chords.data.length / 2 / rate, 'rock', rate);
  const pad = musicLike(rate, 2, [[chords.data.length / 2 / rate, -18]]);
  for (let i = 0; i < chords.data.length; i++) chords.data[i] += drums.data[i] + pad.data[i];
  const frames = Math.round(seconds * rate);
  return { sampleRate: rate, channels: 2, data: chords.data.subarray(0, frames * 2) };
}

function throughput(): void {
  const sig = music(44100, 60);
  const hi = music(192000, 20);
  const { sampleRate, channels } = sig;
  log(`analysis throughput, one thread, 60 s stereo 44.1 kHz drums + chords (best of ${RUNS}):`);
  measure('loudness (K-weighting, gating, LRA, true peak)', sig, (p) => {
    const m = new LoudnessMeter({ sampleRate, channels });
    for (const c of p) m.push(c);
    m.result();
  });
  measure('loudness without true peak', sig, (p) => {
    const m = new LoudnessMeter({ sampleRate, channels, truePeak: false });
    for (const c of p) m.push(c);
    m.result();
  });
  measure('silence', sig, (p) => {
    const m = new SilenceDetector({ sampleRate, channels });
    for (const c of p) m.push(c);
    m.result();
  });
  measure('tempo', sig, (p) => {
    const m = new TempoEstimator({ sampleRate, channels });
    for (const c of p) m.push(c);
    m.result();
  });
  measure('key', sig, (p) => {
    const m = new KeyEstimator({ sampleRate, channels });
    for (const c of p) m.push(c);
    m.result();
  });
  measure('all of them (AudioAnalyzer, one pass)', sig, (p) => {
    const m = new AudioAnalyzer({ sampleRate, channels });
    for (const c of p) m.push(c);
    m.result();
  });
  measure('a stem (STEM_ANALYSIS: loudness + silence)', sig, (p) => {
    const m = new AudioAnalyzer({ sampleRate, channels, ...STEM_ANALYSIS });
    for (const c of p) m.push(c);
    m.result();
  });
  measure('DC removal + 4th-order high-pass', sig, (p) => {
    const m = new AudioPreprocessor({ sampleRate, channels, highPassHz: 40 });
    for (const c of p) m.process(c);
  });
  measure('noise reduction (profile pass + gate pass)', sig, (p) => {
    const est = new NoiseProfileEstimator({ sampleRate, channels });
    for (const c of p) est.push(c);
    const gate = new SpectralGateDenoiser(est.finish()!, { channels });
    for (const c of p) gate.process(c);
    gate.flush();
  });
  measure('true-peak limiter (+6 dB into −1 dBTP)', sig, (p) => {
    const m = new TruePeakLimiter({ sampleRate, channels, gain: 2 });
    for (const c of p) m.process(c);
    m.flush();
  });
  log(`analysis throughput at 192 kHz (20 s stereo):`);
  measure('loudness (true peak: 1×, BS.1770 needs none at 192 kHz)', hi, (p) => {
    const m = new LoudnessMeter({ sampleRate: 192000, channels: 2 });
    for (const c of p) m.push(c);
    m.result();
  });
  measure('all of them (AudioAnalyzer, one pass)', hi, (p) => {
    const m = new AudioAnalyzer({ sampleRate: 192000, channels: 2 });
    for (const c of p) m.push(c);
    m.result();
  });
}

async function silentSegments(): Promise<void> {
  const modelDir = path.join(BENCH_DIR, 'model-2stems-full');
  if (!fs.existsSync(path.join(modelDir, 'spleeter.json'))) {
    log('generating the full-size 2-stem model (seeded random weights)…');
    fs.mkdirSync(modelDir, { recursive: true });
    for (const [name, bytes] of generateTestModelFiles('full', { config: '2stems', seed: 1 })) {
      fs.writeFileSync(path.join(modelDir, name), bytes);
    }
  }
  const segment = 512 * 1024;
  const frames = 8 * segment - 8192;
  const x = tones(frames, 2, [82, 440, 2500, 9000]);
  const n = whiteNoise(frames, 2, 5, 0.05);
  for (let i = 0; i < x.length; i++) x[i] += n[i];
  for (const s of [1, 3, 5, 7]) {
    const { start, end } = segmentSampleSpan(s);
    x.fill(0, start * 2, Math.min(frames, end) * 2);
  }
  const runtime = new OnnxRuntime();
  const model = await loadSpleeterModel(modelDir, { runtime, intraOpThreads: THREADS });
  try {
    const run = async (skipSilentSegments: boolean) => {
      const sink = collectingSink();
      const stats = await new SpleeterSeparator(model, { skipSilentSegments }).separate(
        bufferSource(x, CHUNK_FRAMES),
        sink,
      );
      return { stats, stems: model.instruments.map((s) => sink.stem(s)) };
    };
    await run(true); // warm-up: sessions, allocations
    const full = await run(false);
    const skipped = await run(true);
    const same = full.stems.every((a, k) => {
      const b = skipped.stems[k];
      return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
        Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      );
    });
    log(
      `silent segments: 2-stem U-Net, ${THREADS} threads, 95 s input of which 50 % digital silence (4 of 8 segments):`,
    );
    log(
      `  without the skip  ${full.stats.wallMs.toFixed(0).padStart(7)} ms wall, ${full.stats.modelCalls} model calls`,
    );
    log(
      `  with the skip     ${skipped.stats.wallMs.toFixed(0).padStart(7)} ms wall, ${skipped.stats.modelCalls} model calls, ${skipped.stats.skippedSegments} segments skipped`,
    );
    log(
      `  with ÷ without    ${(skipped.stats.wallMs / full.stats.wallMs).toFixed(2)}; stems byte-identical: ${same}`,
    );
  } finally {
    await model.dispose();
    await runtime.disposeAll();
  }
}

async function main(): Promise<void> {
  throughput();
  if (!process.env.BENCH_SKIP_SEPARATION) await silentSegments();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
