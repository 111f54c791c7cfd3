import { Controller, HttpCode, Post, Res, UseInterceptors } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblemResponses } from '../../common/decorators/api-problem-responses.decorator';
import { AudioAnalysisService } from './audio-analysis.service';
import { AnalysisResponseDto } from './dto/analysis-response.dto';
import { SingleAudioUploadInterceptor, UploadedAudioFiles } from './http/audio-upload.interceptor';
import type { UploadedAudio } from './separation.service';

/** Documentation only: the multipart body of POST /v1/analyses. */
class AnalysisUploadDto {
  @ApiProperty({
    type: 'string',
    format: 'binary',
    description: 'The audio file; its format is detected from its content.',
  })
  file!: unknown;
}

@ApiTags('analyses')
@Controller('v1/analyses')
export class AnalysisController {
  constructor(private readonly analyses: AudioAnalysisService) {}

  @Post()
  @HttpCode(200)
  @UseInterceptors(SingleAudioUploadInterceptor)
  @ApiOperation({
    summary: 'Analyse an audio file',
    description:
      'Uploads one audio file (multipart `file`) and answers its technical data, tags, loudness (BS.1770-4 ' +
      'integrated, loudness range, true peak), silent ranges, tempo and key. Synchronous; nothing is stored.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: AnalysisUploadDto })
  @ApiOkResponse({ type: AnalysisResponseDto })
  @ApiProblemResponses(413, 415, 422, 503)
  analyze(
    @UploadedAudioFiles() files: UploadedAudio[],
    @Res({ passthrough: true }) res: Response,
  ): Promise<AnalysisResponseDto> {
    // A client that goes away before the answer stops the analysis.
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    return this.analyses.analyze(files[0], controller.signal);
  }
}
