import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../../common/auth/principal';
import { Roles } from '../../common/decorators/roles.decorator';
import { AuditAction } from '../audit/audit-route';
import { ApiKeysService } from './api-keys.service';
import {
  ApiKeyCreateDto,
  ApiKeyCreatedResponseDto,
  ApiKeyListResponseDto,
  ApiKeyResponseDto,
  toApiKeyResponse,
} from './dto/api-key.dto';

@ApiTags('admin: api keys')
@Roles('admin')
@Controller('v1/admin/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @AuditAction('apikey.create', { resourceType: 'apikey' })
  @ApiOperation({ summary: 'Create an API key; the secret is in this response only' })
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
  async list(): Promise<ApiKeyListResponseDto> {
    return { items: (await this.keys.list()).map((k) => toApiKeyResponse(k)) };
  }

  @Get(':id')
  @AuditAction('apikey.read', { resourceType: 'apikey' })
  async get(@Param('id') id: string): Promise<ApiKeyResponseDto> {
    return toApiKeyResponse(await this.keys.get(id));
  }

  @Delete(':id')
  @HttpCode(200)
  @AuditAction('apikey.revoke', { resourceType: 'apikey' })
  @ApiOperation({ summary: 'Revoke a key (effective on the next request; idempotent)' })
  async revoke(@Param('id') id: string, @CurrentPrincipal() actor: Principal): Promise<ApiKeyResponseDto> {
    return toApiKeyResponse(await this.keys.revoke(id, actor));
  }
}
