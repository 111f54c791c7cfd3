import { ApiProperty } from '@nestjs/swagger';
import type { AudioFileAnalysis } from '../../../engine/audio-file-analysis';
import { signalLoudness, signalSilence } from '../../../core/analysis/signal-analysis';

export class AnalysisTechnicalDto {
  /** Container, judged by content. @example wav */
  format!: string;
  /** @example pcm_s16le */
  codec!: string;
  /** @example 44100 */
  sampleRate!: number;
  /** @example 2 */
  channels!: number;
  /** @example 16 */
  bitDepth!: number | null;
  /** As the container declares it; null when it does not. */
  durationSec!: number | null;
  /** bit/s */
  bitRate!: number | null;
}

export class AnalysisLoudnessDto {
  /** BS.1770-4 integrated loudness (LUFS); null: too short or silent. */
  integratedLufs!: number | null;
  /** EBU R128 loudness range (LU). */
  loudnessRangeLu!: number | null;
  /**
   * True peak (dBTP, 4x oversampled). In separations only with `audio.analysis_true_peak` (default off:
   * null).
   */
  truePeakDbtp!: number | null;
  samplePeakDbfs!: number | null;
  maxMomentaryLufs!: number | null;
  maxShortTermLufs!: number | null;
}

export class SilentRangeDto {
  startSec!: number;
  endSec!: number;
}

export class AnalysisSilenceDto {
  ranges!: SilentRangeDto[];
  /** More ranges than listed were found (the totals count all). */
  truncated!: boolean;
  silentSec!: number;
  silentFraction!: number;
  /** dBFS below which audio counts as silent. */
  thresholdDbfs!: number;
  /** Shortest silent range reported (s). */
  minDurationSec!: number;
}

/** Loudness and silence of a separation's input or of one stem (job JSON `analysis`, `stems[].analysis`). */
export class SignalAnalysisDto {
  /** Rate of the measured stream (the engine works at 44.1 kHz). @example 44100 */
  sampleRate!: number;
  /** Channels of the measured stream (stereo: a mono input counts twice). @example 2 */
  channels!: number;
  /** Seconds measured. */
  durationSec!: number;
  loudness!: AnalysisLoudnessDto;
  silence!: AnalysisSilenceDto;
  /**
   * Nothing in it: at most 1 % of its length, and at most 1 s, is above the silence threshold, or all of it
   * is under the −70 LUFS gate (e.g. the vocals of an instrumental).
   */
  empty!: boolean;
}

export class AnalysisTempoDto {
  /** @example 120 */
  bpm!: number | null;
  /** 0..1 */
  confidence!: number;
}

export class AnalysisKeyDto {
  @ApiProperty({ type: String, nullable: true, example: 'A minor' })
  key!: string | null;
  /** Winner's correlation minus the runner-up's. */
  confidence!: number;
  runnerUp!: string | null;
}

export class AnalysisResponseDto {
  /** The uploaded file name, as sent. */
  filename!: string | null;
  technical!: AnalysisTechnicalDto;
  /**
   * Container tags (title, artist, album, albumArtist, date, genre, track, disc, isrc, composer, comment,
   * copyright).
   */
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { title: 'Song', artist: 'Band' },
  })
  tags!: Record<string, string>;
  hasCoverArt!: boolean;
  /** Seconds decoded and analysed. */
  durationSec!: number;
  loudness!: AnalysisLoudnessDto;
  silence!: AnalysisSilenceDto;
  tempo!: AnalysisTempoDto;
  key!: AnalysisKeyDto;
  /** Analysis time (ms). */
  processingMs!: number;
}

/** The engine's analysis as the API answers it: no server path, the analysers' working data left out. */
export function toAnalysisResponse(result: AudioFileAnalysis, filename: string | null): AnalysisResponseDto {
  const { technical: t, analysis: a } = result;
  return {
    filename,
    technical: {
      format: t.format,
      codec: t.codec,
      sampleRate: t.sampleRate,
      channels: t.channels,
      bitDepth: t.bitDepth,
      durationSec: t.durationSec,
      bitRate: t.bitRate,
    },
    tags: { ...result.tags } as Record<string, string>,
    hasCoverArt: result.hasCoverArt,
    durationSec: a.durationSec,
    loudness: signalLoudness(a.loudness!),
    silence: signalSilence(a.silence!),
    tempo: { bpm: a.tempo!.bpm, confidence: a.tempo!.confidence },
    key: { key: a.key!.key, confidence: a.key!.confidence, runnerUp: a.key!.runnerUp },
    processingMs: result.timings.totalMs,
  };
}
