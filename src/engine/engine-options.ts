import type { SpleeterConfig } from '../infra/config/config.schema';
import type { SpleeterEngineOptions } from './spleeter-engine';

/** Engine options from the typed configuration (CLI, Nest engine service, worker threads). */
export function engineOptionsFromConfig(config: SpleeterConfig): SpleeterEngineOptions {
  return {
    modelsDir: config.models.dir,
    defaultModel: config.models.default_model,
    enableGpu: config.performance.enable_gpu,
    gpuProviders: config.performance.gpu_providers,
    intraOpThreads: config.performance.intra_op_threads,
    interOpThreads: config.performance.inter_op_threads,
    parallelInstruments: config.performance.parallel_instruments,
    batchSegments: config.performance.batch_segments,
    batchConcurrency: config.performance.batch_concurrency,
    precision: config.models.precision,
    ffmpegPath: config.audio.ffmpeg_path,
    maxDurationSec: config.audio.max_duration_s,
    autoDownload: config.models.auto_download,
    catalogFile: config.models.catalog_file,
    downloadTimeoutS: config.models.download_timeout_s,
    defaultSampleRate: config.audio.default_sample_rate,
    enablePreprocessing: config.audio.enable_preprocessing,
    normalizeLoudness: config.audio.normalize_loudness,
    targetLufs: config.audio.target_lufs,
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
