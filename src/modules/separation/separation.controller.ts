import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  Sse,
  UseInterceptors,
  type MessageEvent,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';
import { CurrentPrincipal, type Principal } from '../../common/auth/principal';
import {
  SeparationBatchCreateDto,
  SeparationBatchUploadDto,
  SeparationCreateDto,
  SeparationUploadDto,
} from './dto/separation-create.dto';
import {
  SeparationListQueryDto,
  SeparationWaitQueryDto,
  StemDownloadQueryDto,
} from './dto/separation-query.dto';
import {
  BatchResponseDto,
  SeparationListResponseDto,
  SeparationResponseDto,
} from './dto/separation-response.dto';
import { ApiProblemResponses } from '../../common/decorators/api-problem-responses.decorator';
import {
  BatchAudioUploadInterceptor,
  SingleAudioUploadInterceptor,
  UploadedAudioFiles,
} from './http/audio-upload.interceptor';
import { RequestId } from './http/request-id.decorator';
import { sendDownload } from './http/send-download';
import { SeparationDownloadService } from './separation-download.service';
import { SeparationStreamService } from './separation-stream.service';
import { SeparationService, type UploadedAudio } from './separation.service';
import { isTerminal } from './separation-status';

const AUDIO_TYPES = ['audio/wav', 'audio/flac', 'audio/mpeg', 'audio/ogg'];
const binary = { schema: { type: 'string', format: 'binary' } };
const ID_PARAM = { name: 'id', description: 'Separation job id (UUID).', format: 'uuid' } as const;

@ApiTags('separations')
@Controller('v1/separations')
export class SeparationController {
  constructor(
    private readonly separations: SeparationService,
    private readonly streams: SeparationStreamService,
    private readonly downloads: SeparationDownloadService,
  ) {}

  @Post()
  @UseInterceptors(SingleAudioUploadInterceptor)
  @ApiOperation({
    summary: 'Separate an audio file',
    description:
      'Uploads one audio file (multipart `file`) and queues its separation. Answers 202 with the job; poll ' +
      '`links.self`, follow `links.events` (SSE), or pass `?wait=<seconds>` to get 200 with the finished job ' +
      'when it completes in time. The format is detected from the content, never from the name or Content-Type.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: SeparationUploadDto })
  @ApiAcceptedResponse({
    type: SeparationResponseDto,
    description: 'Queued (or still running after `wait`).',
    headers: { Location: { description: 'The job URL.', schema: { type: 'string' } } },
  })
  @ApiOkResponse({
    type: SeparationResponseDto,
    description: 'Finished within `wait` seconds (or served from the cache).',
  })
  @ApiProblemResponses(404, 413, 415, 422, 503)
  async create(
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
    @UploadedAudioFiles() files: UploadedAudio[],
    @Body() dto: SeparationCreateDto,
    @Query() query: SeparationWaitQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SeparationResponseDto> {
    const created = await this.separations.create({ principal, requestId }, files[0], dto);
    const job = query.wait ? await this.streams.waitFor(principal, created.id, query.wait) : created;
    res.status(isTerminal(job.status) ? 200 : 202).setHeader('Location', job.links.self);
    return job;
  }

  @Post('batch')
  @HttpCode(202)
  @UseInterceptors(BatchAudioUploadInterceptor)
  @ApiOperation({
    summary: 'Separate several files with the same options',
    description:
      'All files are checked before any job is created: one bad file rejects the batch (the problem names it in `field`).',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: SeparationBatchUploadDto })
  @ApiAcceptedResponse({ type: BatchResponseDto })
  @ApiProblemResponses(404, 413, 415, 422, 503)
  createBatch(
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
    @UploadedAudioFiles() files: UploadedAudio[],
    @Body() dto: SeparationBatchCreateDto,
  ): Promise<BatchResponseDto> {
    return this.separations.createBatch({ principal, requestId }, files, dto);
  }

  @Get()
  @ApiOperation({
    summary: "List the caller's jobs",
    description: 'Newest first, cursor-paginated (`nextCursor`).',
  })
  @ApiOkResponse({ type: SeparationListResponseDto })
  @ApiProblemResponses(422)
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: SeparationListQueryDto,
  ): Promise<SeparationListResponseDto> {
    return this.separations.list(principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a job: status, progress, queue position, timings, stems' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: SeparationResponseDto })
  @ApiProblemResponses(404)
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<SeparationResponseDto> {
    return this.separations.get(principal, id);
  }

  @Sse(':id/events')
  @ApiOperation({
    summary: 'Follow a job with server-sent events',
    description:
      'Events: `status` (the job now), `progress` (`{id, status, progress, stage}`), then one of ' +
      '`succeeded` / `failed` / `canceled` with the full job, and the stream ends. `ping` every 15 s.',
  })
  @ApiParam(ID_PARAM)
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'An event stream; each `data:` line is JSON (the job, or a progress object).',
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          example:
            'event: progress\ndata: {"id":"…","status":"running","progress":42,"stage":"inference"}\n\n',
        },
      },
    },
  })
  @ApiProblemResponses(404)
  events(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<Observable<MessageEvent>> {
    return this.streams.events(principal, id);
  }

  @Get(':id/stems/:stem')
  @ApiOperation({
    summary: 'Download one stem',
    description:
      'Streams the stored file with Content-Length, ETag, Last-Modified and single-range support (206). ' +
      '`?codec=` transcodes on the fly (no length, no ranges).',
  })
  @ApiParam(ID_PARAM)
  @ApiParam({ name: 'stem', description: 'Stem name, e.g. `vocals`.' })
  @ApiProduces(...AUDIO_TYPES)
  @ApiOkResponse({
    description: 'The whole file.',
    content: Object.fromEntries(AUDIO_TYPES.map((t) => [t, binary])),
  })
  @ApiResponse({
    status: 206,
    description: 'The requested byte range.',
    content: Object.fromEntries(AUDIO_TYPES.map((t) => [t, binary])),
  })
  @ApiResponse({ status: 304, description: 'Not modified (If-None-Match matched).' })
  @ApiProblemResponses(404, 409, 410, 416, 422)
  async stem(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Param('stem') stem: string,
    @Query() query: StemDownloadQueryDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await sendDownload(req, res, await this.downloads.stem(principal, id, stem, query));
  }

  @Get(':id/archive')
  @ApiOperation({
    summary: 'Download all stems as one zip',
    description: 'Streamed (stored entries), with Content-Length.',
  })
  @ApiParam(ID_PARAM)
  @ApiProduces('application/zip')
  @ApiOkResponse({
    description: 'A zip with `<stem>.<codec>` entries.',
    content: { 'application/zip': binary },
  })
  @ApiProblemResponses(404, 409, 410)
  async archive(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await sendDownload(req, res, await this.downloads.archive(principal, id));
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Cancel a job and delete its files',
    description:
      'A queued job is dropped; a running one stops at the next segment. Either becomes `canceled`. ' +
      'On a finished job this deletes its files. Answers the job as it now stands.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: SeparationResponseDto })
  @ApiProblemResponses(404)
  cancel(
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string | undefined,
    @Param('id') id: string,
  ): Promise<SeparationResponseDto> {
    return this.separations.cancel({ principal, requestId }, id);
  }
}
