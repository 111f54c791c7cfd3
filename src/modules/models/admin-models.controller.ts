import {
  Body,
  Controller,
  createParamDecorator,
  Delete,
  type ExecutionContext,
  Get,
  HttpCode,
  MessageEvent,
  Param,
  Post,
  Res,
  Sse,
  UploadedFiles,
  UseInterceptors,
} from '@nestjs/common';
import { FilesInterceptor } from '@nestjs/platform-express';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { map, Observable } from 'rxjs';
import { principalOf, type Principal, type RequestWithPrincipal } from '../../common/auth/principal';
import { Roles } from '../../common/decorators/roles.decorator';
import { AuditAction } from '../../common/decorators/audit-route';
import { ApiProblemResponses } from '../../common/decorators/api-problem-responses.decorator';
import { requestIdOf } from '../../common/logging/request-id';
import { ModelInstallCreateDto, ModelUploadDto } from './dto/model-request.dto';
import {
  InstallOperationResponseDto,
  ModelRemoveResponseDto,
  ModelResponseDto,
  ValidationReportResponseDto,
} from './dto/model-response.dto';
import { ModelsService, type CallContext } from './models.service';

type Req_ = Request & { id?: string };
const ctxOf = (principal: Principal, req: Req_) => ({ principal, requestId: requestIdOf(req) });

const NAME_PARAM = { name: 'name', description: 'Model name or alias', example: 'spleeter:4stems' };
const VERSION_PARAM = { name: 'version', description: 'Version id', example: 'v2' };
const INSTALL_ID_PARAM = { name: 'id', description: 'Install operation id' };
const VALIDATION_REPORT = {
  type: ValidationReportResponseDto,
  description: 'The report; `valid` false when a check failed',
};

/** `{ principal, requestId }` of the call, which the service records in the audit trail. */
const CallCtx = createParamDecorator((_data: unknown, ctx: ExecutionContext) => {
  const req = ctx.switchToHttp().getRequest<Req_ & RequestWithPrincipal>();
  return ctxOf(principalOf(req), req);
});

@ApiTags('admin: models')
@ApiProblemResponses(401, 403)
@Roles('admin')
@Controller('v1/admin/models')
export class AdminModelsController {
  constructor(private readonly models: ModelsService) {}

  @Post()
  @HttpCode(201)
  @UseInterceptors(FilesInterceptor('files', 16))
  @ApiConsumes('multipart/form-data')
  @AuditAction('model.upload', { resourceType: 'model' })
  @ApiOperation({
    summary: 'Upload a custom ONNX model (fields: manifest JSON, files[]); validated before it is used',
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['manifest', 'files'],
      properties: {
        manifest: {
          type: 'string',
          description:
            'JSON manifest: name, kind (spleeter|mdx), stems, sample_rate, spleeter{F,architecture,…,files} or mdx{…}',
        },
        activate: { type: 'boolean', default: true },
        files: { type: 'array', maxItems: 16, items: { type: 'string', format: 'binary' } },
      },
    },
  })
  @ApiCreatedResponse({ type: ModelResponseDto, description: 'The model with the new version' })
  @ApiProblemResponses(409, 413, 422)
  upload(
    @Body() dto: ModelUploadDto,
    @UploadedFiles() files: Express.Multer.File[] | undefined,
    @CallCtx() ctx: CallContext,
  ): Promise<ModelResponseDto> {
    return this.models.upload(dto.manifest, files ?? [], dto.activate, ctx);
  }

  @Get('installs/:id')
  @ApiOperation({ summary: 'State of an install operation' })
  @ApiParam(INSTALL_ID_PARAM)
  @ApiOkResponse({ type: InstallOperationResponseDto })
  @ApiProblemResponses(404)
  getInstall(@Param('id') id: string): InstallOperationResponseDto {
    return this.models.getInstall(id);
  }

  @Sse('installs/:id/events')
  @ApiOperation({
    summary: 'Server-sent events of an install operation: progress, then succeeded|failed|canceled',
  })
  @ApiParam(INSTALL_ID_PARAM)
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description:
      'Event stream; each `data:` line is an InstallOperationResponseDto (JSON), `event:` is progress|succeeded|failed|canceled.',
    content: {
      'text/event-stream': {
        schema: { type: 'string' },
        example:
          'event: progress\ndata: {"id":"…","status":"running","progress":{"stage":"download","fraction":0.4}}\n\n',
      },
    },
  })
  @ApiProblemResponses(404)
  installEvents(@Param('id') id: string): Observable<MessageEvent> {
    return this.models.installStream(id).pipe(
      map((op) => ({
        type: op.status === 'queued' || op.status === 'running' ? 'progress' : op.status,
        data: op,
      })),
    );
  }

  @Delete('installs/:id')
  @HttpCode(202)
  @AuditAction('model.install.cancel', { resourceType: 'model-install' })
  @ApiOperation({ summary: 'Cancel a running install (the partial download is kept for resume)' })
  @ApiParam(INSTALL_ID_PARAM)
  @ApiAcceptedResponse({ type: InstallOperationResponseDto })
  @ApiProblemResponses(404)
  cancelInstall(@Param('id') id: string): InstallOperationResponseDto {
    return this.models.cancelInstall(id);
  }

  @Post(':name/install')
  @HttpCode(202)
  @AuditAction('model.install', { resourceType: 'model', resourceIdParam: 'name' })
  @ApiAcceptedResponse({ type: InstallOperationResponseDto })
  @ApiOperation({
    summary: 'Download, verify, convert, validate and activate a catalog model (asynchronous)',
  })
  @ApiParam(NAME_PARAM)
  @ApiProblemResponses(404, 422)
  async install(
    @Param('name') name: string,
    @Body() dto: ModelInstallCreateDto,
    @CallCtx() ctx: CallContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<InstallOperationResponseDto> {
    const op = await this.models.startInstall(name, dto, ctx);
    res.setHeader('Location', op.links.self);
    return op;
  }

  @Post(':name/versions/:version/activate')
  @HttpCode(200)
  @AuditAction('model.activate', { resourceType: 'model', resourceIdParam: 'name' })
  @ApiOperation({ summary: 'Make a version the active one (rollback = activate the previous version)' })
  @ApiParam(NAME_PARAM)
  @ApiParam(VERSION_PARAM)
  @ApiOkResponse({ type: ModelResponseDto })
  @ApiProblemResponses(404, 422)
  activate(
    @Param('name') name: string,
    @Param('version') version: string,
    @CallCtx() ctx: CallContext,
  ): Promise<ModelResponseDto> {
    return this.models.activate(name, version, ctx);
  }

  @Post(':name/rollback')
  @HttpCode(200)
  @AuditAction('model.rollback', { resourceType: 'model', resourceIdParam: 'name' })
  @ApiOperation({ summary: 'Re-activate the previously active version' })
  @ApiParam(NAME_PARAM)
  @ApiOkResponse({ type: ModelResponseDto })
  @ApiProblemResponses(404, 409)
  rollback(@Param('name') name: string, @CallCtx() ctx: CallContext): Promise<ModelResponseDto> {
    return this.models.rollback(name, ctx);
  }

  @Post(':name/validate')
  @HttpCode(200)
  @AuditAction('model.validate', { resourceType: 'model', resourceIdParam: 'name' })
  @ApiOperation({ summary: 'Validate the active version: files, I/O signature, smoke inference' })
  @ApiParam(NAME_PARAM)
  @ApiOkResponse(VALIDATION_REPORT)
  @ApiProblemResponses(404)
  validateActive(
    @Param('name') name: string,
    @CallCtx() ctx: CallContext,
  ): Promise<ValidationReportResponseDto> {
    return this.models.validate(name, ctx);
  }

  @Post(':name/versions/:version/validate')
  @HttpCode(200)
  @AuditAction('model.validate', { resourceType: 'model', resourceIdParam: 'name' })
  @ApiOperation({ summary: 'Validate one version' })
  @ApiParam(NAME_PARAM)
  @ApiParam(VERSION_PARAM)
  @ApiOkResponse(VALIDATION_REPORT)
  @ApiProblemResponses(404)
  validateVersion(
    @Param('name') name: string,
    @Param('version') version: string,
    @CallCtx() ctx: CallContext,
  ): Promise<ValidationReportResponseDto> {
    return this.models.validate(`${name}@${version}`, ctx);
  }

  @Delete(':name/versions/:version')
  @HttpCode(200)
  @AuditAction('model.remove', { resourceType: 'model', resourceIdParam: 'name' })
  @ApiOperation({ summary: 'Delete a version (409 MODEL_IN_USE while a separation uses it)' })
  @ApiParam(NAME_PARAM)
  @ApiParam(VERSION_PARAM)
  @ApiOkResponse({ type: ModelRemoveResponseDto })
  @ApiProblemResponses(404, 409)
  removeVersion(
    @Param('name') name: string,
    @Param('version') version: string,
    @CallCtx() ctx: CallContext,
  ): Promise<ModelRemoveResponseDto> {
    return this.models.remove(name, version, ctx);
  }

  @Delete(':name')
  @HttpCode(200)
  @AuditAction('model.remove', { resourceType: 'model', resourceIdParam: 'name' })
  @ApiOperation({ summary: 'Delete every version of a model' })
  @ApiParam(NAME_PARAM)
  @ApiOkResponse({ type: ModelRemoveResponseDto })
  @ApiProblemResponses(404, 409)
  removeAll(@Param('name') name: string, @CallCtx() ctx: CallContext): Promise<ModelRemoveResponseDto> {
    return this.models.remove(name, undefined, ctx);
  }
}
