import { Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import type { Ffmpeg } from '../../infra/ffmpeg/ffmpeg';
import { SeparationWorkerPool, type WorkerPoolStats } from '../../engine/workers/separation-worker-pool';
import { engineOptionsFromConfig } from '../../engine/engine-options';
import { SpleeterEngine } from '../../engine/spleeter-engine';
import { ModelManager } from '../../engine/models/model-manager';
import type { InputAudioInfo, ModelSummary, SeparateParams, SeparationResult } from '../../engine/types';
import type { ModelDescription } from '../../engine/registry/model-registry';
import type { AnalyzeOptions, AudioFileAnalysis } from '../../engine/audio-file-analysis';

/**
 * Nest face of the separation engine (src/engine/spleeter-engine.ts). Separations run in a pool of
 * worker threads (`queue.concurrency` of them: one per job the queue runs at once) because onnxruntime-node and the STFT
 * work block the thread they run on; probing and model look-ups are cheap and run here.
 */
@Injectable()
export class EngineService implements OnApplicationShutdown {
  private readonly logger = new Logger('Engine');
  private readonly local: SpleeterEngine;
  private pool?: SeparationWorkerPool;
  private providerInUse: string | null = null;

  constructor(
    private readonly config: AppConfig,
    // The process's one ModelManager (ModelsModule, global): the engine's look-ups and
    // auto-downloads share its catalog, leases and download timeouts.
    @Optional() models?: ModelManager,
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

  /** Runs one separation to files. Throws AudioProcessingError / ModelError / ValidationError / SeparationError(JOB_CANCELED). */
  async separate(params: SeparateParams): Promise<SeparationResult> {
    this.pool ??= new SeparationWorkerPool(
      this.config.queue.concurrency,
      engineOptionsFromConfig(this.config),
      {
        warn: (m) => this.logger.warn(m),
        error: (m) => this.logger.error(m),
        debug: (m) => this.logger.debug(m),
      },
      { idleReleaseMs: this.config.performance.idle_release_s * 1000 },
    );
    const result = await this.pool.separate(params);
    if (result.executionProvider !== 'dsp') this.providerInUse = result.executionProvider;
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
    return this.config.performance.enable_gpu
      ? `${this.config.performance.gpu_providers[0] ?? 'cpu'} (requested)`
      : 'cpu';
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
