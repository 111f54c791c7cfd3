import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsNumber,
  IsOptional,
  IsPositive,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  ValidateBy,
} from 'class-validator';
import {
  isMdxOverlap,
  MDX_MAX_OVERLAP,
  MDX_OVERLAP_RULE,
  type MdxOverlap,
} from '../../../core/mdx/mdx-options';
import { MODEL_REFERENCE_MAX_LENGTH, MODEL_REFERENCE_PATTERN } from '../../../core/models/model-catalog';
import type { OutputCodec } from '../../../engine/types';
import { BITRATE_KBPS_MAX, BITRATE_KBPS_MIN, OUTPUT_CODECS } from '../../../core/audio/audio-codec';
import { OptionalInt, OptionalNumber, toBoolean, toMdxOverlap, toNumber, toStringList } from './transforms';

export const STEM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const MAX_OFFSET_SECONDS = 24 * 3600;

/** Options shared by single and batch separation requests (multipart form fields). */
export class SeparationOptionsDto {
  /** @example builtin:center */
  @ApiPropertyOptional({
    description:
      'Model name, optionally pinned to a version with `@version`. Default: the server default model.',
    pattern: MODEL_REFERENCE_PATTERN.source,
    maxLength: MODEL_REFERENCE_MAX_LENGTH,
  })
  @IsOptional()
  @IsString()
  @Matches(MODEL_REFERENCE_PATTERN, { message: 'model must be a model name, optionally with @version' })
  model?: string;

  /** Only produce these stems (a subset of the model's stems). Comma-separated or a repeated field. */
  @ApiPropertyOptional({ type: [String], example: ['center'] })
  @IsOptional()
  @Transform(toStringList)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(16)
  @ArrayUnique()
  @Matches(STEM_NAME_PATTERN, {
    each: true,
    message: 'each stem must be a stem name (letters, digits, _ and -)',
  })
  stems?: string[];

  /** Output codec. Default: server `audio.default_codec`. */
  @ApiPropertyOptional({ enum: OUTPUT_CODECS })
  @IsOptional()
  @IsIn(OUTPUT_CODECS)
  codec?: OutputCodec;

  /** MP3/OGG bitrate in kbit/s. @example 192 */
  @ApiPropertyOptional({ minimum: BITRATE_KBPS_MIN, maximum: BITRATE_KBPS_MAX })
  @OptionalInt(BITRATE_KBPS_MIN, BITRATE_KBPS_MAX)
  bitrate?: number;

  /** WAV: 16/24-bit integer or 32-bit float; FLAC: 16 or 24. */
  @ApiPropertyOptional({ enum: [16, 24, 32] })
  @IsOptional()
  @Transform(toNumber)
  @IsIn([16, 24, 32])
  bitDepth?: 16 | 24 | 32;

  /** Output sample rate in Hz. Default: the input's rate. */
  @ApiPropertyOptional({ minimum: 8000, maximum: 192000 })
  @OptionalInt(8000, 192000)
  sampleRate?: number;

  /** Start of the excerpt to separate, in seconds. @example 0 */
  @ApiPropertyOptional({ minimum: 0 })
  @OptionalNumber(0, MAX_OFFSET_SECONDS)
  offset?: number;

  /** Length of the excerpt in seconds. Default: to the end. */
  @ApiPropertyOptional({ exclusiveMinimum: true, minimum: 0 })
  @IsOptional()
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(MAX_OFFSET_SECONDS)
  duration?: number;

  /** Multichannel Wiener filtering (Spleeter `--mwf`). */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  mwf?: boolean;

  /** 'model': silence above the model's bandwidth (Spleeter); 'full': keep the whole spectrum. */
  @ApiPropertyOptional({ enum: ['model', 'full'], default: 'model' })
  @IsOptional()
  @IsIn(['model', 'full'])
  bandwidth?: 'model' | 'full';

  /**
   * MDX-Net models only: chunk overlap. 'default' = UVR's (chunks every chunk − n_fft samples, Hann
   * cross-fade); a number is the fraction of a chunk shared with the next (0.25 = python-audio-separator).
   * Other models refuse it (422 OPTION_NOT_SUPPORTED).
   * @example 0.5
   */
  @ApiPropertyOptional({
    oneOf: [
      { type: 'string', enum: ['default'] },
      { type: 'number', minimum: 0, maximum: MDX_MAX_OVERLAP },
    ],
    default: 'default',
  })
  @IsOptional()
  @Transform(toMdxOverlap)
  @ValidateBy({
    name: 'isMdxOverlap',
    validator: { validate: (v: unknown) => isMdxOverlap(v), defaultMessage: () => MDX_OVERLAP_RULE },
  })
  overlap?: MdxOverlap;

  /**
   * MDX-Net models only: UVR denoise, the average of model(x) and −model(−x) (twice the inference). Other
   * models refuse it (422 OPTION_NOT_SUPPORTED).
   */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  denoise?: boolean;

  /** Before the network: DC removal (5 Hz high-pass). Default: `audio.enable_preprocessing` (false). */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  preprocess?: boolean;

  /**
   * Before the network: a 4th-order Butterworth high-pass at this corner, Hz (with DC removal). Default:
   * `audio.highpass_hz` (none).
   * @example 80
   */
  @ApiPropertyOptional({ minimum: 10, maximum: 500 })
  @OptionalNumber(10, 500)
  highpassHz?: number;

  /**
   * Before the network: spectral-gating noise reduction, the noise profile estimated from the input's
   * quietest passages (one extra decoding pass; with DC removal). Default: `audio.noise_reduction` (false).
   */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  noiseReduction?: boolean;

  /**
   * Write the input's tags into the stems, the stem name added to the title ("Song (vocals)"; an untitled
   * input: the stem name), and its JPEG/PNG cover art into MP3/FLAC stems. `false`: bare files.
   */
  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  tags?: boolean;

  /**
   * Loudness (BS.1770 integrated, LRA, true/sample peak), silent ranges and an `empty` flag of the input and
   * of every stem in the job JSON (`analysis`, `stems[].analysis`), measured while separating. Silence
   * settings: `audio.silence_threshold_db`, `audio.silence_min_duration_s`.
   */
  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  analysis?: boolean;

  /**
   * Before the network: the input brought to `targetLufs` (BS.1770); stems scaled back by the inverse gain so
   * they still sum to the original mixture. Default: `audio.normalize_loudness` (false).
   */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  normalizeLoudness?: boolean;

  /** Target of `normalizeLoudness`, LUFS. Default: `audio.target_lufs` (−14). @example -14 */
  @ApiPropertyOptional({ minimum: -70, maximum: 0 })
  @OptionalNumber(-70, 0)
  targetLufs?: number;

  /** @example https://example.com/hooks/spleeter */
  @ApiPropertyOptional({
    description:
      'When set, the final job JSON is POSTed here, signed with HMAC-SHA256 in `X-Spleeter-Signature` ' +
      '(`t=<unix>,v1=<hex hmac of "<t>.<body>">`), retried with backoff. Must resolve to a public address.',
    maxLength: 2048,
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  @IsUrl({ require_protocol: true, protocols: ['http', 'https'], require_tld: false })
  callbackUrl?: string;
}

export class SeparationCreateDto extends SeparationOptionsDto {}

export class SeparationBatchCreateDto extends SeparationOptionsDto {}

/** Documentation only: the multipart body of POST /v1/separations. */
export class SeparationUploadDto extends SeparationCreateDto {
  /** The audio file. Its format is detected from its content. */
  @ApiProperty({ type: 'string', format: 'binary' })
  file!: unknown;
}

/** Documentation only: the multipart body of POST /v1/separations/batch. */
export class SeparationBatchUploadDto extends SeparationBatchCreateDto {
  /** The audio files (repeat the field). */
  @ApiProperty({ type: 'array', items: { type: 'string', format: 'binary' } })
  files!: unknown[];
}
