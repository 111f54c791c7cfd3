/**
 * Types shared by ModelManager, its runtime adapter (loading/converting/smoke-testing models), the
 * Nest module, the CLI and the library API.
 */
import type { CatalogEntry, ModelKind, ModelPrecision } from './model-catalog';
import type { ValidationCheck } from './model-signature';
import type { VersionRecord } from './model-version';

export type ModelSource = 'builtin' | 'catalog' | 'custom';

/** A model ready to be loaded: what the engine gets from ModelManager.resolve()/acquire(). */
export interface ResolvedModel {
  name: string;
  /** Version id (`v3`), or `builtin` for built-in models. */
  version: string;
  /** `name@version`. */
  ref: string;
  kind: ModelKind;
  source: ModelSource;
  /** Directory holding the version's files; null for built-ins. */
  dir: string | null;
  entry: CatalogEntry;
  stems: string[];
  sampleRate: number;
  /** Which files to load for Spleeter ONNX dirs (`vocals.fp16.onnx`…); null when not applicable. */
  precision: ModelPrecision | null;
  record: VersionRecord | null;
}

/** A resolved model held for the duration of a separation; the version cannot be removed meanwhile. */
export interface ModelLease extends ResolvedModel {
  release(): Promise<void>;
}

export type InstallStage =
  | 'queued'
  | 'waiting-for-lock'
  | 'downloading'
  | 'verifying'
  | 'extracting'
  | 'converting'
  | 'validating'
  | 'activating'
  | 'done';

export interface InstallProgress {
  name: string;
  stage: InstallStage;
  /** Overall progress 0..1 across stages. */
  fraction: number;
  bytes?: number;
  totalBytes?: number | null;
  bytesPerSecond?: number;
  /** Set when the download continued a partial file. */
  resumedFrom?: number;
  message?: string;
}

export type InstallProgressCallback = (p: InstallProgress) => void;

export interface DownloadModelOptions {
  /** Install a new version even if one is installed already. */
  force?: boolean;
  /** Make the new version active (default true). */
  activate?: boolean;
  onProgress?: InstallProgressCallback;
  signal?: AbortSignal;
}

export interface ValidationReport {
  name: string;
  version: string;
  valid: boolean;
  /** True when a file no longer matches what was installed (size or sha256). */
  corrupted: boolean;
  checks: ValidationCheck[];
  durationMs: number;
  checkedAt: string;
}

export interface VersionInfo {
  id: string;
  active: boolean;
  origin: 'catalog' | 'upload' | 'builtin';
  sourceUrl: string | null;
  sha256: string | null;
  installedAt: string | null;
  size: number;
  format: string;
  stems: string[];
  precision: ModelPrecision | null;
  validation: 'valid' | 'invalid' | 'unchecked';
  inUse: number;
}

export interface ModelInfo {
  name: string;
  kind: ModelKind;
  source: ModelSource;
  description: string;
  stems: string[];
  sampleRate: number;
  license: string;
  format: string;
  /** True when a usable version exists (always for built-ins). */
  installed: boolean;
  activeVersion: string | null;
  versions: VersionInfo[];
  /** Download size of the catalog source, when published. */
  downloadSize: number | null;
  aliases: string[];
}

/** Options of ModelRuntime.convertSpleeterCheckpoint. */
export interface SpleeterConvertOptions {
  config: '2stems' | '4stems' | '5stems';
  F: number;
  T: number;
  precision: ModelPrecision;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/**
 * What ModelManager needs from the inference side (helper code outside this module): converting
 * official checkpoints, and loading + smoke-running a model. The default implementation lives in
 * src/engine/models/default-model-runtime.ts; tests may pass their own.
 */
export interface ModelRuntime {
  convertSpleeterCheckpoint(
    checkpointDir: string,
    outDir: string,
    opts: SpleeterConvertOptions,
  ): Promise<void>;
  /**
   * Loads the model, compares what it declares with `model.entry` and runs a smoke inference on a
   * short test signal. Returns the checks; throws only for unexpected internal failures.
   */
  smokeTest(model: ResolvedModel, opts?: { signal?: AbortSignal }): Promise<ValidationCheck[]>;
}

export interface ModelManagerLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
