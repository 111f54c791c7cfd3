/**
 * Contracts between the Spleeter DSP pipeline (src/core/spleeter, src/core/dsp), the inference
 * runtime (src/infra/onnx + src/core/onnx) and audio I/O (src/core/audio, src/infra/ffmpeg).
 */

/** Spleeter constants from MODEL-FORMATS A1. */
export const SPLEETER_SAMPLE_RATE = 44100;
export const SPLEETER_FRAME_LENGTH = 4096;
export const SPLEETER_FRAME_STEP = 1024;
export const SPLEETER_T = 512;
export const SPLEETER_BINS = SPLEETER_FRAME_LENGTH / 2 + 1; // 2049

export type SpleeterArchitecture = 'unet' | 'softmax_unet';

/** Tensor layout of a model file's input/output, read from its declared shape. */
export type SegmentLayout = 'CSTF' /* [2, S, 512, F] (sherpa default) */ | 'SCTF'; /* [S, 2, 512, F] */

/**
 * A loaded Spleeter-family network, one output per instrument, all fed the same mixture magnitude.
 * Canonical tensor layout on this interface is always CSTF: [2, S, 512, F] float32, channel-major;
 * implementations transpose internally if the model file uses SCTF.
 */
export interface SegmentModel {
  readonly instruments: readonly string[];
  /** Number of frequency bins the network sees (1024 or 1536). */
  readonly F: number;
  /** Execution provider actually running the model, e.g. 'cpu', 'cuda', 'webgpu'. */
  readonly executionProvider: string;
  /**
   * Run S segments. `input` has length 2*S*512*F (CSTF). Returns one Float32Array per instrument
   * (same order as `instruments`, same layout/length): the estimated magnitude (mask × input).
   * Must not keep references to `input` after resolving.
   */
  run(input: Float32Array, S: number, signal?: AbortSignal): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

/** Options that change the separation maths (all of them are part of a cache key). */
export interface SpleeterSeparationOptions {
  /** Multichannel Wiener filter (MODEL-FORMATS A8) instead of ratio masks. */
  mwf?: boolean;
  /** 'model' (default): bins >= F get mask 0. 'full': bins >= F get the average mask of the top bins. */
  bandwidth?: 'model' | 'full';
  /** Segments per model call (batching). Does not change results. */
  batchSegments?: number;
  /** Only produce these instruments (subset of model.instruments); masks still use all of them. */
  stems?: string[];
  /**
   * Do not run the model on 512-frame segments of digital silence (default true). Does not change
   * results (segment-pipeline.ts says why); false is for tests and benchmarks.
   */
  skipSilentSegments?: boolean;
}

export type { ProgressCallback, SeparateOptions } from '../separation/types';

export interface SeparationStats {
  /** Sample frames per channel read from the source (= written per stem). */
  samples: number;
  /** STFT frames: ceil((samples + 4096) / 1024), 0 for empty input. */
  frames: number;
  /** 512-frame segments per pass. */
  segments: number;
  /** SegmentModel.run calls over all passes. */
  modelCalls: number;
  /** Segments of digital silence not sent to the model, over all passes. */
  skippedSegments: number;
  /**
   * Model time: wall time during which at least one SegmentModel.run call was in flight. Batches are
   * pipelined (the next batch is in the model while the previous one is synthesized), so this
   * overlaps dspMs; overlapping calls count once, so it never exceeds wallMs.
   */
  inferenceMs: number;
  /** Time the separator sat blocked waiting for the model (the part of inferenceMs not hidden by DSP). */
  inferenceWaitMs: number;
  /**
   * Time spent in STFT, model input packing, masks / Wiener filter and iSTFT. With DSP threads it
   * is the wall time of those stages, and the next batch's STFT overlaps this batch's iSTFT.
   */
  dspMs: number;
  /** Time spent awaiting the sink. */
  sinkMs: number;
  /** Wall time of the whole separate() call. */
  wallMs: number;
  /** Passes over the source: 1 (ratio masks) or 3 (MWF). */
  passes: number;
  /** Stems written, in sink map order. */
  stems: string[];
}
