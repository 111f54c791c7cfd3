import { Controller, Get, NotFoundException, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { Public } from '../../../common/decorators/public.decorator';
import { AppConfig } from '../../../infra/config/app-config';
import { ApiProblemResponses } from '../../../common/decorators/api-problem-responses.decorator';

/**
 * `/metrics` on the main port, when `monitoring.enabled` and `monitoring.metrics_public`. With
 * metrics_public=false the main port answers 404 and metrics are served only on
 * `monitoring.metrics_port`, a port the Service/Ingress does not expose (see MetricsServer).
 */
@ApiTags('monitoring')
@Public()
@Controller('metrics')
export class MetricsController extends PrometheusController {
  constructor(private readonly config: AppConfig) {
    super();
  }

  @Get()
  @ApiOperation({
    summary:
      'Prometheus metrics (text exposition format); 404 unless monitoring.enabled and monitoring.metrics_public',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition format 0.0.4',
    content: {
      'text/plain': {
        schema: { type: 'string' },
        example: '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n…',
      },
    },
  })
  @ApiProblemResponses(404)
  override async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    const m = this.config.monitoring;
    if (!m.enabled || !m.metrics_public) throw new NotFoundException();
    response.setHeader('Cache-Control', 'no-store');
    return super.index(response);
  }
}
