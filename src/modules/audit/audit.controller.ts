import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal } from '../../common/auth/principal';
import { Roles } from '../../common/decorators/roles.decorator';
import { ApiProblemResponses } from '../../common/decorators/api-problem-responses.decorator';
import { AuditAction } from '../../common/decorators/audit-route';
import { AuditService } from './audit.service';
import {
  AuditFilterQueryDto,
  AuditPageResponseDto,
  AuditPruneDto,
  AuditPruneResponseDto,
  AuditQueryDto,
  AuditVerifyResponseDto,
  toAuditEventResponse,
  toFilter,
} from './dto/audit.dto';

@ApiTags('admin: audit')
@ApiProblemResponses(401, 403)
@Roles('admin')
@Controller('v1/admin/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @AuditAction('audit.query', { resourceType: 'audit' })
  @ApiOperation({ summary: 'Audit events, newest first, with filters and cursor pagination' })
  @ApiOkResponse({ type: AuditPageResponseDto })
  @ApiProblemResponses(422)
  async find(@Query() q: AuditQueryDto): Promise<AuditPageResponseDto> {
    const page = await this.audit.find(toFilter(q), q.cursor, q.limit ?? 100);
    return { items: page.items.map(toAuditEventResponse), nextCursor: page.nextCursor };
  }

  @Get('export')
  @AuditAction('audit.export', { resourceType: 'audit' })
  @ApiProduces('application/x-ndjson')
  @ApiOperation({ summary: 'Matching audit events as NDJSON, oldest first (streamed)' })
  @ApiOkResponse({
    description:
      'One AuditEventResponseDto JSON object per line (`Content-Disposition: attachment; filename="audit.ndjson"`).',
    content: {
      'application/x-ndjson': {
        schema: { type: 'string' },
        example: '{"id":1,"action":"apikey.create","outcome":"success",…}\n{"id":2,…}\n',
      },
    },
  })
  @ApiProblemResponses(422)
  async export(@Query() q: AuditFilterQueryDto, @Res() res: Response): Promise<void> {
    res.status(200).type('application/x-ndjson');
    res.setHeader('Content-Disposition', 'attachment; filename="audit.ndjson"');
    try {
      for await (const e of this.audit.stream(toFilter(q))) {
        if (!res.write(`${JSON.stringify(toAuditEventResponse(e))}\n`)) {
          await new Promise<void>((resolve) => res.once('drain', resolve));
        }
        if (res.destroyed) return;
      }
      res.end();
    } catch (err) {
      // Headers are gone: cut the stream so the client sees a truncated download, not a clean end.
      res.destroy(err as Error);
    }
  }

  @Get('verify')
  @AuditAction('audit.verify', { resourceType: 'audit' })
  @ApiOperation({ summary: 'Re-check the hash chain; reports the first broken link' })
  @ApiOkResponse({ type: AuditVerifyResponseDto })
  verify(): Promise<AuditVerifyResponseDto> {
    return this.audit.verify();
  }

  @Post('prune')
  @HttpCode(200)
  @AuditAction('audit.prune_request', { resourceType: 'audit' })
  @ApiOperation({ summary: 'Delete events older than N days now (retention does this on a timer too)' })
  @ApiOkResponse({ type: AuditPruneResponseDto })
  @ApiProblemResponses(422)
  async prune(
    @Body() dto: AuditPruneDto,
    @CurrentPrincipal() actor: Principal,
  ): Promise<AuditPruneResponseDto> {
    const { deleted, anchor } = await this.audit.prune(dto.olderThanDays, actor);
    return { deleted, anchor };
  }
}
