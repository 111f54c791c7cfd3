/**
 * SpleeterEngine: the programmatic library API and the engine behind the CLI and the REST API.
 *
 * decode (native WAV or ffmpeg) → separator (Spleeter U-Net / MDX-Net / built-in DSP) → encode,
 * streaming end to end so memory does not grow with the input's length. Model sessions are created
 * once and reused across calls.
 */
import * as path from 'path';
import { openAudioInput, type AudioInputOptions } from '../core/audio/audio-input';
import type { AudioSink } from '../core/audio/audio-codec';
import { ErrorCodes, SeparationError, SpleeterError } from '../core/errors';
import { applyGain } from '../core/analysis/loudness-normalization';
import { MdxSeparator } from '../core/mdx';
import type { StemSeparator } from '../core/separation/types';
import { SPLEETER_SAMPLE_RATE, type ProgressCallback } from '../core/spleeter/types';
import type { Ffmpeg } from '../infra/ffmpeg/ffmpeg';
import { OnnxRuntime, executionDeviceName, type InferenceLogger } from '../infra/onnx/onnx-runtime';
import { mapWithConcurrency } from './concurrency';
import { analyzeAudioFile, type AnalyzeOptions, type AudioFileAnalysis } from './audio-file-analysis';
import { CodecLookup } from './codec-lookup';
import { DspThreads, resolveDspThreads, validDspThreads } from './dsp-threads';
import { EngineStats } from './engine-stats';
import { ExecutionProviderCheck, type ExecutionProviderInfo } from './execution-provider-check';
import { conditionInput, inputConditioning, processingInfo } from './input-conditioning';
import { DEFAULT_MAX_BATCH_SEGMENTS } from '../core/spleeter/segment-scheduler';
import { estimateSeparationMemoryMb, memoryLimitError, mergedSegmentsInHostMemory } from './memory-estimate';
import {
  checkBatchingOptions,
  resolveEngineOptionAliases,
  type SpleeterEngineOptions,
} from './engine-options';
import type { ModelManager } from './models/model-manager';
import {
  ModelRegistry,
  modelManagerPort,
  type ModelDescription,
  type ModelManagerPort,
  type ModelRegistryOptions,
  type OpenedModel,
} from './registry/model-registry';
import { SeparationAnalyzers } from './separation-analyzers';
import { defaultOutputRate, timedIterable, toInputInfo, validateRequest } from './separation-support';
import {
  abortSinks,
  closeSinks,
  openStemSinks,
  planStemOutputs,
  refuseExisting,
  stemOutputPaths,
} from './stem-outputs';
import type {
  BatchItemResult,
  BatchSeparateOptions,
  InputAudioInfo,
  ModelSummary,
  OutputCodec,
  ProcessingStats,
  SeparateParams,
  SeparationResult,
} from './types';

export { resolveEngineOptionAliases, type SpleeterEngineOptions } from './engine-options';
export type { ExecutionProviderInfo } from './execution-provider-check';

export type { BatchItemResult } from './types';

const silentLogger: InferenceLogger = { warn: () => undefined };

export class SpleeterEngine {
  private readonly opts: Required<
    Pick<SpleeterEngineOptions, 'batchSegments' | 'batchConcurrency' | 'defaultModel' | 'maxDurationSec'>
  > &
    SpleeterEngineOptions;
  private registry?: ModelRegistry;
  private managerReady?: Promise<ModelManager>;
  private readonly codecs: CodecLookup;
  private initialized?: Promise<void>;
  private readonly logger: InferenceLogger;
  private readonly runtime: OnnxRuntime;
  private readonly providerCheck: ExecutionProviderCheck;
  private readonly stats = new EngineStats();
  private readonly dspThreads: DspThreads;

  constructor(options: SpleeterEngineOptions = {}) {
    this.opts = {
      batchSegments: 1,
      batchConcurrency: 2,
      defaultModel: 'builtin:center',
      maxDurationSec: Number.POSITIVE_INFINITY,
      ...resolveEngineOptionAliases(options),
    };
    checkBatchingOptions(this.opts);
    this.logger = options.logger ?? silentLogger;
    this.runtime = new OnnxRuntime(this.logger);
    this.providerCheck = new ExecutionProviderCheck(this.opts, this.runtime, this.logger);
    this.codecs = new CodecLookup(this.opts, this.logger);
    this.dspThreads = new DspThreads(validDspThreads(this.opts.dspThreads));
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
    this.codecs.adoptInjected();
    const modelsDir = this.opts.modelsDir ?? './.data/models';
    const autoDownload = this.opts.autoDownload ?? false;
    // An injected manager is initialised now; the engine's own one (catalog, archive libraries)
    // is built on first need: a separation with a model directory or a built-in never needs it.
    if (this.opts.modelManager) await this.getManagerInstance();
    let port: ModelManagerPort | undefined;
    const managerPort = async (): Promise<ModelManagerPort> =>
      (port ??= modelManagerPort(await this.getManagerInstance(), autoDownload));
    const providerCheck = this.providerCheck;
    const regOptions: ModelRegistryOptions = {
      modelsDir,
      // A getter: the families read it at each session creation, after checkExecutionProvider().
      get executionProviders() {
        return providerCheck.providers;
      },
      intraOpThreads: this.opts.intraOpThreads,
      interOpThreads: this.opts.interOpThreads,
      parallelInstruments: this.opts.parallelInstruments ?? true,
      precision: this.opts.precision ?? 'fp32',
      batchSegments: this.opts.batchSegments,
      crossJobBatching: this.opts.crossJobBatching ?? 'auto',
      maxBatchSegments: this.opts.maxBatchSegments,
      batchWindowMs: this.opts.batchWindowMs,
      dspPool: (provider) => this.dspThreads.poolFor(provider),
      autoDownload,
      catalogFile: this.opts.catalogFile ?? null,
      logger: this.logger,
      runtime: this.runtime,
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
              // Where removed models' optimized forms are pruned: the engine's own cache.
              ort_cache_dir: this.opts.ortCacheDir === undefined ? null : (this.opts.ortCacheDir ?? ''),
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
   * Finds, once, which execution provider this machine gives new sessions, without loading a model
   * (execution-provider-check.ts): cpu with one warning when a GPU is requested and unavailable,
   * SeparationError GPU_UNAVAILABLE with requireGpu. separate() calls it; servers call it at
   * start-up to fail fast.
   */
  checkExecutionProvider(): Promise<ExecutionProviderInfo> {
    return this.providerCheck.check();
  }

  /** The ffmpeg this engine uses (null when none was found: WAV only). */
  async getFfmpeg(): Promise<Ffmpeg | null> {
    await this.initialize();
    return this.codecs.ffmpeg();
  }

  /** Description of the external decoder in use, or null when only WAV is supported. */
  get decoderDescription(): string | null {
    return this.codecs.current?.description ?? null;
  }

  /** Separates one file; writes one file per stem and returns where they are. */
  async separate(params: SeparateParams): Promise<SeparationResult> {
    await this.initialize();
    const started = performance.now();
    try {
      await this.checkExecutionProvider();
      const result = await this.separateInner(params, started);
      this.stats.recordSuccess(result);
      return result;
    } catch (err) {
      this.stats.recordFailure();
      throw err;
    }
  }

  /**
   * Separates several files with at most `concurrency` (default batchConcurrency) at once; a file
   * that fails does not stop the others. Results keep the files' order.
   */
  async batchSeparate(files: readonly string[], options: BatchSeparateOptions): Promise<BatchItemResult[]> {
    await this.initialize();
    const { concurrency, onFileStart, ...rest } = options;
    return mapWithConcurrency(files, concurrency ?? this.opts.batchConcurrency, async (audioPath, index) => {
      const observer = onFileStart?.(audioPath, index) ?? undefined;
      const onProgress = bothProgress(rest.onProgress, observer?.onProgress);
      let item: BatchItemResult;
      try {
        item = { audioPath, result: await this.separate({ ...rest, audioPath, onProgress }) };
      } catch (error) {
        item = { audioPath, error: error as Error };
      }
      observer?.onDone?.(item);
      return item;
    });
  }

  async getAvailableModels(): Promise<ModelSummary[]> {
    await this.initialize();
    return this.registry!.list();
  }

  getProcessingStats(): ProcessingStats {
    return this.stats.snapshot();
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
    await this.dspThreads.dispose();
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
      signal: opts.signal,
      ...this.decoderOptions(),
    });
  }

  /** How this engine decodes: its codec, the duration limit, warnings to its logger. */
  private decoderOptions(): Pick<AudioInputOptions, 'ffmpeg' | 'maxDurationSec' | 'onWarning'> {
    return {
      ffmpeg: () => this.codecs.get(),
      maxDurationSec: Number.isFinite(this.opts.maxDurationSec) ? this.opts.maxDurationSec : undefined,
      onWarning: (m: string) => this.logger.warn(m),
    };
  }

  /**
   * Analyses a file without separating it: technical data, tags, and loudness (integrated, LRA,
   * true peak), silent ranges, tempo and key from one streaming pass over the decoded audio at
   * its own rate and channel count.
   */
  async analyze(audioPath: string, options: AnalyzeOptions = {}): Promise<AudioFileAnalysis> {
    await this.initialize();
    const defaults = {
      silenceThresholdDbfs: this.opts.silenceThresholdDbfs,
      silenceMinDurationSec: this.opts.silenceMinDurationSec,
    };
    return analyzeAudioFile(audioPath, { ...defaults, ...definedOnly(options) }, this.decoderOptions());
  }

  /** Estimated engine memory of a separation with this model (memory-estimate.ts), and the limit. */
  async estimateMemory(modelName?: string): Promise<{ estimateMb: number; limitMb: number | null }> {
    await this.initialize();
    const model = await this.registry!.describe(modelName ?? this.opts.defaultModel);
    const { executionProvider } = await this.checkExecutionProvider();
    return {
      estimateMb: estimateSeparationMemoryMb({
        ...model,
        batchSegments: this.opts.batchSegments,
        dspThreads: resolveDspThreads(this.opts.dspThreads, executionProvider) > 0,
        mergedSegments: mergedSegmentsInHostMemory(
          this.opts.crossJobBatching ?? 'auto',
          executionProvider,
          this.opts.maxBatchSegments ?? DEFAULT_MAX_BATCH_SEGMENTS,
        ),
      }),
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

  /**
   * Refuses existing outputs before the model is loaded (seconds for a large model). When the
   * stems cannot be known cheaply, or the model reference is bad, the normal path reports it.
   */
  private async refuseExistingOutputs(params: SeparateParams, modelRef: string, codec: OutputCodec) {
    const stems = params.stems?.length
      ? params.stems
      : await this.registry!.stemsOf(modelRef).catch(() => null);
    refuseExisting(stemOutputPaths(params, stems ?? [], codec));
  }

  private async separateInner(params: SeparateParams, started: number): Promise<SeparationResult> {
    const codec = (params.codec ?? 'wav') as OutputCodec;
    validateRequest(params, codec, codec === 'wav' || (await this.codecs.get()) !== null);
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
      const outputs = planStemOutputs(params, separator.stems, codec);
      // Checked again: the early check may not have known the stems, or a file appeared since.
      if (!params.overwrite) refuseExisting(outputs);
      sinks = await openStemSinks(
        outputs,
        { audioPath: params.audioPath, info: input.info },
        {
          codec,
          bitDepth: params.bitDepth,
          bitrateKbps: params.bitrateKbps,
          sampleRate:
            params.sampleRate ??
            defaultOutputRate(codec, this.opts.defaultSampleRate ?? input.info.sampleRate),
          inputSampleRate: separator.sampleRate,
          tags: params.tags ?? true,
          fallbackTitle:
            params.fallbackTitle === undefined
              ? path.parse(params.audioPath).name
              : (params.fallbackTitle ?? undefined),
          ffmpeg: () => this.codecs.get(),
          signal: params.signal,
        },
      );

      let decodeMs = 0;
      let encodeMs = 0;
      const conditioning = inputConditioning(params, this.opts);
      const analyzers =
        (params.analysis ?? this.opts.analysis ?? true)
          ? new SeparationAnalyzers(params, this.opts, separator)
          : null;
      const { openSource, plan } = await conditionInput(
        () => {
          const decoded = timedIterable(input.stream({ signal: params.signal }), (ms) => (decodeMs += ms));
          return analyzers ? analyzers.tapInput(decoded) : decoded;
        },
        conditioning,
        params.signal,
      );
      const stemGain = plan?.stemGain ?? 1;
      const activeSinks = sinks;
      const stats = await separator.separate(
        openSource,
        {
          write: async (chunks) => {
            const t0 = performance.now();
            await Promise.all(
              [...chunks].map(([stem, data]) => {
                // A copy: the separator may still hold the chunk it handed over.
                const out = stemGain !== 1 ? applyGain(data.slice(), stemGain) : data;
                analyzers?.pushStem(stem, out);
                return activeSinks.get(stem)!.write(out);
              }),
            );
            encodeMs += performance.now() - t0;
          },
          // The analyzers measure a chunk as it is pushed and the audio sinks encode (WAV) or copy
          // (ffmpeg) it before their write settles: the separator may refill the same arrays.
          consumesChunks: true,
        },
        {
          signal: params.signal,
          onProgress: params.onProgress,
          totalSamples: input.info.expectedFrames ?? undefined,
        },
      );
      const t0 = performance.now();
      await closeSinks(sinks);
      encodeMs += performance.now() - t0;
      sinks = undefined;

      const analysis = analyzers?.result();
      const totalMs = performance.now() - started;
      const durationSec = stats.samples / separator.sampleRate;
      return {
        audioPath: params.audioPath,
        model: { name: opened.name, version: opened.version, stems: [...separator.stems] },
        ...(separator instanceof MdxSeparator
          ? { mdx: { overlap: separator.overlap, denoise: separator.denoise } }
          : {}),
        executionProvider: separator.executionProvider,
        executionDevice: executionDeviceName(separator.executionProvider),
        input: toInputInfo(input, durationSec),
        processing: processingInfo(conditioning, plan),
        outputs,
        ...(analysis ? { analysis } : {}),
        timings: {
          totalMs,
          decodeMs,
          inferenceMs: stats.inferenceMs,
          dspMs: stats.dspMs,
          encodeMs,
          analysisMs: analyzers?.analysisMs ?? 0,
        },
        stats: { modelCalls: stats.modelCalls, sharedModelCalls: stats.sharedModelCalls ?? 0 },
        realtimeFactor: totalMs > 0 ? durationSec / (totalMs / 1000) : 0,
      };
    } catch (err) {
      if (sinks) await abortSinks(sinks);
      if (params.signal?.aborted && !(err instanceof SpleeterError)) {
        throw new SeparationError(ErrorCodes.JOB_CANCELED, 'Separation was canceled', {}, { cause: err });
      }
      throw err;
    } finally {
      await opened.release();
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function bothProgress(a?: ProgressCallback, b?: ProgressCallback): ProgressCallback | undefined {
  if (!a || !b) return a ?? b;
  return (fraction, stage) => {
    a(fraction, stage);
    b(fraction, stage);
  };
}
