/**
 * The engine-facing contract every separation method implements: Spleeter U-Nets
 * (src/core/spleeter), UVR MDX-Net (src/core/mdx) and the built-in DSP models (src/core/builtin).
 * Audio crosses this boundary as interleaved stereo float32 at `sampleRate` (44100 for all
 * current models); decoding, resampling and encoding happen outside.
 */

/**
 * Receives separated audio: one interleaved stereo Float32Array per requested stem, all the same
 * length, in order (contiguous chunks). Over a whole separation each stem receives exactly N sample
 * frames in total. The arrays are freshly allocated per call and may be kept by the sink, unless
 * it says `consumesChunks`.
 */
export interface StemSink {
  write(stems: ReadonlyMap<string, Float32Array>): Promise<void> | void;
  /**
   * True when write() is done with the arrays once it returns or its promise settles (it encodes,
   * copies or measures them and keeps no reference): a separator may then refill the same arrays
   * for its next write instead of allocating new ones (less garbage, fewer full GCs).
   */
  readonly consumesChunks?: boolean;
}

export interface SeparationStats {
  samples: number;
  frames: number;
  segments: number;
  inferenceMs: number;
  dspMs: number;
  modelCalls: number;
  /**
   * Of modelCalls, those merged with other separations' calls into one model call (cross-job
   * batching); absent or 0 when not shared.
   */
  sharedModelCalls?: number;
}

/** Progress reported by long-running work, 0..1. */
export type ProgressCallback = (fraction: number, stage: string) => void;

/** Per-call options of a separation run (not part of the cache key). */
export interface SeparateOptions {
  /** Checked between segment batches (and source chunks); aborting throws SeparationError JOB_CANCELED. */
  signal?: AbortSignal;
  /** Called after each batch (and once with 1 at the end); fractions only when the length is known. */
  onProgress?: ProgressCallback;
  /** Sample frames the source will yield, if known (enables progress during the first pass). */
  totalSamples?: number;
}

export interface StemSeparator {
  /** Stems this separator emits, in output order (after any `stems` subset option). */
  readonly stems: readonly string[];
  readonly sampleRate: number;
  /** Execution provider actually used ('cpu', 'cuda', 'webgpu', or 'dsp' for built-ins). */
  readonly executionProvider: string;
  separate(
    openSource: () => AsyncIterable<Float32Array>,
    sink: StemSink,
    opts?: SeparateOptions,
  ): Promise<SeparationStats>;
}
