/**
 * Estimated peak memory of one separation, for `performance.memory_limit_mb` admission. A model,
 * not a measurement, fitted on peak RSS of the CLI (full-size 2-stem U-Net, 180 s stereo input,
 * CPU, 2 threads; the pipeline streams, so the input's length barely matters):
 *
 * | batch_segments | measured | estimate |
 * |---|---|---|
 * | 1 | 626 MiB | 710 MiB |
 * | 4 | 1,478 MiB | 1,550 MiB |
 * | 8 | 2,579 MiB | 2,670 MiB |
 * | 1, DSP threads | 683 MiB | 764 MiB |
 * | 4, DSP threads | 1,649 MiB | 1,721 MiB |
 *
 * - fixed: Node, onnxruntime, codec buffers, the STFT queues (about 350 MiB);
 * - Spleeter: per stem network, its fp32 weights (about 40 MiB) and, per segment in a batch, the
 *   U-Net's activations on a 512 × 1024 × 2 spectrogram (about 140 MiB: onnxruntime's arena keeps
 *   the largest call's buffers);
 * - with DSP threads (`performance.dsp_threads`), the shared planes: per batch segment the raw
 *   samples, the model input and outputs and the stems (15 MiB + 12 MiB per stem), plus the
 *   threads themselves (15 MiB);
 * - with cross-job batching on the CPU (`performance.cross_job_batching: on`), one model call
 *   merges several jobs' segments, up to `max_batch_segments`: the arena then holds that many
 *   segments' activations, so they count instead of batch_segments (`mergedSegments`);
 * - MDX-Net: one network, weights and one chunk's activations (about 600 MiB);
 * - built-in DSP models: nothing beyond the fixed part.
 *
 * On a GPU provider the activations live in device memory, so the estimate is conservative there.
 */
import { ErrorCodes, SeparationError } from '../core/errors';
import type { ModelKind } from '../core/models/model-catalog';
import { crossJobBatchingFor } from './families/spleeter/spleeter-family';

export const MEMORY_FIXED_MB = 350;
export const SPLEETER_STEM_WEIGHTS_MB = 40;
export const SPLEETER_SEGMENT_ACTIVATIONS_MB = 140;
export const DSP_THREADS_MB = 15;
export const DSP_SEGMENT_MB = 15;
export const DSP_STEM_SEGMENT_MB = 12;
export const MDX_NETWORK_MB = 600;

export function estimateSeparationMemoryMb(model: {
  kind: ModelKind;
  stems: readonly string[];
  batchSegments: number;
  /** DSP threads run this separation's STFT/iSTFT (Spleeter models only). */
  dspThreads?: boolean;
  /** Segments of the largest merged model call when cross-job batching runs on the CPU. */
  mergedSegments?: number;
}): number {
  switch (model.kind) {
    case 'spleeter': {
      const stems = model.stems.length;
      const segments = model.batchSegments;
      const called = Math.max(segments, model.mergedSegments ?? 0);
      const dsp = model.dspThreads
        ? DSP_THREADS_MB + segments * (DSP_SEGMENT_MB + stems * DSP_STEM_SEGMENT_MB)
        : 0;
      return (
        MEMORY_FIXED_MB + stems * (SPLEETER_STEM_WEIGHTS_MB + called * SPLEETER_SEGMENT_ACTIVATIONS_MB) + dsp
      );
    }
    case 'mdx':
      return MEMORY_FIXED_MB + MDX_NETWORK_MB;
    default:
      return MEMORY_FIXED_MB;
  }
}

/**
 * `mergedSegments` of estimateSeparationMemoryMb: `maxBatchSegments` where cross-job batching merges
 * calls in host memory (the CPU provider with cross_job_batching 'on'); undefined otherwise (no
 * merging, or a GPU provider whose activations live in device memory).
 */
export function mergedSegmentsInHostMemory(
  mode: 'auto' | 'on' | 'off',
  executionProvider: string,
  maxBatchSegments: number,
): number | undefined {
  return executionProvider === 'cpu' && crossJobBatchingFor(mode, executionProvider)
    ? maxBatchSegments
    : undefined;
}

/** MEMORY_LIMIT (HTTP 422): the estimate does not fit performance.memory_limit_mb. */
export function memoryLimitError(model: string, estimateMb: number, limitMb: number): SeparationError {
  return new SeparationError(
    ErrorCodes.MEMORY_LIMIT,
    `Separating with ${model} needs an estimated ${Math.round(estimateMb)} MiB, over performance.memory_limit_mb (${limitMb} MiB); use a smaller batch_size or model`,
    { model, estimateMb: Math.round(estimateMb), limitMb },
  );
}
