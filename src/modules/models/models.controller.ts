import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponses } from '../../common/decorators/api-problem-responses.decorator';
import { ModelListQueryDto } from './dto/model-request.dto';
import { ModelListResponseDto, ModelResponseDto } from './dto/model-response.dto';
import { ModelsService } from './models.service';

@ApiTags('models')
@ApiProblemResponses(401)
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({ summary: 'Installed and available models with their stems, versions and active version' })
  @ApiOkResponse({ type: ModelListResponseDto })
  @ApiProblemResponses(422)
  list(@Query() query: ModelListQueryDto): Promise<ModelListResponseDto> {
    return this.models.list(query.installed === true);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One model, e.g. spleeter:4stems (404 MODEL_NOT_INSTALLED when unknown)' })
  @ApiParam({ name: 'name', description: 'Model name or alias', example: 'spleeter:4stems' })
  @ApiOkResponse({ type: ModelResponseDto })
  @ApiProblemResponses(404)
  get(@Param('name') name: string): Promise<ModelResponseDto> {
    return this.models.get(name);
  }
}
