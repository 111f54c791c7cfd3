/**
 * The engine-facing contract every separation method implements: Spleeter U-Nets
 * (src/core/spleeter), UVR MDX-Net (src/core/mdx) and the built-in DSP models (src/core/builtin).
 * Audio crosses this boundary as interleaved stereo float32 at `sampleRate` (44100 for all
 * current models); decoding, resampling and encoding happen outside.
 */
import type { ProgressCallback } from '../spleeter/types';

export interface StemSink {
  /** Contiguous chunks, same length for every stem, total exactly N frames per stem. */
  write(stems: ReadonlyMap<string, Float32Array>): Promise<void> | void;
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

export interface SeparateOptions {
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
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
