import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../../common/auth/principal';
import { Roles } from '../../common/decorators/roles.decorator';
import { AuditAction } from '../../common/decorators/audit-route';
import { ApiProblemResponses } from '../../common/decorators/api-problem-responses.decorator';
import { ApiKeysService } from './api-keys.service';
import {
  ApiKeyCreateDto,
  ApiKeyCreatedResponseDto,
  ApiKeyListResponseDto,
  ApiKeyResponseDto,
  toApiKeyResponse,
} from './dto/api-key.dto';

const ID_PARAM = { name: 'id', description: 'API key id (16 hex digits)', example: '0123456789abcdef' };

@ApiTags('admin: api keys')
@ApiProblemResponses(401, 403)
@Roles('admin')
@Controller('v1/admin/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @AuditAction('apikey.create', { resourceType: 'apikey' })
  @ApiOperation({ summary: 'Create an API key; the secret is in this response only' })
  @ApiCreatedResponse({ type: ApiKeyCreatedResponseDto })
  @ApiProblemResponses(422)
  async create(
    @Body() dto: ApiKeyCreateDto,
    @CurrentPrincipal() actor: Principal,
  ): Promise<ApiKeyCreatedResponseDto> {
    const { key, token } = await this.keys.create(
      { name: dto.name, role: dto.role ?? 'user', expiresAt: dto.expiresAt ? new Date(dto.expiresAt) : null },
      actor,
    );
    return { ...toApiKeyResponse(key), key: token };
  }

  @Get()
  @AuditAction('apikey.list', { resourceType: 'apikey' })
  @ApiOperation({ summary: 'All API keys (secrets are never returned)' })
  @ApiOkResponse({ type: ApiKeyListResponseDto })
  async list(): Promise<ApiKeyListResponseDto> {
    return { items: (await this.keys.list()).map((k) => toApiKeyResponse(k)) };
  }

  @Get(':id')
  @AuditAction('apikey.read', { resourceType: 'apikey' })
  @ApiOperation({ summary: 'One API key (404 API_KEY_NOT_FOUND when unknown)' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: ApiKeyResponseDto })
  @ApiProblemResponses(404)
  async get(@Param('id') id: string): Promise<ApiKeyResponseDto> {
    return toApiKeyResponse(await this.keys.get(id));
  }

  @Delete(':id')
  @HttpCode(200)
  @AuditAction('apikey.revoke', { resourceType: 'apikey' })
  @ApiOperation({ summary: 'Revoke a key (effective on the next request; idempotent)' })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: ApiKeyResponseDto, description: 'The key, now with status `revoked`' })
  @ApiProblemResponses(404)
  async revoke(@Param('id') id: string, @CurrentPrincipal() actor: Principal): Promise<ApiKeyResponseDto> {
    return toApiKeyResponse(await this.keys.revoke(id, actor));
  }
}
