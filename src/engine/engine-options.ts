/**
 * The engine's options (library API, CLI, Nest engine service, worker threads): the
 * SpleeterEngine constructor's options, the design's alias names, and how the typed configuration
 * maps onto them.
 */
import { ErrorCodes, ValidationError } from '../core/errors';
import type { ExternalAudioCodec } from '../core/audio/audio-codec';
import type { ModelPrecision } from '../core/models/model-catalog';
import type { SpleeterConfig } from '../infra/config/config.schema';
import type { ExecutionProviderName, InferenceLogger } from '../infra/onnx/onnx-runtime';
import type { ModelManager } from './models/model-manager';
import type { ModelRegistry } from './registry/model-registry';

export interface SpleeterEngineOptions {
  /** Where installed models live (SPLEETER_MODELS_DIR). */
  modelsDir?: string;
  /** Model used when a request names none. */
  defaultModel?: string;
  /** Try GPU execution providers first (CUDA, then WebGPU), falling back to CPU with a warning. */
  enableGpu?: boolean;
  /**
   * Never fall back to the CPU: when none of gpuProviders can be created, separations fail with
   * GPU_UNAVAILABLE (checkExecutionProvider() finds it without a model). Implies enableGpu.
   */
  requireGpu?: boolean;
  gpuProviders?: readonly ExecutionProviderName[];
  /** Inference threads in total (0/undefined = one per CPU core). */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** Run each instrument's network in its own worker thread, splitting the threads between them. */
  parallelInstruments?: boolean;
  /**
   * Cache of onnxruntime-optimized CPU models (machine-specific; saves the graph optimisation at
   * each session creation): default `<modelsDir>/.ort-cache`, null disables it.
   */
  ortCacheDir?: string | null;
  /** Spleeter segments (512 frames ≈ 11.9 s) per model call. */
  batchSegments?: number;
  /**
   * Threads for the STFT, masks and iSTFT of Spleeter separations (same stems bit for bit):
   * 'auto' (default) = 0 when the model runs on the CPU, min(cores − 1, 8) on a GPU provider;
   * 0 = all DSP in the separating thread.
   */
  dspThreads?: 'auto' | number;
  precision?: ModelPrecision;
  /**
   * Cross-job batching (config performance.cross_job_batching): separations running at once in
   * this engine merge their Spleeter model calls (core/spleeter/segment-scheduler.ts; identical
   * stems). 'auto' (default): only when the model runs on a GPU provider (cuda, webgpu).
   */
  crossJobBatching?: CrossJobBatching;
  /** Segments per merged model call at most (1–64, default 16). */
  maxBatchSegments?: number;
  /** How long a model call arriving at an idle model waits for other jobs' calls, ms (default 0). */
  batchWindowMs?: number;
  /** Explicit ffmpeg binary; default: `ffmpeg` on PATH. null = WAV only. */
  ffmpegPath?: string | null;
  /** Reject inputs longer than this many seconds. */
  maxDurationSec?: number;
  /** Parallel files in batchSeparate. */
  batchConcurrency?: number;
  /** Install catalog models on first use. */
  autoDownload?: boolean;
  catalogFile?: string | null;
  /** Connect and idle timeout of model downloads (config `models.download_timeout_s`); default 60. */
  downloadTimeoutS?: number;
  logger?: InferenceLogger;
  /** Advanced: share a model registry (the Nest app passes its own). */
  registry?: ModelRegistry;
  /** Advanced: share a ModelManager (the Nest app passes its own). */
  modelManager?: ModelManager;
  /** Advanced: a custom external codec instead of locating ffmpeg. */
  codec?: ExternalAudioCodec | null;

  /** Output sample rate when a request names none (default: the input's own rate). */
  defaultSampleRate?: number | null;
  /** Default of the per-request `preprocess` (DC removal before the network; default false). */
  enablePreprocessing?: boolean;
  /** Default of the per-request `highpassHz` (Butterworth high-pass corner; default null: none). */
  highpassHz?: number | null;
  /** Default of the per-request `noiseReduction` (spectral gating before the network; default false). */
  noiseReduction?: boolean;
  /** Default of the per-request `normalizeLoudness` (default false). */
  normalizeLoudness?: boolean;
  /** Default of the per-request `targetLufs` (default −14). */
  targetLufs?: number;
  /** Default of the per-request `analysis` (loudness and silence of input and stems; default true). */
  analysis?: boolean;
  /** Silence threshold of analyses, dBFS (config `audio.silence_threshold_db`; default −60). */
  silenceThresholdDbfs?: number;
  /** Shortest silent range analyses report, s (config `audio.silence_min_duration_s`; default 0.5). */
  silenceMinDurationSec?: number;
  /** True peak in separations' analyses (config `audio.analysis_true_peak`; default false: cost). */
  analysisTruePeak?: boolean;
  /**
   * Refuse a separation whose estimated engine memory (memory-estimate.ts) exceeds this many MiB
   * with MEMORY_LIMIT. Default: no limit.
   */
  memoryLimitMb?: number | null;

  // The design's names (docs/design): aliases of the options above, or server-only settings.
  /** Design name of batchSegments; refused when both are given with different values. */
  batchSize?: number;
  /** Design name of intraOpThreads; refused when both are given with different values. */
  workerThreads?: number;
  /** Server only (the result cache lives in the server, not the library): accepted and ignored. */
  cacheEnabled?: boolean;
  /** Server only: accepted and ignored. */
  cacheSizeMb?: number;
  /** Server only: accepted and ignored. */
  redisUrl?: string | null;
  /** Server only (Prometheus metrics are the server's): accepted and ignored. */
  enableMonitoring?: boolean;
  /** Server only: accepted and ignored. */
  metricsExportInterval?: number;
}

export type CrossJobBatching = 'auto' | 'on' | 'off';

/** Refuses cross-job batching options out of range (the config schema checks the same). */
export function checkBatchingOptions(options: SpleeterEngineOptions): void {
  const bad = (field: string, why: string) =>
    new ValidationError(ErrorCodes.VALIDATION_FAILED, `${field} ${why}`, { field });
  const { crossJobBatching: mode, maxBatchSegments: max, batchWindowMs: win } = options;
  if (mode !== undefined && mode !== 'auto' && mode !== 'on' && mode !== 'off')
    throw bad('crossJobBatching', "must be 'auto', 'on' or 'off'");
  if (max !== undefined && !(Number.isInteger(max) && max >= 1 && max <= 64))
    throw bad('maxBatchSegments', 'must be an integer in 1..64');
  if (win !== undefined && !(Number.isFinite(win) && win >= 0 && win <= 1000))
    throw bad('batchWindowMs', 'must be a number of ms in 0..1000');
}

/** Folds the design's names (batchSize, workerThreads) into the engine's own. */
export function resolveEngineOptionAliases(options: SpleeterEngineOptions): SpleeterEngineOptions {
  const out = { ...options };
  const pairs: Array<[alias: 'batchSize' | 'workerThreads', key: 'batchSegments' | 'intraOpThreads']> = [
    ['batchSize', 'batchSegments'],
    ['workerThreads', 'intraOpThreads'],
  ];
  for (const [alias, key] of pairs) {
    const a = out[alias];
    if (a === undefined) continue;
    if (out[key] !== undefined && out[key] !== a) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `Options ${alias} (${a}) and ${key} (${out[key]}) name the same setting with different values; give one of them`,
        { field: alias },
      );
    }
    out[key] = a;
  }
  return out;
}

/** Engine options from the typed configuration (CLI, Nest engine service, worker threads). */
export function engineOptionsFromConfig(config: SpleeterConfig): SpleeterEngineOptions {
  return {
    modelsDir: config.models.dir,
    defaultModel: config.models.default_model,
    enableGpu: config.performance.enable_gpu,
    requireGpu: config.performance.require_gpu,
    gpuProviders: config.performance.gpu_providers,
    intraOpThreads: config.performance.intra_op_threads,
    interOpThreads: config.performance.inter_op_threads,
    parallelInstruments: config.performance.parallel_instruments,
    batchSegments: config.performance.batch_segments,
    crossJobBatching: config.performance.cross_job_batching,
    maxBatchSegments: config.performance.max_batch_segments,
    batchWindowMs: config.performance.batch_window_ms,
    dspThreads: config.performance.dsp_threads,
    batchConcurrency: config.performance.batch_concurrency,
    precision: config.models.precision,
    ffmpegPath: config.audio.ffmpeg_path,
    maxDurationSec: config.audio.max_duration_s,
    autoDownload: config.models.auto_download,
    catalogFile: config.models.catalog_file,
    downloadTimeoutS: config.models.download_timeout_s,
    defaultSampleRate: config.audio.default_sample_rate,
    enablePreprocessing: config.audio.enable_preprocessing,
    highpassHz: config.audio.highpass_hz,
    noiseReduction: config.audio.noise_reduction,
    normalizeLoudness: config.audio.normalize_loudness,
    targetLufs: config.audio.target_lufs,
    silenceThresholdDbfs: config.audio.silence_threshold_db,
    silenceMinDurationSec: config.audio.silence_min_duration_s,
    analysisTruePeak: config.audio.analysis_true_peak,
    memoryLimitMb: config.performance.memory_limit_mb,
    // null: the engine's default (<models dir>/.ort-cache); '' switches the cache off
    ortCacheDir:
      config.models.ort_cache_dir === null
        ? undefined
        : config.models.ort_cache_dir === ''
          ? null
          : config.models.ort_cache_dir,
  };
}
