/**
 * Which input samples a Spleeter segment depends on, for callers that want to know ahead of the
 * STFT whether a segment is digital silence (e.g. to predict the work a file will need). The
 * segment pipeline itself decides on the spectrum (segment-pipeline.ts: isZeroFrame), which is
 * exact: a segment is skipped when the model would see zeros, whatever caused them.
 */
import { SPLEETER_FRAMING, type FramingConfig } from '../dsp/stft';
import { SPLEETER_T } from './types';

/**
 * Sample frames [start, end) of the original input that the frames of segment `segment` read
 * (frame t covers [t·hop − frontPad, t·hop − frontPad + nFft)); clipped below at 0. If they are all
 * zero, every frame of the segment has an all-zero spectrum and the segment is not sent to the model.
 */
export function segmentSampleSpan(
  segment: number,
  framing: FramingConfig = SPLEETER_FRAMING,
  framesPerSegment = SPLEETER_T,
): { start: number; end: number } {
  if (!Number.isInteger(segment) || segment < 0)
    throw new RangeError(`segment must be a non-negative integer`);
  const first = segment * framesPerSegment;
  const last = first + framesPerSegment - 1;
  return {
    start: Math.max(0, first * framing.hop - framing.frontPad),
    end: last * framing.hop - framing.frontPad + framing.nFft,
  };
}

/** True when every sample in interleaved[from·channels, to·channels) is exactly zero (±0). */
export function isDigitalSilence(
  interleaved: Float32Array,
  channels: number,
  from = 0,
  to?: number,
): boolean {
  const end = Math.min(interleaved.length, (to ?? interleaved.length / channels) * channels);
  for (let i = Math.max(0, from * channels); i < end; i++) if (interleaved[i] !== 0) return false;
  return true;
}
