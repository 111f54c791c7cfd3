/**
 * Estimated peak memory of one separation, for `performance.memory_limit_mb` admission. A model,
 * not a measurement: calibrated on the benchmark's peak RSS (README "Benchmarks": 650 MiB for
 * spleeter:2stems at batch 1 on CPU, whatever the input length, since the pipeline streams).
 *
 * - fixed: Node, onnxruntime, codec buffers, the STFT queues (about 450 MiB);
 * - Spleeter: per stem network, its fp32 weights (about 40 MiB) and, per segment in a batch, the
 *   U-Net's activations on a 512 × 1024 × 2 spectrogram (about 64 MiB);
 * - MDX-Net: one network, weights and one chunk's activations (about 600 MiB);
 * - built-in DSP models: nothing beyond the fixed part.
 */
import { ErrorCodes, SeparationError } from '../core/errors';
import type { ModelKind } from '../core/models/model-catalog';

export const MEMORY_FIXED_MB = 450;
export const SPLEETER_STEM_WEIGHTS_MB = 40;
export const SPLEETER_SEGMENT_ACTIVATIONS_MB = 64;
export const MDX_NETWORK_MB = 600;

export function estimateSeparationMemoryMb(model: {
  kind: ModelKind;
  stems: readonly string[];
  batchSegments: number;
}): number {
  switch (model.kind) {
    case 'spleeter':
      return (
        MEMORY_FIXED_MB +
        model.stems.length *
          (SPLEETER_STEM_WEIGHTS_MB + model.batchSegments * SPLEETER_SEGMENT_ACTIVATIONS_MB)
      );
    case 'mdx':
      return MEMORY_FIXED_MB + MDX_NETWORK_MB;
    default:
      return MEMORY_FIXED_MB;
  }
}

/** MEMORY_LIMIT (HTTP 422): the estimate does not fit performance.memory_limit_mb. */
export function memoryLimitError(model: string, estimateMb: number, limitMb: number): SeparationError {
  return new SeparationError(
    ErrorCodes.MEMORY_LIMIT,
    `Separating with ${model} needs an estimated ${Math.round(estimateMb)} MiB, over performance.memory_limit_mb (${limitMb} MiB); use a smaller batch_size or model`,
    { model, estimateMb: Math.round(estimateMb), limitMb },
  );
}
