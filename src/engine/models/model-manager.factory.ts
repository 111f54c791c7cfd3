/**
 * Builds the ModelManager of a process from the typed configuration, the same way for the HTTP
 * server (ModelsModule), the worker, the CLI and the library API.
 */
import { join } from 'path';
import type { SpleeterConfig } from '../../infra/config/config.schema';
import { ArchiveExtractor } from '../../infra/models/archive-extractor';
import { loadCatalogFile } from '../../infra/models/catalog-loader';
import { HttpDownloader } from '../../infra/models/http-downloader';
import { ModelManager } from './model-manager';
import type { ModelManagerLogger, ModelRuntime } from '../../core/models/model-types';

export interface CreateModelManagerOptions {
  logger?: ModelManagerLogger;
  /** Replace the onnxruntime-backed runtime (tests, alternative engines). */
  runtime?: ModelRuntime;
}

export function createModelManager(
  config: Pick<SpleeterConfig, 'models'>,
  opts: CreateModelManagerOptions = {},
): ModelManager {
  const timeoutMs = config.models.download_timeout_s * 1000;
  return new ModelManager({
    modelsDir: config.models.dir,
    catalog: loadCatalogFile(config.models.catalog_file),
    autoDownload: config.models.auto_download,
    precision: config.models.precision,
    downloader: new HttpDownloader({ connectTimeoutMs: timeoutMs, idleTimeoutMs: timeoutMs }),
    extractor: new ArchiveExtractor(),
    logger: opts.logger,
    runtime: opts.runtime,
    // As the engine resolves it (engine-options.ts): null is <models dir>/.ort-cache, '' is off.
    optimizedModelCacheDir:
      config.models.ort_cache_dir === null
        ? join(config.models.dir, '.ort-cache')
        : config.models.ort_cache_dir || null,
  });
}
