import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { StatsResponseDto } from '../dto/stats-response.dto';
import { StatsService } from './stats.service';

@ApiTags('monitoring')
@Controller('v1/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({ summary: 'Processing statistics, system health and active alerts of this instance.' })
  @ApiOkResponse({ type: StatsResponseDto })
  summary(): Promise<StatsResponseDto> {
    return this.stats.summary();
  }
}
