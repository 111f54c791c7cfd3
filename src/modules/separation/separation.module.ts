/**
 * Separation jobs over REST: upload → queue → engine → stored stems, with polling, SSE, downloads,
 * cancel, callbacks, restart recovery and retention. Owns the separation_jobs/separation_batches
 * tables and the `uploads/` and `results/` storage keys.
 */
import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HttpClientModule } from '../../infra/http/http-client.module';
import { EngineModule } from '../engine/engine.module';
import { SecurityModule } from '../security/security.module';
import { AnalysisController } from './analysis.controller';
import { AudioAnalysisService } from './audio-analysis.service';
import { BatchesController } from './batches.controller';
import { SeparationBatchEntity } from './entities/separation-batch.entity';
import { SeparationJobEntity } from './entities/separation-job.entity';
import { BatchAudioUploadInterceptor, SingleAudioUploadInterceptor } from './http/audio-upload.interceptor';
import { SeparationJobRepository } from './repositories/separation-job.repository';
import { NoopResultCache, RESULT_CACHE } from '../../common/cache/result-cache.port';
import { SeparationCallbackService } from './separation-callback.service';
import { SeparationController } from './separation.controller';
import { SeparationDownloadService } from './separation-download.service';
import { SeparationExecutionService } from './separation-execution.service';
import { SeparationLifecycle } from './separation-lifecycle.service';
import { SeparationProcessor } from './separation.processor';
import { SeparationProgressHub } from './separation-progress.hub';
import { SeparationReader } from './separation-reader.service';
import { SeparationRecoveryService } from './separation-recovery.service';
import { SeparationRetentionService } from './separation-retention.service';
import { SeparationScratchService } from './separation-scratch.service';
import { SeparationService } from './separation.service';
import { SeparationStreamService } from './separation-stream.service';
import { StemTranscoder } from './stem-transcoder.service';
import { UploadInspector } from './upload-inspector.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([SeparationJobEntity, SeparationBatchEntity]),
    HttpClientModule,
    EngineModule,
    // QuotaService: per-principal concurrent-job and audio-minute quotas, reserved at admission.
    SecurityModule,
  ],
  controllers: [SeparationController, BatchesController, AnalysisController],
  providers: [
    SeparationJobRepository,
    SeparationReader,
    SeparationService,
    SeparationLifecycle,
    SeparationStreamService,
    SeparationDownloadService,
    SeparationExecutionService,
    SeparationCallbackService,
    SeparationRecoveryService,
    SeparationRetentionService,
    SeparationScratchService,
    SeparationProcessor,
    SeparationProgressHub,
    UploadInspector,
    AudioAnalysisService,
    StemTranscoder,
    SingleAudioUploadInterceptor,
    BatchAudioUploadInterceptor,
  ],
  exports: [SeparationService, SeparationReader],
})
export class SeparationModule {
  /**
   * `resultCacheModule`: a module exporting RESULT_CACHE (the cache module). Without it every cache
   * lookup misses (NoopResultCache).
   */
  static forRoot(options: { resultCacheModule?: Type | DynamicModule } = {}): DynamicModule {
    return options.resultCacheModule
      ? { module: SeparationModule, imports: [options.resultCacheModule] }
      : { module: SeparationModule, providers: [{ provide: RESULT_CACHE, useClass: NoopResultCache }] };
  }
}
