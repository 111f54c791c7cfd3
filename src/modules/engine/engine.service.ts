import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import type { Ffmpeg } from '../../infra/ffmpeg/ffmpeg';
import { SeparationWorkerPool, type WorkerPoolStats } from '../../engine/workers/separation-worker-pool';
import { engineOptionsFromConfig } from '../../engine/engine-options';
import { SpleeterEngine, type ExecutionProviderInfo } from '../../engine/spleeter-engine';
import { executionDeviceName } from '../../infra/onnx/onnx-runtime';
import { consumesJobs, PROCESS_ROLE, type ProcessRole } from '../../infra/queue/process-role';
import { ModelManager } from '../../engine/models/model-manager';
import type { InputAudioInfo, ModelSummary, SeparateParams, SeparationResult } from '../../engine/types';
import type { ModelDescription } from '../../engine/registry/model-registry';
import type { AnalyzeOptions, AudioFileAnalysis } from '../../engine/audio-file-analysis';

/**
 * performance.jobs_per_worker, 'auto' resolved: 4 when the jobs run on a GPU (enable_gpu or
 * require_gpu, and the start-up check did not fall back to the CPU: the jobs of a thread share one
 * copy of the sessions in GPU memory and, with cross-job batching, merge their model calls), else
 * 1 (a thread per job: on the CPU the DSP around the network needs a core per job, and nothing is
 * gained by sharing). Never more than queue.concurrency.
 */
export function jobsPerWorkerOf(config: AppConfig, gpuFellBack = false): number {
  const { jobs_per_worker: setting, enable_gpu, require_gpu } = config.performance;
  const n = setting === 'auto' ? ((enable_gpu || require_gpu) && !gpuFellBack ? 4 : 1) : setting;
  return Math.max(1, Math.min(n, config.queue.concurrency));
}

/**
 * Nest face of the separation engine (src/engine/spleeter-engine.ts). Separations run in a pool of
 * worker threads (ceil(`queue.concurrency` / `performance.jobs_per_worker`) of them; by default one
 * per job the queue runs at once) because onnxruntime-node and the STFT work block the thread they
 * run on; probing and model look-ups are cheap and run here.
 *
 * GPU: a process that runs jobs checks the execution provider at start-up (onModuleInit) when
 * performance.enable_gpu or require_gpu is set. require_gpu without a usable GPU provider throws
 * GPU_UNAVAILABLE there, so the process logs one fatal JSON line and exits 1; otherwise an
 * unavailable GPU is one warning and the worker threads are started CPU-only (no repeated warnings).
 */
@Injectable()
export class EngineService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Engine');
  private readonly local: SpleeterEngine;
  private pool?: SeparationWorkerPool;
  private providerInUse: string | null = null;
  private deviceInUse: string | null = null;
  /** What the start-up check found (null: not checked: CPU only, or a process that runs no jobs). */
  private checked: ExecutionProviderInfo | null = null;

  constructor(
    private readonly config: AppConfig,
    // The process's one ModelManager (ModelsModule, global): the engine's look-ups and
    // auto-downloads share its catalog, leases and download timeouts.
    @Optional() models?: ModelManager,
    @Optional() @Inject(PROCESS_ROLE) private readonly role: ProcessRole = 'all',
  ) {
    this.local = new SpleeterEngine({
      ...engineOptionsFromConfig(config),
      logger: this.logger,
      ...(models ? { modelManager: models } : {}),
    });
    if (config.performance.enable_gpu && !config.performance.gpu_memory_growth) {
      this.logger.warn(
        'performance.gpu_memory_growth=false cannot be applied: onnxruntime-node passes only deviceId to the ' +
          'CUDA provider, so its arena grows on demand (kNextPowerOfTwo) as with gpu_memory_growth=true',
      );
    }
  }

  async onModuleInit(): Promise<void> {
    const perf = this.config.performance;
    if (!(perf.enable_gpu || perf.require_gpu) || !consumesJobs(this.role)) return;
    // Throws GPU_UNAVAILABLE with require_gpu: start-up fails (see the class comment).
    this.checked = await this.local.checkExecutionProvider();
    this.logger.log(
      `execution provider: ${this.checked.executionProvider} (${this.checked.executionDevice ?? 'device not named'})`,
    );
  }

  /** Runs one separation to files. Throws AudioProcessingError / ModelError / ValidationError / SeparationError(JOB_CANCELED). */
  async separate(params: SeparateParams): Promise<SeparationResult> {
    const options = engineOptionsFromConfig(this.config);
    const jobsPerWorker = jobsPerWorkerOf(this.config, this.checked?.gpuFallback === true);
    this.pool ??= new SeparationWorkerPool(
      Math.ceil(this.config.queue.concurrency / jobsPerWorker),
      // GPU already found unavailable (and warned about once): the threads need not probe again.
      this.checked?.gpuFallback ? { ...options, enableGpu: false, requireGpu: false } : options,
      {
        warn: (m) => this.logger.warn(m),
        error: (m) => this.logger.error(m),
        debug: (m) => this.logger.debug(m),
      },
      {
        idleReleaseMs: this.config.performance.idle_release_s * 1000,
        inferenceThreadBudget: this.config.performance.inference_thread_budget,
        workerNice: this.config.performance.worker_nice,
        jobsPerWorker,
      },
    );
    const result = await this.pool.separate(params);
    if (result.executionProvider !== 'dsp') {
      this.providerInUse = result.executionProvider;
      this.deviceInUse = result.executionDevice ?? null;
    }
    return result;
  }

  /**
   * Technical data, tags, loudness, silence, tempo and key of a file. Runs on this thread: the
   * analysis streams, and each chunk's work is short, so requests keep being served in between.
   */
  analyze(audioPath: string, options: AnalyzeOptions = {}): Promise<AudioFileAnalysis> {
    return this.local.analyze(audioPath, options);
  }

  /** Reads the input's format, rate, channels and duration without decoding it all. */
  probe(audioPath: string): Promise<InputAudioInfo> {
    return this.local.probe(audioPath);
  }

  /** Resolves `name[@version]` (default model when omitted) or throws ModelError MODEL_NOT_INSTALLED. */
  resolveModel(name?: string): Promise<ModelDescription> {
    return this.local.resolveModel(name);
  }

  listModels(): Promise<ModelSummary[]> {
    return this.local.getAvailableModels();
  }

  /** The ffmpeg the engine uses (null: none found, WAV only). */
  getFfmpeg(): Promise<Ffmpeg | null> {
    return this.local.getFfmpeg();
  }

  /**
   * Execution provider of ONNX models: the one last reported by a separation, else what the
   * configuration asks for first ('cpu' unless GPU is enabled — a GPU preference is only confirmed
   * once a session has been created on it).
   */
  get executionProvider(): string {
    if (this.providerInUse) return this.providerInUse;
    if (this.checked) return this.checked.executionProvider;
    return this.config.performance.enable_gpu || this.config.performance.require_gpu
      ? `${this.config.performance.gpu_providers[0] ?? 'cpu'} (requested)`
      : 'cpu';
  }

  /**
   * The device behind executionProvider: the last separation's, else the start-up check's, else the
   * CPU model when only the CPU is configured; null while a GPU request is unconfirmed.
   */
  get executionDevice(): string | null {
    if (this.providerInUse) return this.deviceInUse;
    if (this.checked) return this.checked.executionDevice;
    const perf = this.config.performance;
    return perf.enable_gpu || perf.require_gpu ? null : executionDeviceName('cpu');
  }

  /** The separation workers: live, busy, retiring, cold starts, idle releases (none before the first job). */
  get workerStats(): WorkerPoolStats | null {
    return this.pool?.stats ?? null;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.close();
    await this.local.dispose();
  }
}
