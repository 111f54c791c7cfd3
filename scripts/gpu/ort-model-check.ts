/**
 * Model-level part of the one-call GPU check: onnxruntime-node alone on the product's model files,
 * run as a child of gpu-check.ts (a crash in native GPU code then costs one step, not the check).
 *
 *   ort-model-check.js probe --model FILE
 *     Which execution providers this onnxruntime-node build lists, and whether a session of the
 *     model can be created on each GPU one: strictly (every node on the EP), else with CPU
 *     fallback for some nodes. onnxruntime's verbose log goes to stderr, where the caller reads the
 *     adapter and node-placement lines.
 *
 *   ort-model-check.js measure --model-dir DIR --audio WAV [--segment-out FILE]
 *                              [--providers webgpu,cpu] [--batches 1,4,16] [--cpu-batches 1]
 *                              [--layouts NCHW,NHWC] [--time-budget S] [--json-out FILE]
 *     One segment of the audio, framed as Spleeter does, through the first instrument's network:
 *     CPU on x, CPU on x + 1 ulp (the float32 noise floor of the network around this input), and
 *     each GPU provider on x (SNR against CPU). Then the time per call of all instrument networks
 *     on batches of segments (pure onnxruntime: the ceiling of what the pipeline can reach with
 *     this provider), per preferred layout for WebGPU.
 *
 * Prints one JSON object on stdout's last line.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import * as ort from 'onnxruntime-node';
import { addOneUlp, median, readWavStereo, segmentMagnitudes, segmentSeconds, snrDb } from './check-lib';

type Json = Record<string, unknown>;

function args(argv: string[]): { cmd: string; opts: Map<string, string> } {
  const [cmd, ...rest] = argv;
  const opts = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = rest[i + 1];
    if (next === undefined || next.startsWith('--')) opts.set(a.slice(2), 'true');
    else opts.set(a.slice(2), rest[++i]);
  }
  return { cmd: cmd ?? '', opts };
}

function errorText(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0].slice(0, 400);
}

type Ep = 'webgpu' | 'cuda' | 'cpu';

function epConfig(ep: Ep, layout?: string): ort.InferenceSession.ExecutionProviderConfig {
  if (ep === 'webgpu')
    return layout ? { name: 'webgpu', preferredLayout: layout as 'NCHW' | 'NHWC' } : 'webgpu';
  return ep;
}

/** Strict first (disable_cpu_ep_fallback), like the product's OnnxRuntime; then EP + CPU. */
async function createSession(
  file: string,
  ep: Ep,
  extra: ort.InferenceSession.SessionOptions = {},
  layout?: string,
): Promise<{
  session: ort.InferenceSession;
  mode: 'strict' | 'partial' | 'cpu';
  strictError?: string;
  ms: number;
}> {
  const t0 = performance.now();
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...extra,
  };
  if (ep === 'cpu') {
    const session = await ort.InferenceSession.create(file, { ...base, executionProviders: ['cpu'] });
    return { session, mode: 'cpu', ms: performance.now() - t0 };
  }
  try {
    const session = await ort.InferenceSession.create(file, {
      ...base,
      executionProviders: [epConfig(ep, layout)],
      extra: { session: { disable_cpu_ep_fallback: '1' } },
    });
    return { session, mode: 'strict', ms: performance.now() - t0 };
  } catch (strictErr) {
    const session = await ort.InferenceSession.create(file, {
      ...base,
      executionProviders: [epConfig(ep, layout), 'cpu'],
    });
    return { session, mode: 'partial', strictError: errorText(strictErr), ms: performance.now() - t0 };
  }
}

async function probe(opts: Map<string, string>): Promise<Json> {
  const model = opts.get('model');
  if (!model) throw new Error('probe needs --model FILE');
  ort.env.logLevel = 'verbose';
  const backends = ort.listSupportedBackends();
  const result: Json = { backends, providers: {} };
  const providers = result.providers as Record<string, Json>;
  for (const ep of ['webgpu', 'cuda'] as const) {
    const listed = backends.find((b) => b.name === ep);
    if (!listed) {
      providers[ep] = { listed: false };
      continue;
    }
    process.stderr.write(`\n===== probe ${ep}: session for ${model} =====\n`);
    try {
      const s = await createSession(model, ep, { logSeverityLevel: 0 });
      providers[ep] = {
        listed: true,
        bundled: listed.bundled,
        ok: true,
        mode: s.mode,
        strictError: s.strictError,
        sessionMs: s.ms,
      };
      await s.session.release();
    } catch (err) {
      providers[ep] = { listed: true, bundled: listed.bundled, ok: false, error: errorText(err) };
    }
  }
  return result;
}

function modelFiles(dir: string): { instruments: string[]; files: string[] } {
  const manifest = join(dir, 'spleeter.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as {
      instruments: string[];
      files?: { fp32?: Record<string, string> };
    };
    return {
      instruments: m.instruments,
      files: m.instruments.map((i) => join(dir, m.files?.fp32?.[i] ?? `${i}.onnx`)),
    };
  }
  const names = readdirSync(dir).filter((n) => /^[^.]+\.onnx$/.test(n));
  return { instruments: names.map((n) => n.slice(0, -5)), files: names.map((n) => join(dir, n)) };
}

/** Declared layout and sizes of a Spleeter file: [2, S, T, F] (CSTF) or [S, 2, T, F] (SCTF). */
function declared(session: ort.InferenceSession): { layout: 'CSTF' | 'SCTF'; T: number; F: number } {
  const meta = session.inputMetadata[0];
  const shape = meta && meta.isTensor ? meta.shape : [];
  const T = Number(shape[2]);
  const F = Number(shape[3]);
  if (!Number.isInteger(T) || !Number.isInteger(F))
    throw new Error(`input shape ${JSON.stringify(shape)} is not a Spleeter segment`);
  return { layout: shape[0] === 2 ? 'CSTF' : 'SCTF', T, F };
}

/** A batch of `b` segments in the file's layout, from one CSTF segment, each segment scaled differently. */
function batchInput(seg: Float32Array, b: number, layout: 'CSTF' | 'SCTF', T: number, F: number): ort.Tensor {
  const plane = T * F;
  const data = new Float32Array(2 * b * plane);
  for (let s = 0; s < b; s++) {
    const g = 1 + 0.01 * s;
    for (let c = 0; c < 2; c++) {
      const src = seg.subarray(c * plane, (c + 1) * plane);
      const dst = layout === 'CSTF' ? (c * b + s) * plane : (s * 2 + c) * plane;
      for (let i = 0; i < plane; i++) data[dst + i] = src[i] * g;
    }
  }
  return new ort.Tensor('float32', data, layout === 'CSTF' ? [2, b, T, F] : [b, 2, T, F]);
}

async function runOnce(session: ort.InferenceSession, x: ort.Tensor): Promise<Float32Array> {
  const out = await session.run({ [session.inputNames[0]]: x });
  const y = out[session.outputNames[0]];
  const data = (y.data as Float32Array).slice();
  y.dispose?.();
  return data;
}

async function measure(opts: Map<string, string>): Promise<Json> {
  const dir = opts.get('model-dir');
  const audio = opts.get('audio');
  if (!dir || !audio) throw new Error('measure needs --model-dir DIR --audio WAV');
  const providers = (opts.get('providers') ?? 'webgpu').split(',').filter(Boolean) as Ep[];
  const batches = (opts.get('batches') ?? '1,4,16').split(',').filter(Boolean).map(Number);
  const cpuBatches = (opts.get('cpu-batches') ?? '1').split(',').filter(Boolean).map(Number);
  const layouts = (opts.get('layouts') ?? 'NCHW').split(',').filter(Boolean);
  const budgetMs = Number(opts.get('time-budget') ?? 120) * 1000;
  const deadline = performance.now() + budgetMs;
  const { instruments, files } = modelFiles(dir);
  const result: Json = { modelDir: dir, instruments, errors: [] as string[] };
  const errors = result.errors as string[];
  // Rewritten after every stage: if the caller kills this process at its time limit, what was
  // measured so far is still there.
  const jsonOut = opts.get('json-out');
  const save = () => {
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ ...result, partial: true }, infinities));
  };

  const cpu = await createSession(files[0], 'cpu');
  const { layout, T, F } = declared(cpu.session);
  Object.assign(result, { layout, T, F, segmentSeconds: segmentSeconds(T) });
  const stereo = readWavStereo(audio);
  // The second segment when there is one: the first starts with the 4096 padding zeros.
  const index = stereo.length / 2 > 2 * T * 1024 ? 1 : 0;
  const seg = segmentMagnitudes(stereo, T, F, index);
  result.segmentIndex = index;
  const segOut = opts.get('segment-out');
  if (segOut) writeFileSync(segOut, Buffer.from(seg.buffer, seg.byteOffset, seg.byteLength));

  const x = batchInput(seg, 1, layout, T, F);
  const ref = await runOnce(cpu.session, x);
  const ulp = await runOnce(cpu.session, batchInput(addOneUlp(seg.slice()), 1, layout, T, F));
  result.cpu = { sessionMs: cpu.ms, floorSnrDb: snrDb(ref, ulp) };
  save();
  await cpu.session.release();

  const timings: Json[] = [];
  result.timings = timings;
  const gpu: Record<string, Json> = {};
  result.providers = gpu;
  for (const ep of providers) {
    for (const lay of ep === 'webgpu' ? layouts : [undefined]) {
      const key = lay ? `${ep}-${lay}` : ep;
      const entry: Json = {};
      gpu[key] = entry;
      let sessions: ort.InferenceSession[] = [];
      try {
        const first = await createSession(files[0], ep, {}, lay);
        Object.assign(entry, { mode: first.mode, strictError: first.strictError, sessionMs: first.ms });
        sessions = [first.session];
        const t0 = performance.now();
        const y = await runOnce(first.session, x);
        entry.firstRunMs = performance.now() - t0;
        entry.vsCpuSnrDb = snrDb(ref, y);
        for (const f of files.slice(1)) sessions.push((await createSession(f, ep, {}, lay)).session);
        for (const b of ep === 'cpu' ? cpuBatches : batches) {
          if (performance.now() > deadline) {
            errors.push(`${key}: time budget spent before batch ${b}`);
            break;
          }
          timings.push(await timeBatch(key, sessions, seg, b, layout, T, F, instruments.length, deadline));
          save();
        }
      } catch (err) {
        entry.error = errorText(err);
      } finally {
        save();
        for (const s of sessions) await s.release().catch(() => undefined);
      }
    }
  }
  return result;
}

async function timeBatch(
  key: string,
  sessions: ort.InferenceSession[],
  seg: Float32Array,
  b: number,
  layout: 'CSTF' | 'SCTF',
  T: number,
  F: number,
  nInstruments: number,
  deadline: number,
): Promise<Json> {
  const entry: Json = { provider: key, batch: b };
  try {
    const x = batchInput(seg, b, layout, T, F);
    const once = async () => {
      for (const s of sessions) await runOnce(s, x);
    };
    await once(); // warm-up: shader compilation, allocations
    const samples: number[] = [];
    let total = 0;
    while (samples.length < 3 || (total < 1000 && samples.length < 50)) {
      const t0 = performance.now();
      await once();
      const ms = performance.now() - t0;
      samples.push(ms);
      total += ms;
      if (performance.now() > deadline) break;
    }
    const ms = median(samples);
    const segPerS = b / (ms / 1000);
    Object.assign(entry, {
      msPerBatch: ms,
      iterations: samples.length,
      segmentsPerSecond: segPerS,
      realtimeFactor: segPerS * segmentSeconds(T),
      instruments: nInstruments,
    });
  } catch (err) {
    entry.error = errorText(err);
  }
  return entry;
}

async function main(): Promise<void> {
  const { cmd, opts } = args(process.argv.slice(2));
  let result: Json;
  if (cmd === 'probe') result = await probe(opts);
  else if (cmd === 'measure') result = await measure(opts);
  else throw new Error(`usage: ort-model-check.js probe|measure [options] (got '${cmd}')`);
  process.stdout.write(`${JSON.stringify(result, infinities)}\n`);
}

/** JSON has no Infinity: an exact match (SNR = ∞) is written "inf", never null. */
function infinities(_key: string, v: unknown): unknown {
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return v;
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stdout.write(`${JSON.stringify({ error: errorText(err) })}\n`);
      process.exit(1);
    },
  );
}
