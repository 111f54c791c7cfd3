/** Options, results and events of the ModelManager (shared by its parts). */
import type { ArchiveExtractor } from '../../infra/models/archive-extractor';
import type { HttpDownloader } from '../../infra/models/http-downloader';
import type { ModelCatalog, ModelPrecision } from '../../core/models/model-catalog';
import type {
  InstallProgress,
  InstallProgressCallback,
  ModelManagerLogger,
  ModelRuntime,
  ValidationReport,
  VersionInfo,
} from '../../core/models/model-types';

export interface ModelManagerOptions {
  modelsDir: string;
  catalog: ModelCatalog;
  /** Install a catalog model on first use (resolve/acquire) instead of MODEL_NOT_INSTALLED. */
  autoDownload?: boolean;
  /** Precision of ONNX files produced by converting official checkpoints. */
  precision?: ModelPrecision;
  downloader?: HttpDownloader;
  extractor?: ArchiveExtractor;
  /** Loading/conversion/smoke inference. Default: DefaultModelRuntime (onnxruntime-node). */
  runtime?: ModelRuntime;
  clock?: () => Date;
  logger?: ModelManagerLogger;
  /** A lock not refreshed for this long is treated as abandoned (crashed installer). Default 60 s. */
  lockStaleMs?: number;
  /**
   * The optimized-model cache (models.ort_cache_dir): entries of models that are gone are deleted
   * there after a remove and when the manager starts. Absent or null: not pruned.
   */
  optimizedModelCacheDir?: string | null;
}

export interface InstallResult {
  name: string;
  version: string;
  /** False when an existing active version was returned (no force, already installed). */
  installed: boolean;
  info: VersionInfo;
}

export interface InstallUploadParams {
  /** Upload manifest (object or JSON string), see customModelManifestSchema. */
  manifest: unknown;
  /** Uploaded files: `name` is the file name the manifest refers to, `path` where it lies now. */
  files: { name: string; path: string }[];
  activate?: boolean;
  /**
   * The files are handed over (temp files of an upload): moved into the model on success, deleted
   * whatever the outcome. Otherwise they are copied and left alone.
   */
  move?: boolean;
  onProgress?: InstallProgressCallback;
  signal?: AbortSignal;
}

export interface ModelManagerEvents {
  'install.started': { name: string };
  'install.progress': InstallProgress;
  installed: { name: string; version: string; durationMs: number };
  'install.failed': { name: string; error: Error; durationMs: number };
  activated: { name: string; version: string; previous: string | null };
  removed: { name: string; version: string };
  validated: ValidationReport;
}
