/**
 * Merging the model inputs of several callers into one SegmentModel call and splitting the outputs
 * back (segment-scheduler.ts). The canonical layout is CSTF, [2, S, 512, F]: channel 0's S segments,
 * then channel 1's. Merging concatenates the callers' segments along S *per channel*, so a caller's
 * segments keep their order and their T·F blocks are copied unchanged; splitting is the inverse.
 * The model computes every segment of a batch independently (batchSegments and the silent-segment
 * skip rely on this too), so a caller's slice of a merged output equals its own call's output.
 */
import { SPLEETER_T } from './types';

/** One caller's part of a merged call: a CSTF tensor of `S` segments. */
export interface SegmentPart {
  readonly input: Float32Array;
  readonly S: number;
}

/** Floats of one segment of one channel (T × F). */
function blockOf(F: number): number {
  return SPLEETER_T * F;
}

/** Total segments of `parts`. */
export function totalSegments(parts: readonly SegmentPart[]): number {
  let s = 0;
  for (const p of parts) s += p.S;
  return s;
}

/**
 * One CSTF tensor holding every part's segments, in order, per channel: [2, ΣS, 512, F]. Each
 * part's input must have 2·S·512·F values (checked: a wrong length would shift every later part).
 */
export function mergeSegmentInputs(parts: readonly SegmentPart[], F: number): Float32Array {
  const block = blockOf(F);
  const total = totalSegments(parts);
  const merged = new Float32Array(2 * total * block);
  let offset = 0;
  for (const { input, S } of parts) {
    const stride = S * block;
    if (input.length !== 2 * stride) {
      throw new RangeError(`segment input has ${input.length} values; expected 2·${S}·${SPLEETER_T}·${F}`);
    }
    for (let c = 0; c < 2; c++) {
      merged.set(input.subarray(c * stride, (c + 1) * stride), (c * total + offset) * block);
    }
    offset += S;
  }
  return merged;
}

/**
 * The inverse of mergeSegmentInputs for one output tensor (same layout as the merged input): one
 * freshly allocated CSTF tensor per part, [2, S_i, 512, F].
 */
export function splitSegmentOutput(
  output: Float32Array,
  sizes: readonly number[],
  F: number,
): Float32Array[] {
  const block = blockOf(F);
  let total = 0;
  for (const s of sizes) total += s;
  if (output.length !== 2 * total * block) {
    throw new RangeError(`merged output has ${output.length} values; expected 2·${total}·${SPLEETER_T}·${F}`);
  }
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const S of sizes) {
    const stride = S * block;
    const part = new Float32Array(2 * stride);
    for (let c = 0; c < 2; c++) {
      const from = (c * total + offset) * block;
      part.set(output.subarray(from, from + stride), c * stride);
    }
    parts.push(part);
    offset += S;
  }
  return parts;
}
