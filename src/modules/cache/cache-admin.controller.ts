import { Controller, Delete, Get, HttpCode, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../../common/auth/principal';
import { Roles } from '../../common/decorators/roles.decorator';
import { CacheService } from './cache.service';
import { CacheClearQueryDto } from './dto/cache-clear-query.dto';
import {
  CacheClearResponseDto,
  CacheStatsResponseDto,
  toCacheStatsResponse,
} from './dto/cache-stats-response.dto';

@ApiTags('admin')
@Roles('admin')
@Controller('v1/admin/cache')
export class CacheAdminController {
  constructor(private readonly cache: CacheService) {}

  @Get('stats')
  @ApiOperation({ summary: 'Result cache statistics per tier (hits, misses, bytes, entries, evictions).' })
  @ApiOkResponse({ type: CacheStatsResponseDto })
  stats(): CacheStatsResponseDto {
    return toCacheStatsResponse(this.cache.getCacheStats(), this.cache.enabled);
  }

  @Delete()
  @HttpCode(200)
  @ApiOperation({ summary: 'Clears the result cache: everything, one model, and/or one tier.' })
  @ApiOkResponse({ type: CacheClearResponseDto })
  async clear(
    @Query() query: CacheClearQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CacheClearResponseDto> {
    return { removed: await this.cache.clear({ model: query.model, level: query.level }, principal) };
  }
}
