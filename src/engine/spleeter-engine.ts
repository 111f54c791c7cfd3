/**
 * SpleeterEngine: the programmatic library API and the engine behind the CLI and the REST API.
 *
 * decode (native WAV or ffmpeg) → separator (Spleeter U-Net / MDX-Net / built-in DSP) → encode,
 * streaming end to end so memory does not grow with the input's length. Model sessions are created
 * once and reused across calls.
 */
import * as fs from 'fs';
import * as path from 'path';
import { openAudioInput, type AudioInput } from '../core/audio/audio-input';
import type { AudioSink, ExternalAudioCodec } from '../core/audio/audio-codec';
import { createAudioOutput, MP3_SAMPLE_RATES, OUTPUT_CODECS } from '../core/audio/audio-output';
import { stemTags } from '../core/audio/audio-tags';
import {
  AudioProcessingError,
  ErrorCodes,
  SeparationError,
  SpleeterError,
  ValidationError,
} from '../core/errors';
import { analyzeStream } from '../core/analysis/audio-analyzer';
import {
  DEFAULT_TARGET_LUFS,
  gainStream,
  planLoudnessNormalization,
  type NormalizationPlan,
} from '../core/analysis/loudness-normalization';
import { preprocessStream } from '../core/analysis/preprocess';
import { isMdxOverlap, MDX_OVERLAP_RULE, MdxSeparator } from '../core/mdx';
import type { StemSeparator } from '../core/separation/types';
import { SPLEETER_SAMPLE_RATE } from '../core/spleeter/types';
import type { ExecutionProviderName, InferenceLogger } from '../infra/onnx/onnx-runtime';
import { Ffmpeg } from '../infra/ffmpeg/ffmpeg';
import { OnnxRuntime } from '../infra/onnx/onnx-runtime';
import { mapWithConcurrency } from './concurrency';
import type { AnalyzeOptions, AudioFileAnalysis } from './audio-file-analysis';
import { estimateSeparationMemoryMb, memoryLimitError } from './memory-estimate';
import { DEFAULT_FILENAME_FORMAT, renderOutputPath } from './output/filename-format';
import type { ModelManager } from './models/model-manager';
import {
  ModelRegistry,
  modelManagerPort,
  type ModelDescription,
  type ModelManagerPort,
  type ModelRegistryOptions,
  type OpenedModel,
} from './registry/model-registry';
import type {
  InputAudioInfo,
  ModelSummary,
  OutputCodec,
  ProcessingStats,
  SeparateParams,
  SeparationRequestOptions,
  SeparationResult,
} from './types';

export interface SpleeterEngineOptions {
  /** Where installed models live (SPLEETER_MODELS_DIR). */
  modelsDir?: string;
  /** Model used when a request names none. */
  defaultModel?: string;
  /** Try GPU execution providers first (CUDA, then WebGPU), falling back to CPU with a warning. */
  enableGpu?: boolean;
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
  precision?: 'fp32' | 'fp16' | 'int8';
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
  /** Default of the per-request `normalizeLoudness` (default false). */
  normalizeLoudness?: boolean;
  /** Default of the per-request `targetLufs` (default −14). */
  targetLufs?: number;
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

export interface BatchItemResult {
  audioPath: string;
  result?: SeparationResult;
  error?: SpleeterError | Error;
}

const silentLogger: InferenceLogger = { warn: () => undefined };

export class SpleeterEngine {
  private readonly opts: Required<
    Pick<SpleeterEngineOptions, 'batchSegments' | 'batchConcurrency' | 'defaultModel' | 'maxDurationSec'>
  > &
    SpleeterEngineOptions;
  private registry?: ModelRegistry;
  private managerReady?: Promise<ModelManager>;
  private codecReady?: Promise<ExternalAudioCodec | null>;
  /** The codec once looked for (see getCodec). */
  private codec: ExternalAudioCodec | null = null;
  private initialized?: Promise<void>;
  private readonly logger: InferenceLogger;
  private readonly stats = {
    separations: 0,
    failures: 0,
    audioSeconds: 0,
    processingSeconds: 0,
    providers: {} as Record<string, number>,
  };

  constructor(options: SpleeterEngineOptions = {}) {
    this.opts = {
      batchSegments: 1,
      batchConcurrency: 2,
      defaultModel: 'builtin:center',
      maxDurationSec: Number.POSITIVE_INFINITY,
      ...resolveEngineOptionAliases(options),
    };
    this.logger = options.logger ?? silentLogger;
  }

  /** Locates ffmpeg and prepares the model registry. Called lazily by every method. */
  initialize(): Promise<void> {
    this.initialized ??= this.doInitialize().catch((err: unknown) => {
      this.initialized = undefined;
      throw err;
    });
    return this.initialized;
  }

  private async doInitialize(): Promise<void> {
    if (this.opts.codec !== undefined) this.codec = this.opts.codec;
    const modelsDir = this.opts.modelsDir ?? './.data/models';
    const autoDownload = this.opts.autoDownload ?? false;
    // An injected manager is initialised now; the engine's own one (catalog, archive libraries)
    // is built on first need: a separation with a model directory or a built-in never needs it.
    if (this.opts.modelManager) await this.getManagerInstance();
    let port: ModelManagerPort | undefined;
    const managerPort = async (): Promise<ModelManagerPort> =>
      (port ??= modelManagerPort(await this.getManagerInstance(), autoDownload));
    const regOptions: ModelRegistryOptions = {
      modelsDir,
      executionProviders: this.providerPreference(),
      intraOpThreads: this.opts.intraOpThreads,
      interOpThreads: this.opts.interOpThreads,
      parallelInstruments: this.opts.parallelInstruments ?? true,
      precision: this.opts.precision ?? 'fp32',
      batchSegments: this.opts.batchSegments,
      autoDownload,
      catalogFile: this.opts.catalogFile ?? null,
      logger: this.logger,
      runtime: new OnnxRuntime(this.logger),
      optimizedModelCacheDir:
        this.opts.ortCacheDir === undefined ? path.join(modelsDir, '.ort-cache') : this.opts.ortCacheDir,
      manager: {
        resolveForUse: async (ref, o) => (await managerPort()).resolveForUse(ref, o),
        describe: async (ref) => (await managerPort()).describe(ref),
        list: async () => (await managerPort()).list(),
      },
    };
    this.registry = this.opts.registry ?? new ModelRegistry(regOptions);
    await this.registry.init();
  }

  /** The model manager, created and initialised once (see doInitialize). */
  private getManagerInstance(): Promise<ModelManager> {
    this.managerReady ??= (async () => {
      let manager = this.opts.modelManager;
      if (!manager) {
        // Built like every other process's manager (download timeouts included).
        const { createModelManager } = await import('./models/model-manager.factory');
        manager = createModelManager(
          {
            models: {
              dir: this.opts.modelsDir ?? './.data/models',
              catalog_file: this.opts.catalogFile ?? null,
              auto_download: this.opts.autoDownload ?? false,
              precision: this.opts.precision ?? 'fp32',
              download_timeout_s: this.opts.downloadTimeoutS ?? 60,
              default_model: this.opts.defaultModel ?? 'builtin:center',
              ort_cache_dir: null,
            },
          },
          {
            logger: {
              log: () => undefined,
              warn: (m: string) => this.logger.warn(m),
              error: (m: string) => this.logger.warn(m),
            },
          },
        );
      }
      await manager.init();
      return manager;
    })().catch((err: unknown) => {
      this.managerReady = undefined;
      throw err;
    });
    return this.managerReady;
  }

  /**
   * The external codec, looked for on first need (a WAV-to-WAV run never starts ffmpeg): the
   * injected one, else ffmpeg from the configured path or PATH.
   */
  private getCodec(): Promise<ExternalAudioCodec | null> {
    this.codecReady ??= (async () => {
      if (this.opts.codec !== undefined) return this.opts.codec;
      const found = await Ffmpeg.locate({ ffmpegPath: this.opts.ffmpegPath ?? null });
      if (!found) this.logger.warn('ffmpeg not found: only WAV input is supported, and only WAV output');
      this.codec = found;
      return found;
    })();
    return this.codecReady;
  }

  private providerPreference(): ExecutionProviderName[] {
    if (!this.opts.enableGpu) return ['cpu'];
    const gpu = (this.opts.gpuProviders ?? ['cuda', 'webgpu']).filter((p) => p !== 'cpu');
    return [...gpu, 'cpu'];
  }

  /** The ffmpeg this engine uses (null when none was found: WAV only). */
  async getFfmpeg(): Promise<Ffmpeg | null> {
    await this.initialize();
    const codec = await this.getCodec();
    return codec instanceof Ffmpeg ? codec : null;
  }

  /** Description of the external decoder in use, or null when only WAV is supported. */
  get decoderDescription(): string | null {
    return this.codec?.description ?? null;
  }

  /** Separates one file; writes one file per stem and returns where they are. */
  async separate(params: SeparateParams): Promise<SeparationResult> {
    await this.initialize();
    const started = performance.now();
    try {
      const result = await this.separateInner(params, started);
      this.stats.separations++;
      this.stats.audioSeconds += result.input.durationSec;
      this.stats.processingSeconds += result.timings.totalMs / 1000;
      this.stats.providers[result.executionProvider] =
        (this.stats.providers[result.executionProvider] ?? 0) + 1;
      return result;
    } catch (err) {
      this.stats.failures++;
      throw err;
    }
  }

  /** Separates several files with at most `concurrency` (default batchConcurrency) at once. */
  async batchSeparate(
    files: readonly string[],
    options: SeparationRequestOptions & { outputDir: string; concurrency?: number },
  ): Promise<BatchItemResult[]> {
    await this.initialize();
    const { concurrency, ...rest } = options;
    return mapWithConcurrency(files, concurrency ?? this.opts.batchConcurrency, async (audioPath) => {
      try {
        return { audioPath, result: await this.separate({ ...rest, audioPath }) };
      } catch (error) {
        return { audioPath, error: error as Error };
      }
    });
  }

  async getAvailableModels(): Promise<ModelSummary[]> {
    await this.initialize();
    return this.registry!.list();
  }

  getProcessingStats(): ProcessingStats {
    const s = this.stats;
    return {
      separations: s.separations,
      failures: s.failures,
      audioSeconds: s.audioSeconds,
      processingSeconds: s.processingSeconds,
      averageRealtimeFactor: s.processingSeconds > 0 ? s.audioSeconds / s.processingSeconds : 0,
      executionProviders: { ...s.providers },
    };
  }

  /** Format, rate, channels and duration of a file, without decoding it all. */
  async probe(audioPath: string): Promise<InputAudioInfo> {
    await this.initialize();
    const input = await this.openInput(audioPath, {});
    return toInputInfo(input, 0);
  }

  /** Resolves a model reference without running it (validation of requests). */
  async resolveModel(name?: string): Promise<ModelDescription> {
    await this.initialize();
    return this.registry!.describe(name ?? this.opts.defaultModel);
  }

  /** The model manager (catalog, installs, versions) behind this engine. */
  async getModelManager(): Promise<ModelManager> {
    await this.initialize();
    return this.getManagerInstance();
  }

  /** Registry access for the model CLI and the Nest layer. */
  async getRegistry(): Promise<ModelRegistry> {
    await this.initialize();
    return this.registry!;
  }

  async dispose(): Promise<void> {
    await this.registry?.dispose();
  }

  private openInput(
    audioPath: string,
    opts: { offsetSec?: number; durationSec?: number; signal?: AbortSignal },
  ) {
    return openAudioInput(audioPath, {
      targetSampleRate: SPLEETER_SAMPLE_RATE,
      targetChannels: 2,
      offsetSec: opts.offsetSec,
      durationSec: opts.durationSec,
      ffmpeg: () => this.getCodec(),
      maxDurationSec: Number.isFinite(this.opts.maxDurationSec) ? this.opts.maxDurationSec : undefined,
      signal: opts.signal,
      onWarning: (m) => this.logger.warn(m),
    });
  }

  /**
   * Refuses existing outputs before the model is loaded (seconds for a large model). When the
   * stems cannot be known cheaply, or the model reference is bad, the normal path reports it.
   */
  /**
   * Analyses a file without separating it: technical data, tags, and loudness (integrated, LRA,
   * true peak), silent ranges, tempo and key from one streaming pass over the decoded audio at
   * its own rate and channel count.
   */
  async analyze(audioPath: string, options: AnalyzeOptions = {}): Promise<AudioFileAnalysis> {
    await this.initialize();
    const started = performance.now();
    const common = {
      ffmpeg: () => this.getCodec(),
      maxDurationSec: Number.isFinite(this.opts.maxDurationSec) ? this.opts.maxDurationSec : undefined,
      signal: options.signal,
      onWarning: (m: string) => this.logger.warn(m),
    };
    // Opened once to learn the file's own rate and layout, then read at exactly those.
    const probed = await openAudioInput(audioPath, common);
    const { sampleRate, channels } = probed.info;
    const input =
      probed.info.targetSampleRate === sampleRate && probed.info.targetChannels === channels
        ? probed
        : await openAudioInput(audioPath, {
            ...common,
            targetSampleRate: sampleRate,
            targetChannels: channels,
          });
    const analysis = await analyzeStream(
      input.stream({ signal: options.signal }),
      {
        sampleRate,
        channels,
        silence: {
          ...(options.silenceThresholdDbfs !== undefined
            ? { thresholdDbfs: options.silenceThresholdDbfs }
            : {}),
          ...(options.silenceMinDurationSec !== undefined
            ? { minDurationSec: options.silenceMinDurationSec }
            : {}),
        },
      },
      options.signal,
    );
    const i = input.info;
    return {
      audioPath,
      technical: {
        format: i.format,
        codec: i.codec,
        sampleRate,
        channels,
        bitDepth: i.bitDepth ?? null,
        durationSec: i.durationSec ?? (i.frames !== undefined ? i.frames / sampleRate : null),
        bitRate: i.bitRate ?? null,
        decoder: i.decoder,
      },
      tags: i.tags ?? {},
      hasCoverArt: i.hasCoverArt ?? false,
      analysis,
      timings: { totalMs: performance.now() - started },
    };
  }

  /** Estimated engine memory of a separation with this model (memory-estimate.ts), and the limit. */
  async estimateMemory(modelName?: string): Promise<{ estimateMb: number; limitMb: number | null }> {
    await this.initialize();
    const model = await this.registry!.describe(modelName ?? this.opts.defaultModel);
    return {
      estimateMb: estimateSeparationMemoryMb({ ...model, batchSegments: this.opts.batchSegments }),
      limitMb: this.opts.memoryLimitMb ?? null,
    };
  }

  private async refuseOverMemoryLimit(modelRef: string): Promise<void> {
    // A model that cannot be described is reported by the open that follows, with its own error.
    const estimate = await this.estimateMemory(modelRef).catch(() => null);
    if (!estimate) return;
    const { estimateMb, limitMb } = estimate;
    if (limitMb !== null && estimateMb > limitMb) throw memoryLimitError(modelRef, estimateMb, limitMb);
  }

  private async refuseExistingOutputs(params: SeparateParams, modelRef: string, codec: OutputCodec) {
    const stems = params.stems?.length
      ? params.stems
      : await this.registry!.stemsOf(modelRef).catch(() => null);
    const format = params.filenameFormat ?? DEFAULT_FILENAME_FORMAT;
    for (const stem of stems ?? []) {
      const file = renderOutputPath(params.outputDir, format, {
        audioPath: params.audioPath,
        instrument: stem,
        codec,
      });
      if (fs.existsSync(file)) throw outputExists(stem, file);
    }
  }

  private async separateInner(params: SeparateParams, started: number): Promise<SeparationResult> {
    const codec = (params.codec ?? 'wav') as OutputCodec;
    validateRequest(params, codec, codec === 'wav' || (await this.getCodec()) !== null);
    if (params.signal?.aborted) throw new SeparationError(ErrorCodes.JOB_CANCELED, 'Separation was canceled');

    const modelRef = params.modelName ?? this.opts.defaultModel;
    if (this.opts.memoryLimitMb) await this.refuseOverMemoryLimit(modelRef);
    if (!params.overwrite) await this.refuseExistingOutputs(params, modelRef, codec);
    // Probing the input and loading the model (sessions, worker threads) overlap.
    const [inputResult, openedResult] = await Promise.allSettled([
      this.openInput(params.audioPath, params),
      this.registry!.open(modelRef, {
        mwf: params.mwf ?? false,
        bandwidth: params.bandwidth ?? 'model',
        stems: params.stems,
        overlap: params.overlap,
        denoise: params.denoise,
        signal: params.signal,
        onProgress: params.onProgress,
      }),
    ]);
    if (inputResult.status === 'rejected' || openedResult.status === 'rejected') {
      if (openedResult.status === 'fulfilled') await openedResult.value.release();
      // A bad input is the more useful error to report when both fail.
      throw inputResult.status === 'rejected'
        ? inputResult.reason
        : (openedResult as PromiseRejectedResult).reason;
    }
    const input = inputResult.value;
    const opened: OpenedModel = openedResult.value;
    let sinks: Map<string, AudioSink> | undefined;
    try {
      const separator: StemSeparator = opened.separator;
      const outputs: Record<string, string> = {};
      const format = params.filenameFormat ?? DEFAULT_FILENAME_FORMAT;
      for (const stem of separator.stems) {
        outputs[stem] = renderOutputPath(params.outputDir, format, {
          audioPath: params.audioPath,
          instrument: stem,
          codec,
        });
      }
      const unique = new Set(Object.values(outputs));
      if (unique.size !== separator.stems.length) {
        throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'Filename format must contain {instrument}', {
          field: 'filenameFormat',
        });
      }
      if (!params.overwrite) {
        // Checked again: the early check may not have known the stems, or a file appeared since.
        for (const [stem, file] of Object.entries(outputs)) {
          if (fs.existsSync(file)) throw outputExists(stem, file);
        }
      }
      const outputRate =
        params.sampleRate ?? defaultOutputRate(codec, this.opts.defaultSampleRate ?? input.info.sampleRate);
      // Tags and cover art come from the probe that opened the input: no second ffprobe.
      const tagging = params.tags ?? true;
      const fallbackTitle =
        params.fallbackTitle === undefined
          ? path.parse(params.audioPath).name
          : (params.fallbackTitle ?? undefined);
      const cover =
        tagging && input.info.coverArtStream !== undefined
          ? { path: params.audioPath, streamIndex: input.info.coverArtStream }
          : undefined;
      sinks = new Map();
      for (const stem of separator.stems) {
        await fs.promises.mkdir(path.dirname(outputs[stem]), { recursive: true });
        sinks.set(
          stem,
          await createAudioOutput(outputs[stem], {
            codec,
            bitDepth: params.bitDepth,
            bitrateKbps: params.bitrateKbps,
            sampleRate: outputRate,
            inputSampleRate: separator.sampleRate,
            channels: 2,
            ...(tagging ? { tags: stemTags(input.info.tags ?? {}, stem, fallbackTitle) } : {}),
            ...(cover ? { coverArt: cover } : {}),
            ffmpeg: () => this.getCodec(),
            signal: params.signal,
          }),
        );
      }

      let decodeMs = 0;
      let encodeMs = 0;
      const preprocess = params.preprocess ?? this.opts.enablePreprocessing ?? false;
      const normalize = params.normalizeLoudness ?? this.opts.normalizeLoudness ?? false;
      // The network's input: decoded (44.1 kHz stereo), DC removed when asked.
      const openConditioned = (): AsyncIterable<Float32Array> => {
        const decoded = timedIterable(input.stream({ signal: params.signal }), (ms) => (decodeMs += ms));
        return preprocess
          ? preprocessStream(decoded, { sampleRate: SPLEETER_SAMPLE_RATE, channels: 2 })
          : decoded;
      };
      let plan: NormalizationPlan | null = null;
      if (normalize) {
        // One extra pass: the integrated loudness needs the whole input before the first gain.
        const measured = await analyzeStream(
          openConditioned(),
          {
            sampleRate: SPLEETER_SAMPLE_RATE,
            channels: 2,
            loudness: { truePeak: false },
            silence: false,
            tempo: false,
            key: false,
          },
          params.signal,
        );
        plan = planLoudnessNormalization(measured.loudness ?? null, {
          targetLufs: params.targetLufs ?? this.opts.targetLufs ?? DEFAULT_TARGET_LUFS,
        });
      }
      const inputGain = plan?.inputGain ?? 1;
      const stemGain = plan?.stemGain ?? 1;
      const openSource = () =>
        inputGain !== 1 ? gainStream(openConditioned(), inputGain) : openConditioned();
      const activeSinks = sinks;
      const stats = await separator.separate(
        openSource,
        {
          write: async (chunks) => {
            const t0 = performance.now();
            await Promise.all(
              [...chunks].map(([stem, data]) =>
                // A copy: the separator may still hold the chunk it handed over.
                activeSinks.get(stem)!.write(stemGain !== 1 ? scaled(data, stemGain) : data),
              ),
            );
            encodeMs += performance.now() - t0;
          },
        },
        {
          signal: params.signal,
          onProgress: params.onProgress,
          totalSamples: input.info.expectedFrames ?? undefined,
        },
      );
      const t0 = performance.now();
      await Promise.all([...sinks.values()].map((s) => s.close()));
      encodeMs += performance.now() - t0;
      sinks = undefined;

      const totalMs = performance.now() - started;
      const durationSec = stats.samples / separator.sampleRate;
      return {
        audioPath: params.audioPath,
        model: { name: opened.name, version: opened.version, stems: [...separator.stems] },
        ...(separator instanceof MdxSeparator
          ? { mdx: { overlap: separator.overlap, denoise: separator.denoise } }
          : {}),
        executionProvider: separator.executionProvider,
        input: toInputInfo(input, durationSec),
        processing: {
          preprocess,
          loudness: plan
            ? {
                targetLufs: plan.targetLufs,
                measuredLufs: plan.measuredLufs,
                inputGainDb: plan.inputGainDb,
                stemGain: plan.stemGain,
              }
            : null,
        },
        outputs,
        timings: {
          totalMs,
          decodeMs,
          inferenceMs: stats.inferenceMs,
          dspMs: stats.dspMs,
          encodeMs,
        },
        realtimeFactor: totalMs > 0 ? durationSec / (totalMs / 1000) : 0,
      };
    } catch (err) {
      if (sinks) await Promise.all([...sinks.values()].map((s) => s.abort()));
      if (params.signal?.aborted && !(err instanceof SpleeterError)) {
        throw new SeparationError(ErrorCodes.JOB_CANCELED, 'Separation was canceled', {}, { cause: err });
      }
      throw err;
    } finally {
      await opened.release();
    }
  }
}

function scaled(chunk: Float32Array, gain: number): Float32Array {
  const out = new Float32Array(chunk.length);
  for (let i = 0; i < chunk.length; i++) out[i] = chunk[i] * gain;
  return out;
}

function outputExists(stem: string, file: string): ValidationError {
  return new ValidationError(ErrorCodes.OUTPUT_EXISTS, `Output file already exists: ${file}`, {
    stem,
    path: file,
  });
}

/** The input's own rate, except where the codec cannot carry it (MP3 tops out at 48 kHz). */
function defaultOutputRate(codec: OutputCodec, inputRate: number): number {
  if (codec !== 'mp3' || MP3_SAMPLE_RATES.includes(inputRate)) return inputRate;
  return MP3_SAMPLE_RATES.reduce((best, r) =>
    Math.abs(r - inputRate) < Math.abs(best - inputRate) ? r : best,
  );
}

function toInputInfo(input: AudioInput, selectedDurationSec: number): InputAudioInfo {
  const i = input.info;
  const durationSec =
    i.durationSec ?? (i.frames !== undefined ? i.frames / i.sampleRate : selectedDurationSec || 0);
  return {
    format: i.format,
    codec: i.codec,
    sampleRate: i.sampleRate,
    channels: i.channels,
    durationSec,
    bitDepth: i.bitDepth,
    ...(i.tags && Object.keys(i.tags).length > 0 ? { tags: { ...i.tags } } : {}),
  };
}

async function* timedIterable<T>(source: AsyncIterable<T>, add: (ms: number) => void): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  try {
    while (true) {
      const t0 = performance.now();
      const next = await it.next();
      add(performance.now() - t0);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.();
  }
}

function validateRequest(params: SeparateParams, codec: OutputCodec, haveFfmpeg: boolean): void {
  const problems: string[] = [];
  if (!params.audioPath) problems.push('audioPath is required');
  if (!params.outputDir) problems.push('outputDir is required');
  if (!OUTPUT_CODECS.includes(codec)) problems.push(`codec must be one of ${OUTPUT_CODECS.join(', ')}`);
  if (params.bitDepth !== undefined && ![16, 24, 32].includes(params.bitDepth))
    problems.push('bitDepth must be 16, 24 or 32');
  if (params.bitrateKbps !== undefined && !(params.bitrateKbps >= 32 && params.bitrateKbps <= 512)) {
    problems.push('bitrateKbps must be between 32 and 512');
  }
  if (
    params.sampleRate !== undefined &&
    !(Number.isInteger(params.sampleRate) && params.sampleRate >= 8000 && params.sampleRate <= 192000)
  ) {
    problems.push('sampleRate must be an integer between 8000 and 192000');
  }
  if (
    params.targetLufs !== undefined &&
    !(Number.isFinite(params.targetLufs) && params.targetLufs >= -70 && params.targetLufs <= 0)
  ) {
    problems.push('targetLufs must be a number between -70 and 0');
  }
  if (params.offsetSec !== undefined && !(params.offsetSec >= 0)) problems.push('offsetSec must be >= 0');
  if (params.durationSec !== undefined && !(params.durationSec > 0)) problems.push('durationSec must be > 0');
  if (params.bandwidth !== undefined && !['model', 'full'].includes(params.bandwidth)) {
    problems.push("bandwidth must be 'model' or 'full'");
  }
  if (params.overlap !== undefined && !isMdxOverlap(params.overlap)) problems.push(MDX_OVERLAP_RULE);
  if (params.denoise !== undefined && typeof params.denoise !== 'boolean')
    problems.push('denoise must be true or false');
  if (params.tags !== undefined && typeof params.tags !== 'boolean')
    problems.push('tags must be true or false');
  if (
    params.fallbackTitle !== undefined &&
    params.fallbackTitle !== null &&
    typeof params.fallbackTitle !== 'string'
  ) {
    problems.push('fallbackTitle must be a string or null');
  }
  if (problems.length) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, problems.join('; '));
  }
  if (codec !== 'wav' && !haveFfmpeg) {
    throw new AudioProcessingError(
      ErrorCodes.DECODER_UNAVAILABLE,
      `Writing ${codec} needs ffmpeg, which is not available: install ffmpeg or set SPLEETER_FFMPEG_PATH`,
      { codec },
    );
  }
}
