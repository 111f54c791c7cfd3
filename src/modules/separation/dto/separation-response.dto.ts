import { ApiProperty } from '@nestjs/swagger';
import { SeparationStatus } from '../separation-status';
import { OUTPUT_CODECS } from '../../../core/audio/audio-codec';
import { SignalAnalysisDto } from './analysis-response.dto';

export class SeparationModelDto {
  /** @example builtin:center */
  name!: string;
  /** @example '1' */
  version!: string | null;
  /** The model as the client asked for it. @example builtin:center */
  requested!: string;
  /** All of the model's stems. */
  @ApiProperty({ type: [String], example: ['center', 'sides'] })
  stems!: string[];
}

export class SeparationInputDto {
  /** Client file name (display only). @example 'song.mp3' */
  filename!: string | null;
  /** @example 262867 */
  sizeBytes!: number;
  /** Container format detected from the content. @example mp3 */
  format!: string;
  /** @example 'mp3' */
  codec!: string | null;
  /** @example 11.05 */
  durationSec!: number | null;
  /** @example 44100 */
  sampleRate!: number | null;
  /** @example 2 */
  channels!: number | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Container tags of the upload (title, artist, album…); {} when it has none.',
    example: { title: 'Song', artist: 'Band' },
  })
  metadata!: Record<string, string>;
}

/**
 * Stage times are wall-clock time during which that stage was active. Stages run overlapped (the
 * model works on one batch while the next is decoded and the previous one is encoded), so each is
 * at most totalMs but their sum can exceed it.
 */
export class SeparationTimingsDto {
  /** Time spent waiting in the queue. */
  queuedMs!: number | null;
  /** Wall time spent waiting for decoded input (at most totalMs). */
  decodeMs!: number | null;
  /** Wall time with at least one model call in flight (at most totalMs; overlaps decode, DSP and encode). */
  inferenceMs!: number | null;
  /** STFT, masks and iSTFT around inference (at most totalMs). */
  dspMs!: number | null;
  /** Wall time spent writing the stems (at most totalMs). */
  encodeMs!: number | null;
  /**
   * Processing time, start to finish (excludes queueing). Every stage time is at most this; their sum can
   * exceed it because stages overlap.
   */
  totalMs!: number | null;
}

/** What the model did for the job (succeeded jobs that ran the model). */
export class SeparationStatsDto {
  /** Model calls of the run (one per batch of 512-frame segments). @example 12 */
  modelCalls!: number;
  /**
   * Of those, calls merged with other jobs’ calls into one model call (performance.cross_job_batching); 0
   * when batching is off or the job ran alone.
   * @example 0
   */
  sharedModelCalls!: number;
}

export class SeparationStemDto {
  /** @example center */
  name!: string;
  /** @example wav */
  @ApiProperty({ enum: OUTPUT_CODECS })
  codec!: string;
  /** @example audio/wav */
  contentType!: string;
  /** @example 1940044 */
  sizeBytes!: number;
  /** @example /v1/separations/5f0c…/stems/center */
  url!: string;
  /** The stem's loudness, silent ranges and `empty` flag; null when the job ran with `analysis: false`. */
  analysis!: SignalAnalysisDto | null;
}

export class SeparationErrorDto {
  /** @example CORRUPT_AUDIO */
  code!: string;
  @ApiProperty({ example: 'The input could not be decoded' })
  message!: string;
}

export class SeparationCallbackDto {
  /** @example https://example.com/hooks/spleeter */
  url!: string;
  @ApiProperty({ nullable: true, type: String, enum: ['pending', 'delivered', 'failed'] })
  status!: 'pending' | 'delivered' | 'failed' | null;
  /** @example 1 */
  attempts!: number;
}

export class SeparationOptionsResponseDto {
  /** Requested subset; null = all stems. */
  stems!: string[] | null;
  @ApiProperty({ enum: OUTPUT_CODECS })
  codec!: string;
  @ApiProperty({ type: Number, nullable: true, enum: [16, 24, 32] })
  bitDepth!: number | null;
  /** kbit/s (mp3/ogg) */
  bitrate!: number | null;
  sampleRate!: number | null;
  offset!: number;
  duration!: number | null;
  mwf!: boolean;
  @ApiProperty({ enum: ['model', 'full'] })
  bandwidth!: string;
  /** MDX-Net chunk overlap used ('default' = UVR's step); null for other models. */
  @ApiProperty({
    nullable: true,
    oneOf: [
      { type: 'string', enum: ['default'] },
      { type: 'number', minimum: 0, maximum: 0.99 },
    ],
    example: 'default',
  })
  overlap!: 'default' | number | null;
  /** MDX-Net denoise used; null for other models. */
  denoise!: boolean | null;
  /** DC removal before the network (also on with highpassHz or noiseReduction). */
  preprocess!: boolean;
  /** Corner of the Butterworth high-pass before the network, Hz; null: none. */
  highpassHz!: number | null;
  /** Spectral-gating noise reduction before the network. */
  noiseReduction!: boolean;
  /** Input loudness-normalised for the network (stems scaled back). */
  normalizeLoudness!: boolean;
  /** Target LUFS of normalizeLoudness; null when off. */
  targetLufs!: number | null;
  /** The input's tags (title + stem name) and cover art written into the stems. */
  tags!: boolean;
  /** Loudness and silence of the input and of every stem (`analysis`, `stems[].analysis`). */
  analysis!: boolean;
}

export class SeparationLinksDto {
  /** @example /v1/separations/5f0c… */
  self!: string;
  /** Server-sent events stream. */
  events!: string;
  /** Zip of all stems (when succeeded). */
  archive!: string;
  /** The batch this job belongs to. */
  batch?: string;
}

export class SeparationResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ enum: ['separation'] })
  object!: 'separation';
  // The examples describe one finished job (stems, timings, finishedAt), so its status says so.
  @ApiProperty({ enum: SeparationStatus, enumName: 'SeparationStatus', example: SeparationStatus.Succeeded })
  status!: SeparationStatus;
  /** @example 100 */
  @ApiProperty({ minimum: 0, maximum: 100 })
  progress!: number;
  /** Current processing stage while running (e.g. `inference`); null once finished. */
  @ApiProperty({ type: String, nullable: true, example: null })
  stage!: string | null;
  /** 1-based position among waiting jobs (queued only). */
  queuePosition!: number | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  batchId!: string | null;
  model!: SeparationModelDto;
  /** Execution provider that ran the model. @example 'cpu' */
  executionProvider!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      "Device behind executionProvider: the CPU model for cpu and built-in models, 'CUDA device <n>' for cuda; null when onnxruntime names none (webgpu) or the job has not run.",
    example: 'AMD EPYC 7763 64-Core Processor',
  })
  executionDevice!: string | null;
  options!: SeparationOptionsResponseDto;
  input!: SeparationInputDto;
  /**
   * Loudness (BS.1770 integrated, LRA, true/sample peak) and silent ranges of the input as decoded for the
   * model (44.1 kHz stereo, before preprocessing or normalisation); null until the job succeeds, and with
   * `analysis: false`. Tempo and key: POST /v1/analyses.
   */
  analysis!: SignalAnalysisDto | null;
  timings!: SeparationTimingsDto;
  /** Model calls of the run; null until the job succeeds, and for cached results. */
  stats!: SeparationStatsDto | null;
  /** Downloadable stems (succeeded jobs whose files still exist). */
  stems!: SeparationStemDto[];
  /** Served from the result cache without running the model. */
  cached!: boolean;
  /** Why the job failed or was canceled; null otherwise. */
  @ApiProperty({ type: SeparationErrorDto, nullable: true, example: null })
  error!: SeparationErrorDto | null;
  callback!: SeparationCallbackDto | null;
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  startedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  finishedAt!: string | null;
  /** When the files will be deleted. */
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  expiresAt!: string | null;
  /** When the files were deleted. */
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  filesDeletedAt!: string | null;
  links!: SeparationLinksDto;
}

export class SeparationListResponseDto {
  data!: SeparationResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor!: string | null;
}

export class BatchCountsDto {
  queued!: number;
  running!: number;
  succeeded!: number;
  failed!: number;
  canceled!: number;
}

export class BatchLinksDto {
  /** @example /v1/batches/0d1e… */
  self!: string;
}

export class BatchResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ enum: ['batch'] })
  object!: 'batch';
  /** 'completed' once every job is succeeded, failed or canceled. */
  @ApiProperty({ enum: ['queued', 'running', 'completed'] })
  status!: 'queued' | 'running' | 'completed';
  counts!: BatchCountsDto;
  jobs!: SeparationResponseDto[];
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
  links!: BatchLinksDto;
}
