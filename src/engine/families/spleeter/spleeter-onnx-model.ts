/**
 * Loads a Spleeter ONNX model directory (sherpa-onnx layout: one file per instrument, e.g.
 * vocals.onnx + accompaniment.onnx, optionally *.fp16.onnx / *.int8.onnx / *.fp16c.onnx) as a SegmentModel.
 *
 * Instrument order: spleeter.json manifest, else the files' `instruments` metadata, else the
 * official configuration (2, 4 or 5 stems) whose files are present, else sherpa's 2stems defaults. Layout (CSTF/SCTF), T and F come from each file's declared input shape; every file
 * must declare the same signature. run() always speaks CSTF and returns magnitudes: SCTF files are
 * transposed around the call, and softmax_unet logits are turned into softmax × input here.
 *
 * Parallelism: onnxruntime-node's run() is synchronous on the JS thread, so Promise.all over
 * in-thread sessions cannot overlap them (measured: no gain). `parallelism: 'sequential'` (default)
 * runs the instrument sessions one after the other in this thread, using onnxruntime's intra-op
 * pool; `'worker-threads'` puts each instrument's session in its own worker thread and runs them
 * together, which also keeps this thread's event loop free (size intraOpThreads accordingly:
 * instruments × intraOpThreads threads in total).
 */
import { readdir, readFile, stat } from 'fs/promises';
import { join, resolve } from 'path';
import * as ort from 'onnxruntime-node';
import { ErrorCodes, ModelError, SeparationError, ValidationError } from '../../../core/errors';
import { readOnnxMetadata, type OnnxModelMetadata } from '../../../core/onnx/onnx-metadata-reader';
import {
  SPLEETER_MANIFEST_FILE,
  manifestFileName,
  spleeterManifestSchema,
  type SpleeterManifest,
} from '../../../core/onnx/spleeter-manifest';
import type { ModelPrecision } from '../../../core/models/model-catalog';
import { spleeterInstrumentsFromFiles } from '../../../core/onnx/spleeter-configs';
import {
  SPLEETER_T,
  type SegmentLayout,
  type SegmentModel,
  type SpleeterArchitecture,
} from '../../../core/spleeter/types';
import {
  OnnxRuntime,
  type ExecutionProviderName,
  type InferenceLogger,
  type OnnxSessionHandle,
} from '../../../infra/onnx/onnx-runtime';
import { sessionThreads, withInferenceThreads } from '../../../infra/onnx/inference-thread-budget';
import { WorkerOnnxSession } from '../../../infra/onnx/worker-onnx-session';

// Aliased: global lookups are slow inside jest's vm sandbox (this runs per output element).
const { exp } = Math;

/** sherpa-onnx's published Spleeter files carry no instrument list: this is their 2stems order. */
export const SHERPA_DEFAULT_INSTRUMENTS = ['vocals', 'accompaniment'] as const;

export interface LoadSpleeterModelOptions {
  precision?: ModelPrecision;
  executionProviders?: readonly ExecutionProviderName[];
  intraOpThreads?: number;
  interOpThreads?: number;
  deviceId?: number;
  logger?: InferenceLogger;
  /** Session cache to use (share one per process); default: a process-wide instance. */
  runtime?: OnnxRuntime;
  /** Segment length the caller will feed; a file declaring another fixed T is rejected. Default 512. */
  T?: number;
  /** See the module comment. Default 'sequential'. */
  parallelism?: 'sequential' | 'worker-threads';
  /** On-disk cache of optimized CPU models (OnnxSessionOptions.optimizedModelCacheDir); null/absent: off. */
  optimizedModelCacheDir?: string | null;
}

export interface SpleeterModelInfo {
  dir: string;
  name: string;
  config?: string;
  architecture: SpleeterArchitecture;
  instruments: readonly string[];
  F: number;
  T: number;
  layout: SegmentLayout;
  precision: ModelPrecision;
  /** What each file outputs: magnitude (mask × x) or logits (softmax_unet). */
  output: 'magnitude' | 'logits';
  /** Absolute file path per instrument, same order as `instruments`. */
  files: readonly string[];
  inputName: string;
  outputName: string;
  executionProvider: string;
  /** Where the instrument order came from. */
  instrumentSource: 'manifest' | 'metadata' | 'files' | 'default';
  /** metadata_props of each file, same order as `instruments`. */
  metadata: readonly Record<string, string>[];
  parallelism: 'sequential' | 'worker-threads';
}

/** One instrument's session, in this thread or in a worker. */
interface InstrumentRunner {
  readonly executionProvider: string;
  run(
    inputName: string,
    outputName: string,
    data: Float32Array,
    dims: readonly number[],
  ): Promise<{ data: Float32Array; dims: readonly number[]; elementType: string }>;
  release(): Promise<void>;
}

function inThreadRunner(h: OnnxSessionHandle, threads: number): InstrumentRunner {
  return {
    executionProvider: h.executionProvider,
    release: () => h.release(),
    run: async (inputName, outputName, data, dims) => {
      const out = await withInferenceThreads(threads, () =>
        h.session.run({ [inputName]: new ort.Tensor('float32', data, dims) }),
      );
      const y = out[outputName] as ort.Tensor | undefined;
      if (!y) throw new Error(`no output '${outputName}'`);
      return { data: y.data as Float32Array, dims: y.dims, elementType: y.type };
    },
  };
}

export type LoadedSpleeterModel = SegmentModel & { readonly info: SpleeterModelInfo };

let sharedRuntime: OnnxRuntime | undefined;
function defaultRuntime(): OnnxRuntime {
  return (sharedRuntime ??= new OnnxRuntime());
}

interface FileSignature {
  path: string;
  meta: OnnxModelMetadata;
  inputName: string;
  outputName: string;
  layout: SegmentLayout;
  T: number | string;
  F: number;
  output: 'magnitude' | 'logits';
}

export async function loadSpleeterModel(
  modelDir: string,
  opts: LoadSpleeterModelOptions = {},
): Promise<LoadedSpleeterModel> {
  const dir = resolve(modelDir);
  const precision = opts.precision ?? 'fp32';
  const expectedT = opts.T ?? SPLEETER_T;
  const dirStat = await stat(dir).catch(() => null);
  if (!dirStat?.isDirectory()) {
    throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `model directory not found: ${dir}`, { dir });
  }

  const manifest = await readManifest(dir);
  let instruments: string[];
  let instrumentSource: SpleeterModelInfo['instrumentSource'];
  let fileOf: (instrument: string) => string;
  if (manifest) {
    instruments = [...manifest.instruments];
    instrumentSource = 'manifest';
    fileOf = (i) => join(dir, manifestFileName(manifest, i, precision));
  } else {
    fileOf = (i) => join(dir, precision === 'fp32' ? `${i}.onnx` : `${i}.${precision}.onnx`);
    const fromMeta = await instrumentsFromMetadata(dir, precision);
    const fromFiles = fromMeta ? null : spleeterInstrumentsFromFiles(await readdir(dir), precision);
    instruments = fromMeta ?? fromFiles ?? [...SHERPA_DEFAULT_INSTRUMENTS];
    instrumentSource = fromMeta ? 'metadata' : fromFiles ? 'files' : 'default';
  }

  const signatures: FileSignature[] = [];
  for (const instrument of instruments) {
    const path = fileOf(instrument);
    if (!(await stat(path).catch(() => null))?.isFile()) {
      throw new ModelError(
        ErrorCodes.MODEL_NOT_INSTALLED,
        `model file for instrument '${instrument}' (${precision}) not found: ${path}`,
        { dir, instrument, precision, path },
      );
    }
    signatures.push(fileSignature(path, await readOnnxMetadata(path), instrument, instruments, manifest?.F));
  }

  const first = signatures[0];
  for (const s of signatures.slice(1)) {
    const same =
      s.inputName === first.inputName &&
      s.outputName === first.outputName &&
      s.layout === first.layout &&
      s.T === first.T &&
      s.F === first.F &&
      s.output === first.output;
    if (!same) {
      throw new ModelError(
        ErrorCodes.MODEL_INVALID,
        `${s.path} declares ${describe(s)} but ${first.path} declares ${describe(first)}; all instrument files must match`,
        { path: s.path },
      );
    }
  }
  if (typeof first.T === 'number' && first.T !== expectedT) {
    throw new ModelError(
      ErrorCodes.MODEL_INVALID,
      `${first.path} declares T=${first.T}, expected ${expectedT}`,
      {
        path: first.path,
      },
    );
  }
  const architecture: SpleeterArchitecture =
    manifest?.architecture ?? (first.output === 'logits' ? 'softmax_unet' : 'unet');
  if ((architecture === 'softmax_unet') !== (first.output === 'logits')) {
    throw new ModelError(
      ErrorCodes.MODEL_INVALID,
      `${SPLEETER_MANIFEST_FILE} says ${architecture} but ${first.path} outputs ${first.output}`,
      { path: first.path },
    );
  }

  const parallelism = opts.parallelism ?? 'sequential';
  const sessionOptions = {
    executionProviders: opts.executionProviders,
    intraOpThreads: opts.intraOpThreads,
    interOpThreads: opts.interOpThreads,
    deviceId: opts.deviceId,
    logger: opts.logger,
    optimizedModelCacheDir: opts.optimizedModelCacheDir,
    // The decoder's ConvTransposes as Convs: 8 % less CPU per model call on the full U-Net
    // (core/onnx/conv-transpose-rewrite.ts; applied with the optimized-model cache only).
    rewriteConvTranspose: true,
  };
  const runtime = opts.runtime ?? defaultRuntime();
  const runners: InstrumentRunner[] = [];
  try {
    if (parallelism === 'worker-threads') {
      // Started together: each worker loads its own onnxruntime and weights in parallel.
      const started = await Promise.allSettled(
        signatures.map((s) => WorkerOnnxSession.start(s.path, sessionOptions)),
      );
      for (const r of started) if (r.status === 'fulfilled') runners.push(r.value);
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } else {
      for (const s of signatures)
        runners.push(
          inThreadRunner(
            await runtime.createSession(s.path, sessionOptions),
            sessionThreads(opts.intraOpThreads),
          ),
        );
    }
  } catch (err) {
    await Promise.all(runners.map((r) => r.release()));
    if (err instanceof ModelError) throw err;
    throw new ModelError(
      ErrorCodes.MODEL_LOAD_FAILED,
      `cannot load ${dir}: ${(err as Error).message}`,
      { dir },
      { cause: err },
    );
  }

  const eps = [...new Set(runners.map((h) => h.executionProvider))];
  if (eps.length > 1)
    opts.logger?.warn(`spleeter model ${dir}: instrument sessions run on different EPs (${eps.join(', ')})`);
  const info: SpleeterModelInfo = {
    dir,
    name: manifest?.name ?? first.meta.metadata.model_name ?? dir.split(/[\\/]/).pop() ?? dir,
    config: manifest?.config,
    architecture,
    instruments,
    F: first.F,
    T: typeof first.T === 'number' ? first.T : expectedT,
    layout: first.layout,
    precision,
    output: first.output,
    files: signatures.map((s) => s.path),
    inputName: first.inputName,
    outputName: first.outputName,
    executionProvider: eps.join(','),
    instrumentSource,
    metadata: signatures.map((s) => s.meta.metadata),
    parallelism,
  };
  return new SpleeterOnnxModel(info, runners);
}

class SpleeterOnnxModel implements LoadedSpleeterModel {
  readonly instruments: readonly string[];
  readonly F: number;
  readonly executionProvider: string;
  private disposed = false;

  constructor(
    readonly info: SpleeterModelInfo,
    private readonly runners: InstrumentRunner[],
  ) {
    this.instruments = info.instruments;
    this.F = info.F;
    this.executionProvider = info.executionProvider;
  }

  async run(input: Float32Array, S: number, signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.disposed)
      throw new ModelError(ErrorCodes.MODEL_INFERENCE_FAILED, `model ${this.info.dir} is disposed`);
    const { T, F, layout } = this.info;
    if (!Number.isInteger(S) || S < 1 || input.length !== 2 * S * T * F) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `segment input has ${input.length} values; expected 2·S·${T}·${F} with integer S ≥ 1 (S=${S})`,
      );
    }
    const TF = T * F;
    const feed = layout === 'CSTF' ? input : permuteSegments(input, S, TF, true);
    const dims = layout === 'CSTF' ? [2, S, T, F] : [S, 2, T, F];
    const runOne = async (k: number): Promise<Float32Array> => {
      let y;
      try {
        y = await this.runners[k].run(this.info.inputName, this.info.outputName, feed, dims);
      } catch (err) {
        throw new ModelError(
          ErrorCodes.MODEL_INFERENCE_FAILED,
          `inference failed in ${this.info.files[k]}: ${(err as Error).message}`,
          { path: this.info.files[k], S },
          { cause: err },
        );
      }
      if (y.elementType !== 'float32' || y.data.length !== input.length) {
        throw new ModelError(
          ErrorCodes.MODEL_INFERENCE_FAILED,
          `${this.info.files[k]} returned ${y.elementType} [${y.dims.join(',')}], expected float32 [${dims.join(',')}]`,
          { path: this.info.files[k] },
        );
      }
      return layout === 'CSTF' ? y.data : permuteSegments(y.data, S, TF, false);
    };
    const aborted = () =>
      new SeparationError(ErrorCodes.JOB_CANCELED, 'inference aborted', { reason: String(signal?.reason) });

    let outs: Float32Array[];
    if (this.info.parallelism === 'worker-threads') {
      if (signal?.aborted) throw aborted();
      outs = await Promise.all(this.runners.map((_, k) => runOne(k)));
    } else {
      outs = [];
      for (let k = 0; k < this.runners.length; k++) {
        if (signal?.aborted) throw aborted();
        outs.push(await runOne(k));
      }
    }
    if (this.info.output === 'logits') softmaxTimesInput(outs, input);
    return outs;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(this.runners.map((h) => h.release()));
  }
}

/** CSTF [2,S,T,F] <-> SCTF [S,2,T,F]: a permutation of contiguous T·F blocks. */
export function permuteSegments(src: Float32Array, S: number, TF: number, toSctf: boolean): Float32Array {
  const out = new Float32Array(src.length);
  for (let c = 0; c < 2; c++) {
    for (let s = 0; s < S; s++) {
      const cstf = (c * S + s) * TF;
      const sctf = (s * 2 + c) * TF;
      if (toSctf) out.set(src.subarray(cstf, cstf + TF), sctf);
      else out.set(src.subarray(sctf, sctf + TF), cstf);
    }
  }
  return out;
}

/** In place: logits_k <- softmax_k(logits) × input (max-subtracted for stability). */
export function softmaxTimesInput(logits: Float32Array[], input: Float32Array): void {
  const n = logits.length;
  const e = new Float64Array(n);
  for (let i = 0; i < input.length; i++) {
    let max = -Infinity;
    for (let k = 0; k < n; k++) if (logits[k][i] > max) max = logits[k][i];
    let sum = 0;
    for (let k = 0; k < n; k++) sum += e[k] = exp(logits[k][i] - max);
    const scale = input[i] / sum;
    for (let k = 0; k < n; k++) logits[k][i] = e[k] * scale;
  }
}

/**
 * The instruments of a model directory, decided as loadSpleeterModel decides them, without creating
 * any session (a request can then be checked before the model is loaded).
 */
export async function spleeterInstrumentsOf(
  modelDir: string,
  precision: ModelPrecision = 'fp32',
): Promise<string[]> {
  const dir = resolve(modelDir);
  const dirStat = await stat(dir).catch(() => null);
  if (!dirStat?.isDirectory()) {
    throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `model directory not found: ${dir}`, { dir });
  }
  const manifest = await readManifest(dir);
  if (manifest) return [...manifest.instruments];
  return (
    (await instrumentsFromMetadata(dir, precision)) ??
    spleeterInstrumentsFromFiles(await readdir(dir), precision) ?? [...SHERPA_DEFAULT_INSTRUMENTS]
  );
}

async function readManifest(dir: string): Promise<SpleeterManifest | null> {
  const path = join(dir, SPLEETER_MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ModelError(
      ErrorCodes.MODEL_LOAD_FAILED,
      `cannot read ${path}: ${(err as Error).message}`,
      { path },
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelError(
      ErrorCodes.MODEL_INVALID,
      `${path} is not valid JSON: ${(err as Error).message}`,
      { path },
      { cause: err },
    );
  }
  const parsed = spleeterManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelError(ErrorCodes.MODEL_INVALID, `${path} is invalid: ${issues}`, {
      path,
      issues: parsed.error.issues,
    });
  }
  return parsed.data;
}

/** Without a manifest: the `instruments` metadata of any file of this precision, if present. */
async function instrumentsFromMetadata(dir: string, precision: ModelPrecision): Promise<string[] | null> {
  const names = (await readdir(dir)).sort();
  const pattern = precision === 'fp32' ? /^[^.]+\.onnx$/ : new RegExp(`^[^.]+\\.${precision}\\.onnx$`);
  const candidate = names.find((n) => pattern.test(n));
  if (!candidate) return null;
  const list = (await readOnnxMetadata(join(dir, candidate))).metadata.instruments;
  if (!list) return null;
  const instruments = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return instruments.length ? instruments : null;
}

function fileSignature(
  path: string,
  meta: OnnxModelMetadata,
  instrument: string,
  instruments: readonly string[],
  manifestF: number | undefined,
): FileSignature {
  const invalid = (why: string) =>
    new ModelError(ErrorCodes.MODEL_INVALID, `${path}: ${why}`, { path, instrument });
  if (meta.inputs.length !== 1 || meta.outputs.length !== 1) {
    throw invalid(`expected 1 input and 1 output, found ${meta.inputs.length} and ${meta.outputs.length}`);
  }
  const [inp] = meta.inputs;
  const [out] = meta.outputs;
  if (inp.elementType !== 'float32' || out.elementType !== 'float32') {
    throw invalid(`input/output must be float32, found ${inp.elementType}/${out.elementType}`);
  }
  const shape = inp.shape;
  if (!shape || shape.length !== 4)
    throw invalid(`input '${inp.name}' must be rank 4, declared [${shape?.join(',') ?? '?'}]`);
  let layout: SegmentLayout;
  if (shape[0] === 2 && shape[1] !== 2) layout = 'CSTF';
  else if (shape[1] === 2 && shape[0] !== 2) layout = 'SCTF';
  else if (
    shape[0] === 2 &&
    shape[1] === 2 &&
    (meta.metadata.layout === 'CSTF' || meta.metadata.layout === 'SCTF')
  ) {
    layout = meta.metadata.layout;
  } else if (shape[0] === 2 && shape[1] === 2) layout = 'CSTF';
  else
    throw invalid(
      `cannot tell the layout from input shape [${shape.join(',')}]: need 2 channels on axis 0 or 1`,
    );
  const metaF = Number(meta.metadata.F);
  const F =
    typeof shape[3] === 'number'
      ? shape[3]
      : (manifestF ?? (Number.isInteger(metaF) && metaF > 0 ? metaF : undefined));
  if (F === undefined)
    throw invalid(`frequency axis is not fixed ([${shape.join(',')}]) and no F in manifest or metadata`);
  if (manifestF !== undefined && manifestF !== F)
    throw invalid(`declares F=${F}, ${SPLEETER_MANIFEST_FILE} says ${manifestF}`);
  const T = shape[2] ?? 'T';
  if (out.shape && out.shape.length === 4) {
    for (let i = 0; i < 4; i++) {
      const a = shape[i];
      const b = out.shape[i];
      if (typeof a === 'number' && typeof b === 'number' && a !== b) {
        throw invalid(
          `output '${out.name}' [${out.shape.join(',')}] does not match input [${shape.join(',')}]`,
        );
      }
    }
  } else if (out.shape) {
    throw invalid(`output '${out.name}' must be rank 4`);
  }
  const declared = meta.metadata.instrument ?? meta.metadata.comment;
  if (declared && declared !== instrument && instruments.includes(declared)) {
    throw invalid(`file is the '${declared}' network, loaded as '${instrument}'`);
  }
  const outputKind = meta.metadata.output;
  if (outputKind !== undefined && outputKind !== 'magnitude' && outputKind !== 'logits') {
    throw invalid(`metadata output='${outputKind}', expected magnitude or logits`);
  }
  const output = outputKind ?? (meta.metadata.architecture === 'softmax_unet' ? 'logits' : 'magnitude');
  return { path, meta, inputName: inp.name, outputName: out.name, layout, T, F, output };
}

function describe(s: FileSignature): string {
  const dims = s.layout === 'CSTF' ? `[2,S,${s.T},${s.F}]` : `[S,2,${s.T},${s.F}]`;
  return `${s.inputName}${dims} -> ${s.outputName} (${s.output})`;
}
