/**
 * SpleeterEngine: the programmatic library API and the engine behind the CLI and the REST API.
 *
 * decode (native WAV or ffmpeg) → separator (Spleeter U-Net / MDX-Net / built-in DSP) → encode,
 * streaming end to end so memory does not grow with the input's length. Model sessions are created
 * once and reused across calls.
 */
import * as fs from 'fs';
import * as path from 'path';
import { openAudioInput } from '../core/audio/audio-input';
import type { AudioSink, ExternalAudioCodec } from '../core/audio/audio-codec';
import { createAudioOutput } from '../core/audio/audio-output';
import { stemTags } from '../core/audio/audio-tags';
import { ErrorCodes, SeparationError, SpleeterError, ValidationError } from '../core/errors';
import { analyzeStream } from '../core/analysis/audio-analyzer';
import {
  DEFAULT_TARGET_LUFS,
  gainStream,
  planLoudnessNormalization,
  type NormalizationPlan,
} from '../core/analysis/loudness-normalization';
import { denoiseStream } from '../core/analysis/noise-reduction';
import { preprocessStream } from '../core/analysis/preprocess';
import { SignalAnalyzer, tapStream, type SeparationAnalysis } from '../core/analysis/signal-analysis';
import { MdxSeparator } from '../core/mdx';
import type { StemSeparator } from '../core/separation/types';
import { SPLEETER_SAMPLE_RATE } from '../core/spleeter/types';
import { Ffmpeg } from '../infra/ffmpeg/ffmpeg';
import {
  OnnxRuntime,
  executionDeviceName,
  type ExecutionProviderName,
  type InferenceLogger,
} from '../infra/onnx/onnx-runtime';
import { mapWithConcurrency } from './concurrency';
import { analyzeAudioFile, type AnalyzeOptions, type AudioFileAnalysis } from './audio-file-analysis';
import { estimateSeparationMemoryMb, memoryLimitError } from './memory-estimate';
import { DEFAULT_FILENAME_FORMAT, renderOutputPath } from './output/filename-format';
import { resolveEngineOptionAliases, type SpleeterEngineOptions } from './engine-options';
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
import {
  defaultOutputRate,
  outputExists,
  scaled,
  timedIterable,
  toInputInfo,
  validateRequest,
} from './separation-support';

export { resolveEngineOptionAliases, type SpleeterEngineOptions } from './engine-options';

export interface BatchItemResult {
  audioPath: string;
  result?: SeparationResult;
  error?: SpleeterError | Error;
}

const silentLogger: InferenceLogger = { warn: () => undefined };

/** The execution provider new sessions get, and the device behind it (checkExecutionProvider). */
export interface ExecutionProviderInfo {
  executionProvider: ExecutionProviderName;
  executionDevice: string | null;
  /** True when GPU was requested and is not available, so sessions run on the CPU. */
  gpuFallback: boolean;
}

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
  private readonly runtime: OnnxRuntime;
  /**
   * EP preference the model families read for each new session (through a getter, see
   * doInitialize): the requested one until checkExecutionProvider() narrows it to what works.
   */
  private providers: ExecutionProviderName[];
  private providerCheck?: Promise<ExecutionProviderInfo>;
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
    this.runtime = new OnnxRuntime(this.logger);
    this.providers = this.providerPreference();
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
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getter below reads the engine
    const engine = this;
    const regOptions: ModelRegistryOptions = {
      modelsDir,
      // A getter: the families read it at each session creation, after checkExecutionProvider().
      get executionProviders() {
        return engine.providers;
      },
      intraOpThreads: this.opts.intraOpThreads,
      interOpThreads: this.opts.interOpThreads,
      parallelInstruments: this.opts.parallelInstruments ?? true,
      precision: this.opts.precision ?? 'fp32',
      batchSegments: this.opts.batchSegments,
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
    if (!this.opts.enableGpu && !this.opts.requireGpu) return ['cpu'];
    const gpu = (this.opts.gpuProviders ?? ['cuda', 'webgpu']).filter((p) => p !== 'cpu');
    return this.opts.requireGpu ? gpu : [...gpu, 'cpu'];
  }

  /**
   * Finds, once, which execution provider this machine gives new sessions, without loading a model
   * (a one-node probe, tens of ms). GPU requested and unavailable: one warning naming each GPU
   * provider and why it failed, then cpu for every session (no per-session retries or warnings);
   * with requireGpu a SeparationError GPU_UNAVAILABLE instead (remembered: the machine will not
   * grow a GPU). separate() calls it; servers call it at start-up to fail fast.
   */
  checkExecutionProvider(): Promise<ExecutionProviderInfo> {
    this.providerCheck ??= (async (): Promise<ExecutionProviderInfo> => {
      const requested = this.providerPreference();
      if (requested.length === 1 && requested[0] === 'cpu')
        return { executionProvider: 'cpu', executionDevice: executionDeviceName('cpu'), gpuFallback: false };
      const probe = await this.runtime.probeExecutionProvider(requested);
      this.providers = requested.slice(requested.indexOf(probe.executionProvider));
      const gpuFallback = probe.executionProvider === 'cpu';
      if (gpuFallback)
        this.logger.warn(`GPU requested but unavailable, falling back to cpu: ${probe.failures.join('; ')}`);
      else if (probe.failures.length)
        this.logger.warn(`using ${probe.executionProvider} after: ${probe.failures.join('; ')}`);
      return {
        executionProvider: probe.executionProvider,
        executionDevice: probe.executionDevice,
        gpuFallback,
      };
    })();
    return this.providerCheck;
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
      await this.checkExecutionProvider();
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
    return analyzeAudioFile(
      audioPath,
      { ...defaults, ...definedOnly(options) },
      {
        ffmpeg: () => this.getCodec(),
        maxDurationSec: Number.isFinite(this.opts.maxDurationSec) ? this.opts.maxDurationSec : undefined,
        onWarning: (m: string) => this.logger.warn(m),
      },
    );
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

  /**
   * Refuses existing outputs before the model is loaded (seconds for a large model). When the
   * stems cannot be known cheaply, or the model reference is bad, the normal path reports it.
   */
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

  /** One analyzer for the input mixture and one per stem, at the separator's rate (stereo). */
  private analyzers(params: SeparationRequestOptions, separator: StemSeparator): SeparationAnalyzers {
    const options = {
      sampleRate: separator.sampleRate,
      channels: 2,
      silenceThresholdDbfs: params.silenceThresholdDbfs ?? this.opts.silenceThresholdDbfs,
      silenceMinDurationSec: params.silenceMinDurationSec ?? this.opts.silenceMinDurationSec,
      truePeak: params.analysisTruePeak ?? this.opts.analysisTruePeak ?? false,
    };
    return {
      input: new SignalAnalyzer(options),
      stems: new Map(separator.stems.map((stem) => [stem, new SignalAnalyzer(options)])),
    };
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
      let analysisMs = 0;
      const highpassHz = params.highpassHz !== undefined ? params.highpassHz : (this.opts.highpassHz ?? null);
      const noiseReduction = params.noiseReduction ?? this.opts.noiseReduction ?? false;
      // A high-pass or noise reduction brings DC removal with it.
      const preprocess =
        (params.preprocess ?? this.opts.enablePreprocessing ?? false) ||
        highpassHz !== null ||
        noiseReduction;
      const normalize = params.normalizeLoudness ?? this.opts.normalizeLoudness ?? false;
      const analyzers =
        (params.analysis ?? this.opts.analysis ?? true) ? this.analyzers(params, separator) : null;
      // The input's analyzer taps the first pass over the decoded mixture (a Wiener filter or
      // loudness normalisation reads the input more than once; every pass is the same audio).
      let inputTap = analyzers?.input ?? null;
      // The network's input: decoded (44.1 kHz stereo), DC removed / high-passed when asked.
      const openFiltered = (): AsyncIterable<Float32Array> => {
        let decoded = timedIterable(input.stream({ signal: params.signal }), (ms) => (decodeMs += ms));
        if (inputTap) {
          const tap = inputTap;
          decoded = tapStream(decoded, {
            push: (chunk) => {
              const t0 = performance.now();
              tap.push(chunk);
              analysisMs += performance.now() - t0;
            },
          });
          inputTap = null;
        }
        return preprocess
          ? preprocessStream(decoded, {
              sampleRate: SPLEETER_SAMPLE_RATE,
              channels: 2,
              highPassHz: highpassHz,
            })
          : decoded;
      };
      // Noise reduction: one more pass over the filtered input learns the noise profile.
      const openConditioned = (): AsyncIterable<Float32Array> =>
        noiseReduction
          ? denoiseStream(openFiltered, { sampleRate: SPLEETER_SAMPLE_RATE, channels: 2 })
          : openFiltered();
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
              [...chunks].map(([stem, data]) => {
                // A copy: the separator may still hold the chunk it handed over.
                const out = stemGain !== 1 ? scaled(data, stemGain) : data;
                const analyzer = analyzers?.stems.get(stem);
                if (analyzer) {
                  const t1 = performance.now();
                  analyzer.push(out);
                  analysisMs += performance.now() - t1;
                }
                return activeSinks.get(stem)!.write(out);
              }),
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

      const tAnalysis = performance.now();
      const analysis = analyzers ? analysisResult(analyzers) : undefined;
      analysisMs += performance.now() - tAnalysis;
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
        processing: {
          preprocess,
          highpassHz,
          noiseReduction,
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
        ...(analysis ? { analysis } : {}),
        timings: {
          totalMs,
          decodeMs,
          inferenceMs: stats.inferenceMs,
          dspMs: stats.dspMs,
          encodeMs,
          analysisMs,
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

interface SeparationAnalyzers {
  input: SignalAnalyzer;
  stems: Map<string, SignalAnalyzer>;
}

function analysisResult(a: SeparationAnalyzers): SeparationAnalysis {
  return {
    input: a.input.result(),
    stems: Object.fromEntries([...a.stems].map(([stem, analyzer]) => [stem, analyzer.result()])),
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
