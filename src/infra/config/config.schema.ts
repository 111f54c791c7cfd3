/**
 * The one typed configuration of spleeter-server. YAML files use these exact keys under a top-level
 * `spleeter:` key; env vars override them (see config.loader.ts). Every section is strict: an unknown
 * key is a start-up error naming it.
 */
import { z } from 'zod';
import { BITRATE_KBPS_MAX, BITRATE_KBPS_MIN, OUTPUT_CODECS } from '../../core/audio/audio-codec';
import { MODEL_PRECISIONS } from '../../core/models/model-catalog';

const port = z.number().int().min(0).max(65535);
const positive = z.number().positive();
const nonNegInt = z.number().int().min(0);

export const executionProviderSchema = z.enum(['cuda', 'webgpu', 'cpu']);

export const configSchema = z
  .object({
    env: z.enum(['development', 'production', 'test']).default('development'),
    api_key: z.string().min(16, 'must be at least 16 characters').nullable().default(null),
    server: z
      .object({
        /** 'all': HTTP + running jobs (default); 'api': HTTP only, jobs go to the Redis queue for workers. */
        role: z.enum(['all', 'api']).default('all'),
        host: z.string().default('0.0.0.0'),
        port: port.default(8080),
        public_url: z.string().url().nullable().default(null),
        body_limit_kb: nonNegInt.default(256),
        cors_origins: z.array(z.string()).default([]),
        shutdown_timeout_s: positive.default(30),
        trust_proxy: z.boolean().default(false),
        /** Serve the browser app (web/dist, built by `npm run build`) at `/`. */
        web_ui: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    models: z
      .object({
        dir: z.string().default('./.data/models'),
        auto_download: z.boolean().default(false),
        default_model: z.string().default('builtin:center'),
        precision: z.enum(MODEL_PRECISIONS).default('fp32'),
        catalog_file: z.string().nullable().default(null),
        download_timeout_s: positive.default(60),
        /**
         * Directory for onnxruntime-optimized copies of CPU models (machine-specific; faster
         * session creation). Default `<dir>/.ort-cache`; `''` turns the cache off.
         */
        ort_cache_dir: z.string().nullable().default(null),
      })
      .strict()
      .prefault({}),
    performance: z
      .object({
        enable_gpu: z.boolean().default(false),
        gpu_providers: z.array(executionProviderSchema).default(['cuda', 'webgpu']),
        /**
         * Refuse to run on the CPU: when none of gpu_providers can be created, the engine fails with
         * GPU_UNAVAILABLE (server start-up exits 1, the CLI exits 6) instead of falling back to cpu
         * with a warning. Implies enable_gpu.
         */
        require_gpu: z.boolean().default(false),
        intra_op_threads: nonNegInt.default(0),
        /**
         * Inference threads the model calls of all jobs of a process may use at once: a call takes
         * its session's intra-op threads from this budget and waits while they are not free, so jobs
         * running together interleave instead of oversubscribing the cores. 0: the larger of
         * intra_op_threads and the number of cores.
         */
        inference_thread_budget: nonNegInt.default(0),
        /**
         * Nice value of the separation worker threads (Linux: per thread; their instrument threads,
         * onnxruntime pools and decoder processes inherit it). Above 0 the HTTP thread and the
         * upload probes run first when the CPUs are busy with separations; 0: same priority.
         */
        worker_nice: z.number().int().min(0).max(19).default(10),
        parallel_instruments: z.boolean().default(true),
        inter_op_threads: nonNegInt.default(1),
        batch_segments: z.number().int().min(1).max(64).default(1),
        /**
         * Threads for the STFT, masks and iSTFT of Spleeter separations (stems bit-identical):
         * 'auto' = 0 when the model runs on the CPU, min(cores − 1, 8) on a GPU provider; 0 = all
         * DSP in the separating thread. Env values are strings, hence the digits-only form.
         */
        dsp_threads: z
          .union([
            z.literal('auto'),
            z.number().int().min(0).max(256),
            z
              .string()
              .regex(/^\s*\d{1,3}\s*$/, "expected 'auto' or an integer >= 0")
              .transform(Number)
              .pipe(z.number().int().min(0).max(256)),
          ])
          .default('auto'),
        batch_concurrency: z.number().int().min(1).default(2),
        /** Design name of batch_segments (segments per model call); both set to different values is an error. */
        batch_size: z.number().int().min(1).max(64).nullable().default(null),
        /** Design name of intra_op_threads (inference threads in total, 0 = one per core). */
        worker_threads: nonNegInt.nullable().default(null),
        /**
         * Admission limit on a separation's estimated engine memory (MiB): a job whose estimate
         * exceeds it is refused with MEMORY_LIMIT (HTTP 422). null: no limit.
         */
        memory_limit_mb: positive.nullable().default(null),
        /**
         * GPU arena growth (TensorFlow's allow_growth). Accepted for the design's contract; the
         * onnxruntime-node binding passes only deviceId to the CUDA provider, so it has no effect
         * yet (onnxruntime's default, kNextPowerOfTwo, applies). false logs a warning with a GPU.
         */
        gpu_memory_growth: z.boolean().default(true),
        /**
         * Seconds after its last job at which a separation worker thread is retired: its sessions,
         * onnxruntime arenas and heap are given back, and the next job loads the model again
         * (a cold start). 0: keep workers for the life of the process.
         */
        idle_release_s: nonNegInt.default(60),
        /**
         * Cross-job batching: separations running at once in one engine (one worker thread) merge
         * their Spleeter model calls into one call of up to max_batch_segments segments
         * (core/spleeter/segment-scheduler.ts; bit-identical stems). auto: on when the model runs on
         * a GPU provider (cuda, webgpu), off on the CPU, where a call's cost grows with its segments
         * and merging gains nothing.
         */
        cross_job_batching: z.enum(['auto', 'on', 'off']).default('auto'),
        /**
         * Segments per merged model call at most (a job's own batch is never split). Host memory of
         * a merged call at F=1024: about (1 + 2 × instruments) × 4 MiB per segment (input, outputs,
         * their per-job copies), e.g. 576 MiB for 16 segments of a 4-stem model.
         */
        max_batch_segments: z.number().int().min(1).max(64).default(16),
        /** A model call arriving at an idle model waits this long for other jobs' calls (0: not at all). */
        batch_window_ms: z.number().int().min(0).max(1000).default(0),
        /**
         * Separations one worker thread runs at once (the server runs queue.concurrency jobs in
         * ceil(queue.concurrency / jobs_per_worker) threads). Above 1, the jobs of a thread share
         * its model sessions, which cross-job batching needs (and a GPU's memory likes); 1 (default):
         * a thread per job. auto: 4 with enable_gpu or require_gpu (unless the GPU check fell back
         * to the CPU), else 1.
         */
        jobs_per_worker: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default(1),
      })
      .strict()
      .prefault({}),
    audio: z
      .object({
        ffmpeg_path: z.string().nullable().default(null),
        max_duration_s: positive.default(3 * 3600),
        max_upload_mb: positive.default(1024),
        allowed_formats: z
          .array(z.string())
          .default(['wav', 'rf64', 'aiff', 'flac', 'mp3', 'ogg', 'm4a', 'aac', 'wma', 'caf']),
        /**
         * Uploads probed (ffprobe for non-WAV input) at once; the rest wait their turn. 0: one per
         * core. Forty probes started together on a busy machine all finish late; bounded, the
         * first uploads are answered early.
         */
        probe_concurrency: nonNegInt.default(0),
        /**
         * Uploads: read MP3 format, duration and ID3v2 text tags natively instead of starting
         * ffprobe (the job's own probe still runs ffprobe); files this reader cannot tell go to ffprobe.
         */
        native_mp3_probe: z.boolean().default(true),
        default_codec: z.enum(OUTPUT_CODECS).default('wav'),
        default_bit_depth: z.union([z.literal(16), z.literal(24), z.literal(32)]).default(16),
        default_bitrate_kbps: z.number().int().min(BITRATE_KBPS_MIN).max(BITRATE_KBPS_MAX).default(192),
        /** Design name of allowed_formats; both set to different lists is an error. */
        supported_formats: z.array(z.string()).nullable().default(null),
        /** Output sample rate when a request names none; null: the input's own rate. */
        default_sample_rate: z.number().int().min(8000).max(192000).nullable().default(null),
        /** Default of the per-request `preprocess` option (DC removal before the network). */
        enable_preprocessing: z.boolean().default(false),
        /**
         * Default of the per-request `highpassHz`: a 4th-order Butterworth high-pass at this corner
         * before the network (with DC removal); null: none.
         */
        highpass_hz: z.number().min(10).max(500).nullable().default(null),
        /** Default of the per-request `noiseReduction` (spectral gating, with DC removal). */
        noise_reduction: z.boolean().default(false),
        /** Default of the per-request `normalizeLoudness` option (input at target_lufs for the network). */
        normalize_loudness: z.boolean().default(false),
        /** Default of the per-request `targetLufs` option. */
        target_lufs: z.number().min(-70).max(0).default(-14),
        /** Analyses (separations' and POST /v1/analyses): level at or under which audio is silent, dBFS. */
        silence_threshold_db: z.number().min(-120).max(0).default(-60),
        /** Analyses: shortest silent range reported, seconds. */
        silence_min_duration_s: z.number().min(0.01).max(60).default(0.5),
        /**
         * True peak (4× oversampled) in separations' analyses. Off by default: it is ~85 % of their
         * cost, 25–140 % on top of a Spleeter run on 2 cores against < 10 % without it
         * (docs/ANALYSIS.md); off leaves truePeakDbtp null. POST /v1/analyses always measures it.
         */
        analysis_true_peak: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        dir: z.string().default('./.data/storage'),
        retention_hours: positive.default(24),
        cleanup_interval_min: positive.default(15),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        url: z.string().nullable().default(null),
        sqlite_path: z.string().default('./.data/spleeter.sqlite'),
        log_queries: z.boolean().default(false),
        /** PostgreSQL at start-up: attempts after the first failed one, then the process exits 1. */
        connect_retries: z.number().int().min(0).default(9),
        connect_retry_delay_s: z.number().min(0).default(3),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        url: z.string().nullable().default(null),
      })
      .strict()
      .prefault({}),
    queue: z
      .object({
        driver: z.enum(['auto', 'memory', 'redis']).default('auto'),
        concurrency: z.number().int().min(1).default(1),
        capacity: z.number().int().min(1).default(100),
        prefix: z.string().default('spleeter'),
      })
      .strict()
      .prefault({}),
    cache: z
      .object({
        enabled: z.boolean().default(true),
        dir: z.string().default('./.data/cache'),
        memory_size_mb: z.number().min(0).default(256),
        disk_size_mb: z.number().min(0).default(2048),
        ttl_hours: positive.default(24),
        redis_enabled: z.boolean().default(true),
        redis_max_item_mb: positive.default(64),
        /** Redis of the L3 tier; null: redis.url. */
        redis_url: z.string().nullable().default(null),
      })
      .strict()
      .prefault({}),
    monitoring: z
      .object({
        enabled: z.boolean().default(true),
        metrics_port: port.nullable().default(null),
        metrics_public: z.boolean().default(true),
        min_free_disk_mb: z.number().min(0).default(512),
        /** Seconds a scrape-time gauge source (queue, cache, memory, GPU) is reused; 0: read at every scrape. */
        export_interval: z.number().min(0).default(0),
        /** Seconds a readiness dependency check is reused; 0: checked at every probe (shutdown never cached). */
        health_check_interval: z.number().min(0).default(0),
        alert_thresholds: z
          .object({
            memory_usage: z.number().min(0).max(100).default(85),
            gpu_usage: z.number().min(0).max(100).default(90),
            error_rate: z.number().min(0).max(100).default(5),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    security: z
      .object({
        auth_enabled: z.boolean().default(true),
        jwt: z
          .object({
            secret: z.string().nullable().default(null),
            public_key: z.string().nullable().default(null),
            jwks_url: z.string().url().nullable().default(null),
            algorithms: z.array(z.enum(['HS256', 'RS256', 'ES256'])).default(['HS256']),
            issuer: z.string().nullable().default(null),
            audience: z.string().nullable().default(null),
            roles_claim: z.string().default('roles'),
            clock_skew_s: nonNegInt.default(30),
          })
          .strict()
          .prefault({}),
        rate_limit: z
          .object({
            ttl_s: positive.default(60),
            limit: z.number().int().min(1).default(120),
          })
          .strict()
          .prefault({}),
        quotas: z
          .object({
            max_concurrent_jobs: z.number().int().min(1).default(4),
            audio_minutes_per_day: positive.default(600),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    callbacks: z
      .object({
        secret: z.string().nullable().default(null),
        allow_private: z.boolean().default(false),
        max_attempts: z.number().int().min(1).default(5),
        timeout_s: positive.default(10),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        retention_days: positive.default(90),
        flush_interval_ms: positive.default(1000),
        buffer_size: z.number().int().min(10).default(10000),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        pretty: z.boolean().nullable().default(null),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type SpleeterConfig = z.infer<typeof configSchema>;
export type ExecutionProviderName = z.infer<typeof executionProviderSchema>;
