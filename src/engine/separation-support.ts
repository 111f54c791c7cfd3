/**
 * The checks and small stream/format helpers of SpleeterEngine.separate: request validation,
 * the OUTPUT_EXISTS error, the default output rate, the input description of a result and decode
 * timing.
 */
import type { AudioInput } from '../core/audio/audio-input';
import { BITRATE_KBPS_MAX, BITRATE_KBPS_MIN, OUTPUT_CODECS } from '../core/audio/audio-codec';
import { MP3_SAMPLE_RATES } from '../core/audio/audio-output';
import { AudioProcessingError, ErrorCodes, ValidationError } from '../core/errors';
import { isMdxOverlap, MDX_OVERLAP_RULE } from '../core/mdx';
import type { InputAudioInfo, OutputCodec, SeparateParams } from './types';

export function outputExists(stem: string, file: string): ValidationError {
  return new ValidationError(ErrorCodes.OUTPUT_EXISTS, `Output file already exists: ${file}`, {
    stem,
    path: file,
  });
}

/** The input's own rate, except where the codec cannot carry it (MP3 tops out at 48 kHz). */
export function defaultOutputRate(codec: OutputCodec, inputRate: number): number {
  if (codec !== 'mp3' || MP3_SAMPLE_RATES.includes(inputRate)) return inputRate;
  return MP3_SAMPLE_RATES.reduce((best, r) =>
    Math.abs(r - inputRate) < Math.abs(best - inputRate) ? r : best,
  );
}

export function toInputInfo(input: AudioInput, selectedDurationSec: number): InputAudioInfo {
  const i = input.info;
  const durationSec =
    i.durationSec ?? (i.frames !== undefined ? i.frames / i.sampleRate : selectedDurationSec || 0);
  return {
    format: i.format,
    codec: i.codec,
    sampleRate: i.sampleRate,
    channels: i.channels,
    durationSec,
    bitDepth: i.bitDepth,
    ...(i.tags && Object.keys(i.tags).length > 0 ? { tags: { ...i.tags } } : {}),
  };
}

export async function* timedIterable<T>(
  source: AsyncIterable<T>,
  add: (ms: number) => void,
): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  try {
    while (true) {
      const t0 = performance.now();
      const next = await it.next();
      add(performance.now() - t0);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await it.return?.();
  }
}

export function validateRequest(params: SeparateParams, codec: OutputCodec, haveFfmpeg: boolean): void {
  const problems: string[] = [];
  if (!params.audioPath) problems.push('audioPath is required');
  if (!params.outputDir) problems.push('outputDir is required');
  if (!OUTPUT_CODECS.includes(codec)) problems.push(`codec must be one of ${OUTPUT_CODECS.join(', ')}`);
  if (params.bitDepth !== undefined && ![16, 24, 32].includes(params.bitDepth))
    problems.push('bitDepth must be 16, 24 or 32');
  if (
    params.bitrateKbps !== undefined &&
    !(params.bitrateKbps >= BITRATE_KBPS_MIN && params.bitrateKbps <= BITRATE_KBPS_MAX)
  ) {
    problems.push(`bitrateKbps must be between ${BITRATE_KBPS_MIN} and ${BITRATE_KBPS_MAX}`);
  }
  if (
    params.sampleRate !== undefined &&
    !(Number.isInteger(params.sampleRate) && params.sampleRate >= 8000 && params.sampleRate <= 192000)
  ) {
    problems.push('sampleRate must be an integer between 8000 and 192000');
  }
  if (
    params.targetLufs !== undefined &&
    !(Number.isFinite(params.targetLufs) && params.targetLufs >= -70 && params.targetLufs <= 0)
  ) {
    problems.push('targetLufs must be a number between -70 and 0');
  }
  if (
    params.highpassHz !== undefined &&
    params.highpassHz !== null &&
    !(Number.isFinite(params.highpassHz) && params.highpassHz >= 10 && params.highpassHz <= 500)
  ) {
    problems.push('highpassHz must be a number between 10 and 500');
  }
  if (params.noiseReduction !== undefined && typeof params.noiseReduction !== 'boolean')
    problems.push('noiseReduction must be a boolean');
  if (params.offsetSec !== undefined && !(params.offsetSec >= 0)) problems.push('offsetSec must be >= 0');
  if (params.durationSec !== undefined && !(params.durationSec > 0)) problems.push('durationSec must be > 0');
  if (params.bandwidth !== undefined && !['model', 'full'].includes(params.bandwidth)) {
    problems.push("bandwidth must be 'model' or 'full'");
  }
  if (params.overlap !== undefined && !isMdxOverlap(params.overlap)) problems.push(MDX_OVERLAP_RULE);
  if (params.denoise !== undefined && typeof params.denoise !== 'boolean')
    problems.push('denoise must be true or false');
  if (params.analysis !== undefined && typeof params.analysis !== 'boolean')
    problems.push('analysis must be true or false');
  if (params.analysisTruePeak !== undefined && typeof params.analysisTruePeak !== 'boolean')
    problems.push('analysisTruePeak must be true or false');
  if (
    params.silenceThresholdDbfs !== undefined &&
    !(
      Number.isFinite(params.silenceThresholdDbfs) &&
      params.silenceThresholdDbfs >= -120 &&
      params.silenceThresholdDbfs <= 0
    )
  ) {
    problems.push('silenceThresholdDbfs must be a number between -120 and 0');
  }
  if (
    params.silenceMinDurationSec !== undefined &&
    !(
      Number.isFinite(params.silenceMinDurationSec) &&
      params.silenceMinDurationSec >= 0.01 &&
      params.silenceMinDurationSec <= 60
    )
  ) {
    problems.push('silenceMinDurationSec must be a number between 0.01 and 60');
  }
  if (params.tags !== undefined && typeof params.tags !== 'boolean')
    problems.push('tags must be true or false');
  if (
    params.fallbackTitle !== undefined &&
    params.fallbackTitle !== null &&
    typeof params.fallbackTitle !== 'string'
  ) {
    problems.push('fallbackTitle must be a string or null');
  }
  if (problems.length) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, problems.join('; '));
  }
  if (codec !== 'wav' && !haveFfmpeg) {
    throw new AudioProcessingError(
      ErrorCodes.DECODER_UNAVAILABLE,
      `Writing ${codec} needs ffmpeg, which is not available: install ffmpeg or set SPLEETER_FFMPEG_PATH`,
      { codec },
    );
  }
}
