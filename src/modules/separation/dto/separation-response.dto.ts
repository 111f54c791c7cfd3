import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SeparationStatus } from '../separation-status';
import { OUTPUT_CODECS } from '../../../core/audio/audio-codec';
import { SignalAnalysisDto } from './analysis-response.dto';

export class SeparationModelDto {
  @ApiProperty({ example: 'builtin:center' })
  name!: string;
  @ApiProperty({ type: String, nullable: true, example: '1' })
  version!: string | null;
  @ApiProperty({ description: 'The model as the client asked for it.', example: 'builtin:center' })
  requested!: string;
  @ApiProperty({ type: [String], description: "All of the model's stems.", example: ['center', 'sides'] })
  stems!: string[];
}

export class SeparationInputDto {
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Client file name (display only).',
    example: 'song.mp3',
  })
  filename!: string | null;
  @ApiProperty({ example: 262867 })
  sizeBytes!: number;
  @ApiProperty({ description: 'Container format detected from the content.', example: 'mp3' })
  format!: string;
  @ApiProperty({ type: String, nullable: true, example: 'mp3' })
  codec!: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 11.05 })
  durationSec!: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 44100 })
  sampleRate!: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 2 })
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
  @ApiProperty({ type: Number, nullable: true, description: 'Time spent waiting in the queue.' })
  queuedMs!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Wall time spent waiting for decoded input (at most totalMs).',
  })
  decodeMs!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'Wall time with at least one model call in flight (at most totalMs; overlaps decode, DSP and encode).',
  })
  inferenceMs!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'STFT, masks and iSTFT around inference (at most totalMs).',
  })
  dspMs!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Wall time spent writing the stems (at most totalMs).',
  })
  encodeMs!: number | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'Processing time, start to finish (excludes queueing). Every stage time is at most this; their sum can exceed it because stages overlap.',
  })
  totalMs!: number | null;
}

/** What the model did for the job (succeeded jobs that ran the model). */
export class SeparationStatsDto {
  @ApiProperty({ example: 12, description: 'Model calls of the run (one per batch of 512-frame segments).' })
  modelCalls!: number;
  @ApiProperty({
    example: 0,
    description:
      'Of those, calls merged with other jobs’ calls into one model call (performance.cross_job_batching); ' +
      '0 when batching is off or the job ran alone.',
  })
  sharedModelCalls!: number;
}

export class SeparationStemDto {
  @ApiProperty({ example: 'center' })
  name!: string;
  @ApiProperty({ enum: OUTPUT_CODECS, example: 'wav' })
  codec!: string;
  @ApiProperty({ example: 'audio/wav' })
  contentType!: string;
  @ApiProperty({ example: 1940044 })
  sizeBytes!: number;
  @ApiProperty({ example: '/v1/separations/5f0c…/stems/center' })
  url!: string;
  @ApiProperty({
    type: SignalAnalysisDto,
    nullable: true,
    description:
      "The stem's loudness, silent ranges and `empty` flag; null when the job ran with `analysis: false`.",
  })
  analysis!: SignalAnalysisDto | null;
}

export class SeparationErrorDto {
  @ApiProperty({ example: 'CORRUPT_AUDIO' })
  code!: string;
  @ApiProperty({ example: 'The input could not be decoded' })
  message!: string;
}

export class SeparationCallbackDto {
  @ApiProperty({ example: 'https://example.com/hooks/spleeter' })
  url!: string;
  @ApiProperty({ enum: ['pending', 'delivered', 'failed'], nullable: true, type: String })
  status!: 'pending' | 'delivered' | 'failed' | null;
  @ApiProperty({ example: 1 })
  attempts!: number;
}

export class SeparationOptionsResponseDto {
  @ApiProperty({ type: [String], nullable: true, description: 'Requested subset; null = all stems.' })
  stems!: string[] | null;
  @ApiProperty({ enum: OUTPUT_CODECS })
  codec!: string;
  @ApiProperty({ type: Number, nullable: true, enum: [16, 24, 32] })
  bitDepth!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'kbit/s (mp3/ogg)' })
  bitrate!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  sampleRate!: number | null;
  @ApiProperty()
  offset!: number;
  @ApiProperty({ type: Number, nullable: true })
  duration!: number | null;
  @ApiProperty()
  mwf!: boolean;
  @ApiProperty({ enum: ['model', 'full'] })
  bandwidth!: string;
  @ApiProperty({
    oneOf: [
      { type: 'string', enum: ['default'] },
      { type: 'number', minimum: 0, maximum: 0.99 },
    ],
    nullable: true,
    description: "MDX-Net chunk overlap used ('default' = UVR's step); null for other models.",
    example: 'default',
  })
  overlap!: 'default' | number | null;
  @ApiProperty({ type: Boolean, nullable: true, description: 'MDX-Net denoise used; null for other models.' })
  denoise!: boolean | null;
  @ApiProperty({ description: 'DC removal before the network (also on with highpassHz or noiseReduction).' })
  preprocess!: boolean;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Corner of the Butterworth high-pass before the network, Hz; null: none.',
  })
  highpassHz!: number | null;
  @ApiProperty({ description: 'Spectral-gating noise reduction before the network.' })
  noiseReduction!: boolean;
  @ApiProperty({ description: 'Input loudness-normalised for the network (stems scaled back).' })
  normalizeLoudness!: boolean;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Target LUFS of normalizeLoudness; null when off.',
  })
  targetLufs!: number | null;
  @ApiProperty({ description: "The input's tags (title + stem name) and cover art written into the stems." })
  tags!: boolean;
  @ApiProperty({
    description: 'Loudness and silence of the input and of every stem (`analysis`, `stems[].analysis`).',
  })
  analysis!: boolean;
}

export class SeparationLinksDto {
  @ApiProperty({ example: '/v1/separations/5f0c…' })
  self!: string;
  @ApiProperty({ description: 'Server-sent events stream.' })
  events!: string;
  @ApiProperty({ description: 'Zip of all stems (when succeeded).' })
  archive!: string;
  @ApiPropertyOptional({ description: 'The batch this job belongs to.' })
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
  @ApiProperty({ minimum: 0, maximum: 100, example: 100 })
  progress!: number;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Current processing stage while running (e.g. `inference`); null once finished.',
    example: null,
  })
  stage!: string | null;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: '1-based position among waiting jobs (queued only).',
  })
  queuePosition!: number | null;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  batchId!: string | null;
  @ApiProperty({ type: SeparationModelDto })
  model!: SeparationModelDto;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Execution provider that ran the model.',
    example: 'cpu',
  })
  executionProvider!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      "Device behind executionProvider: the CPU model for cpu and built-in models, 'CUDA device <n>' for cuda; null when onnxruntime names none (webgpu) or the job has not run.",
    example: 'AMD EPYC 7763 64-Core Processor',
  })
  executionDevice!: string | null;
  @ApiProperty({ type: SeparationOptionsResponseDto })
  options!: SeparationOptionsResponseDto;
  @ApiProperty({ type: SeparationInputDto })
  input!: SeparationInputDto;
  @ApiProperty({
    type: SignalAnalysisDto,
    nullable: true,
    description:
      'Loudness (BS.1770 integrated, LRA, true/sample peak) and silent ranges of the input as decoded for the ' +
      'model (44.1 kHz stereo, before preprocessing or normalisation); null until the job succeeds, and with ' +
      '`analysis: false`. Tempo and key: POST /v1/analyses.',
  })
  analysis!: SignalAnalysisDto | null;
  @ApiProperty({ type: SeparationTimingsDto })
  timings!: SeparationTimingsDto;
  @ApiProperty({
    type: SeparationStatsDto,
    nullable: true,
    description: 'Model calls of the run; null until the job succeeds, and for cached results.',
  })
  stats!: SeparationStatsDto | null;
  @ApiProperty({
    type: [SeparationStemDto],
    description: 'Downloadable stems (succeeded jobs whose files still exist).',
  })
  stems!: SeparationStemDto[];
  @ApiProperty({ description: 'Served from the result cache without running the model.' })
  cached!: boolean;
  @ApiProperty({
    type: SeparationErrorDto,
    nullable: true,
    description: 'Why the job failed or was canceled; null otherwise.',
    example: null,
  })
  error!: SeparationErrorDto | null;
  @ApiProperty({ type: SeparationCallbackDto, nullable: true })
  callback!: SeparationCallbackDto | null;
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt!: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the files will be deleted.',
  })
  expiresAt!: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the files were deleted.',
  })
  filesDeletedAt!: string | null;
  @ApiProperty({ type: SeparationLinksDto })
  links!: SeparationLinksDto;
}

export class SeparationListResponseDto {
  @ApiProperty({ type: [SeparationResponseDto] })
  data!: SeparationResponseDto[];
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last page.',
  })
  nextCursor!: string | null;
}

export class BatchCountsDto {
  @ApiProperty() queued!: number;
  @ApiProperty() running!: number;
  @ApiProperty() succeeded!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() canceled!: number;
}

export class BatchLinksDto {
  @ApiProperty({ example: '/v1/batches/0d1e…' })
  self!: string;
}

export class BatchResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ enum: ['batch'] })
  object!: 'batch';
  @ApiProperty({
    enum: ['queued', 'running', 'completed'],
    description: "'completed' once every job is succeeded, failed or canceled.",
  })
  status!: 'queued' | 'running' | 'completed';
  @ApiProperty({ type: BatchCountsDto })
  counts!: BatchCountsDto;
  @ApiProperty({ type: [SeparationResponseDto] })
  jobs!: SeparationResponseDto[];
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
  @ApiProperty({ type: BatchLinksDto })
  links!: BatchLinksDto;
}
