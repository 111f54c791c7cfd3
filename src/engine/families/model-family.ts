/**
 * One factory per model family. The registry decides which family a reference belongs to (the
 * ModelManager's `kind` for catalog models, the directory's contents for paths, the `builtin:`
 * prefix) and asks that family for a separator; adding a family means adding a file here and a
 * kind, not another branch in the registry.
 */
import type { MdxOverlap } from '../../core/mdx/mdx-options';
import type { ModelKind, ModelPrecision } from '../../core/models/model-catalog';
import type { StemSeparator } from '../../core/separation/types';
import type { DspThreadPool } from '../../core/spleeter/dsp-pool';
import type { ExecutionProviderName, InferenceLogger, OnnxRuntime } from '../../infra/onnx/onnx-runtime';
import { BuiltinFamily } from './builtin/builtin-family';
import { MdxFamily } from './mdx/mdx-family';
import { SpleeterFamily } from './spleeter/spleeter-family';

/** What the families need to create sessions (a subset of ModelRegistryOptions). */
export interface FamilyOptions {
  executionProviders: ExecutionProviderName[];
  /** Inference threads in total (0/undefined = one per core). */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** One worker thread per instrument network, threads split between them. */
  parallelInstruments?: boolean;
  precision: ModelPrecision;
  batchSegments: number;
  /** Cross-job batching of Spleeter model calls (SpleeterEngineOptions.crossJobBatching); default 'auto'. */
  crossJobBatching?: 'auto' | 'on' | 'off';
  /** Segments per merged model call at most (default 16). */
  maxBatchSegments?: number;
  /** Wait for other jobs' calls at an idle model, ms (default 0). */
  batchWindowMs?: number;
  logger: InferenceLogger;
  runtime: OnnxRuntime;
  /** On-disk cache of optimized CPU models (OnnxSessionOptions.optimizedModelCacheDir); null/absent: off. */
  optimizedModelCacheDir?: string | null;
  /** DSP threads for a Spleeter separation whose model runs on this provider (null: in-thread DSP). */
  dspPool?: (executionProvider: string) => DspThreadPool | null;
}

export interface FamilySeparatorOptions {
  mwf: boolean;
  bandwidth: 'model' | 'full';
  stems?: string[];
  /** MDX-Net only (the registry refuses them for other families). */
  overlap?: MdxOverlap;
  denoise?: boolean;
  /** Precision of the installed version (catalog models); default: FamilyOptions.precision. */
  precision?: ModelPrecision;
}

export interface ModelFamily {
  /** Stem names of the model at `location` (a built-in id, a directory or an `.onnx` file). */
  stems(location: string): Promise<string[]>;
  separator(location: string, opts: FamilySeparatorOptions): Promise<StemSeparator>;
  /** Releases every session the family keeps loaded. */
  dispose(): Promise<void>;
}

export function createModelFamilies(options: FamilyOptions): Record<ModelKind, ModelFamily> {
  return {
    spleeter: new SpleeterFamily(options),
    mdx: new MdxFamily(options),
    builtin: new BuiltinFamily(),
  };
}
