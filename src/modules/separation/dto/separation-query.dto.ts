import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import type { OutputCodec } from '../../../engine/types';
import { BITRATE_KBPS_MAX, BITRATE_KBPS_MIN, OUTPUT_CODECS } from '../../../core/audio/audio-codec';
import { SeparationStatus } from '../separation-status';
import { OptionalInt, toStringList } from './transforms';

export const MAX_WAIT_SECONDS = 300;

export class SeparationWaitQueryDto {
  @ApiPropertyOptional({
    description: `Wait up to this many seconds for the job to finish: 200 with the finished job, else 202. Max ${MAX_WAIT_SECONDS}.`,
    minimum: 0,
    maximum: MAX_WAIT_SECONDS,
  })
  @OptionalInt(0, MAX_WAIT_SECONDS)
  wait?: number;
}

export class SeparationListQueryDto {
  /** Only jobs in these statuses (comma-separated or repeated). */
  @ApiPropertyOptional({ isArray: true, enum: SeparationStatus })
  @IsOptional()
  @Transform(toStringList)
  @IsArray()
  @ArrayMaxSize(5)
  @IsIn(Object.values(SeparationStatus), { each: true })
  status?: SeparationStatus[];

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @OptionalInt(1, 100)
  limit?: number;

  /** The `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is malformed' })
  cursor?: string;
}

export class StemDownloadQueryDto {
  /** Transcode on the fly to this codec (streamed, no Content-Length or Range). Default: the stored file. */
  @ApiPropertyOptional({ enum: OUTPUT_CODECS })
  @IsOptional()
  @IsIn(OUTPUT_CODECS)
  codec?: OutputCodec;

  /** Bitrate in kbit/s when transcoding to mp3/ogg. */
  @ApiPropertyOptional({ minimum: BITRATE_KBPS_MIN, maximum: BITRATE_KBPS_MAX })
  @OptionalInt(BITRATE_KBPS_MIN, BITRATE_KBPS_MAX)
  bitrate?: number;
}
