import { ApiProperty } from '@nestjs/swagger';
import type { AudioFileAnalysis } from '../../../engine/audio-file-analysis';
import { signalLoudness, signalSilence } from '../../../core/analysis/signal-analysis';

export class AnalysisTechnicalDto {
  @ApiProperty({ example: 'wav', description: 'Container, judged by content.' })
  format!: string;
  @ApiProperty({ example: 'pcm_s16le' })
  codec!: string;
  @ApiProperty({ example: 44100 })
  sampleRate!: number;
  @ApiProperty({ example: 2 })
  channels!: number;
  @ApiProperty({ type: Number, nullable: true, example: 16 })
  bitDepth!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'As the container declares it; null when it does not.',
  })
  durationSec!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'bit/s' })
  bitRate!: number | null;
}

export class AnalysisLoudnessDto {
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'BS.1770-4 integrated loudness (LUFS); null: too short or silent.',
  })
  integratedLufs!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'EBU R128 loudness range (LU).' })
  loudnessRangeLu!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'True peak (dBTP, 4x oversampled). In separations only with `audio.analysis_true_peak` (default off: null).',
  })
  truePeakDbtp!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  samplePeakDbfs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  maxMomentaryLufs!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  maxShortTermLufs!: number | null;
}

export class SilentRangeDto {
  @ApiProperty()
  startSec!: number;
  @ApiProperty()
  endSec!: number;
}

export class AnalysisSilenceDto {
  @ApiProperty({ type: [SilentRangeDto] })
  ranges!: SilentRangeDto[];
  @ApiProperty({ description: 'More ranges than listed were found (the totals count all).' })
  truncated!: boolean;
  @ApiProperty()
  silentSec!: number;
  @ApiProperty()
  silentFraction!: number;
  @ApiProperty({ description: 'dBFS below which audio counts as silent.' })
  thresholdDbfs!: number;
  @ApiProperty({ description: 'Shortest silent range reported (s).' })
  minDurationSec!: number;
}

/** Loudness and silence of a separation's input or of one stem (job JSON `analysis`, `stems[].analysis`). */
export class SignalAnalysisDto {
  @ApiProperty({ example: 44100, description: 'Rate of the measured stream (the engine works at 44.1 kHz).' })
  sampleRate!: number;
  @ApiProperty({
    example: 2,
    description: 'Channels of the measured stream (stereo: a mono input counts twice).',
  })
  channels!: number;
  @ApiProperty({ description: 'Seconds measured.' })
  durationSec!: number;
  @ApiProperty({ type: AnalysisLoudnessDto })
  loudness!: AnalysisLoudnessDto;
  @ApiProperty({ type: AnalysisSilenceDto })
  silence!: AnalysisSilenceDto;
  @ApiProperty({
    description:
      'Nothing in it: at most 1 % of its length, and at most 1 s, is above the silence threshold, or all of it ' +
      'is under the −70 LUFS gate (e.g. the vocals of an instrumental).',
  })
  empty!: boolean;
}

export class AnalysisTempoDto {
  @ApiProperty({ type: Number, nullable: true, example: 120 })
  bpm!: number | null;
  @ApiProperty({ description: '0..1' })
  confidence!: number;
}

export class AnalysisKeyDto {
  @ApiProperty({ type: String, nullable: true, example: 'A minor' })
  key!: string | null;
  @ApiProperty({ description: "Winner's correlation minus the runner-up's." })
  confidence!: number;
  @ApiProperty({ type: String, nullable: true })
  runnerUp!: string | null;
}

export class AnalysisResponseDto {
  @ApiProperty({ type: String, nullable: true, description: 'The uploaded file name, as sent.' })
  filename!: string | null;
  @ApiProperty({ type: AnalysisTechnicalDto })
  technical!: AnalysisTechnicalDto;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description:
      'Container tags (title, artist, album, albumArtist, date, genre, track, disc, isrc, composer, comment, copyright).',
    example: { title: 'Song', artist: 'Band' },
  })
  tags!: Record<string, string>;
  @ApiProperty()
  hasCoverArt!: boolean;
  @ApiProperty({ description: 'Seconds decoded and analysed.' })
  durationSec!: number;
  @ApiProperty({ type: AnalysisLoudnessDto })
  loudness!: AnalysisLoudnessDto;
  @ApiProperty({ type: AnalysisSilenceDto })
  silence!: AnalysisSilenceDto;
  @ApiProperty({ type: AnalysisTempoDto })
  tempo!: AnalysisTempoDto;
  @ApiProperty({ type: AnalysisKeyDto })
  key!: AnalysisKeyDto;
  @ApiProperty({ description: 'Analysis time (ms).' })
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
