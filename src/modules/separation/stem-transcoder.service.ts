import type { Readable } from 'stream';
import { Injectable } from '@nestjs/common';
import { AudioProcessingError, ErrorCodes } from '../../core/errors';
import type { OutputCodec } from '../../engine/types';
import { EngineService } from '../engine/engine.service';

/** On-the-fly transcoding of a stored stem with the engine's ffmpeg, streamed from its stdout. */
@Injectable()
export class StemTranscoder {
  constructor(private readonly engine: EngineService) {}

  /** Errors if ffmpeg fails; destroying the stream (client went away) kills ffmpeg. */
  async transcode(inputPath: string, codec: OutputCodec, bitrateKbps: number): Promise<Readable> {
    const ffmpeg = await this.engine.getFfmpeg();
    if (!ffmpeg) {
      throw new AudioProcessingError(
        ErrorCodes.DECODER_UNAVAILABLE,
        `Transcoding to ${codec} needs ffmpeg: install ffmpeg or set SPLEETER_FFMPEG_PATH`,
        { codec },
      );
    }
    return ffmpeg.transcodeToStream(inputPath, codec, bitrateKbps);
  }
}
