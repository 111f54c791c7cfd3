import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../../common/auth/principal';
import { BatchResponseDto } from './dto/separation-response.dto';
import { ApiProblemResponses } from '../../common/decorators/api-problem-responses.decorator';
import { SeparationService } from './separation.service';

@ApiTags('separations')
@Controller('v1/batches')
export class BatchesController {
  constructor(private readonly separations: SeparationService) {}

  @Get(':id')
  @ApiOperation({ summary: 'Get a batch with its jobs' })
  @ApiParam({ name: 'id', description: 'Batch id (UUID).', format: 'uuid' })
  @ApiOkResponse({ type: BatchResponseDto })
  @ApiProblemResponses(404)
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<BatchResponseDto> {
    return this.separations.getBatch(principal, id);
  }
}
