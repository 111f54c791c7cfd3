import { Controller, Get, HttpStatus, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
} from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../../../common/decorators/public.decorator';
import { scrubPathsDeep } from '../../../core/scrub-paths';
import { HealthCheckResponseDto } from '../dto/health-response.dto';
import { EventLoopMonitor } from './event-loop-monitor';
import { ReadinessChecks } from './readiness-checks.service';

/** Beyond this the process is wedged (a blocked event loop), not merely busy: let Kubernetes restart it. */
const LIVENESS_MAX_EVENT_LOOP_DELAY_MS = 10_000;

/**
 * Kubernetes probes. Liveness is cheap (the event loop answers, and has not been blocked for
 * long); readiness checks the dependencies and answers 503 with per-check details when one fails
 * and from the moment shutdown begins.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly loop: EventLoopMonitor,
    private readonly readiness: ReadinessChecks,
  ) {}

  @Get('live')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: the process serves requests and its event loop is not wedged.' })
  @ApiResponse({ status: 200, description: 'Alive', type: HealthCheckResponseDto })
  @ApiResponse({
    status: 503,
    description: 'The event loop was blocked for too long',
    type: HealthCheckResponseDto,
  })
  live(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    return this.answer(res, [
      async () => {
        const s = this.indicator.check('eventLoop');
        const delay = this.loop.delay();
        const details = { p99DelayMs: round(delay.p99Ms), maxDelayMs: round(delay.maxMs) };
        return delay.maxMs > LIVENESS_MAX_EVENT_LOOP_DELAY_MS ? s.down(details) : s.up(details);
      },
    ]);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary:
      'Readiness: database, Redis (when configured), free disk, models directory and a loadable model, queue not saturated, not shutting down.',
  })
  @ApiResponse({ status: 200, description: 'Ready; `info` holds each check', type: HealthCheckResponseDto })
  @ApiResponse({
    status: 503,
    description: 'Not ready; `error` names the failing checks',
    type: HealthCheckResponseDto,
  })
  ready(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    return this.answer(res, this.readiness.all());
  }

  /** Terminus throws a 503 carrying the result; answer it as the body instead of a bare problem. */
  private async answer(
    res: Response,
    checks: Parameters<HealthCheckService['check']>[0],
  ): Promise<HealthCheckResult> {
    res.setHeader('Cache-Control', 'no-store');
    // The probes are public: a dependency's error message must not tell where the server keeps files.
    try {
      return scrubPathsDeep(await this.health.check(checks));
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return scrubPathsDeep(err.getResponse() as HealthCheckResult);
    }
  }
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
