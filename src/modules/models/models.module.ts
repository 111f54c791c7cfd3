/**
 * Models module: owns the models directory (catalog, installs, versions, validation) through one
 * ModelManager per process, and serves /v1/models (any authenticated caller) and /v1/admin/models
 * (admin). Global so the engine can inject ModelManager/ModelsService without an import cycle.
 */
import * as path from 'path';
import { Global, Logger, Module } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { AppConfig } from '../../infra/config/app-config';
import { ModelManager } from '../../engine/models/model-manager';
import { createModelManager } from '../../engine/models/model-manager.factory';
import { AdminModelsController } from './admin-models.controller';
import { ModelInstallOperations } from './model-install-operations.service';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Global()
@Module({
  imports: [
    MulterModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // Same filesystem as the versions: an accepted upload is moved into place, not copied.
        dest: path.join(path.resolve(config.models.dir), '.tmp', 'uploads'),
        limits: { fileSize: config.audio.max_upload_mb * 1024 * 1024, files: 16, fields: 8 },
      }),
    }),
  ],
  controllers: [ModelsController, AdminModelsController],
  providers: [
    {
      provide: ModelManager,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const logger = new Logger('ModelManager');
        return createModelManager(config, {
          logger: { log: (m) => logger.log(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
        });
      },
    },
    ModelInstallOperations,
    ModelsService,
  ],
  exports: [ModelManager, ModelsService],
})
export class ModelsModule {}
