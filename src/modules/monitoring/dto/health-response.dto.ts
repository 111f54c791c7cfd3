import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/**
 * Terminus' HealthCheckResult as the probes return it (both on 200 and on 503). The check maps are
 * keyed by check name (`database`, `redis`, `disk`, `models`, `queue`, `cache`, `shutdown`,
 * `eventLoop`); each value is `{ status: 'up' | 'down', ...details }`.
 */
const CHECK_MAP: { type: 'object'; additionalProperties: SchemaObject } = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

export class HealthCheckResponseDto {
  /** `ok` with 200; `error` (a check is down) or `shutting_down` with 503 */
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] })
  status!: 'ok' | 'error' | 'shutting_down';

  @ApiPropertyOptional({
    ...CHECK_MAP,
    description: 'Checks that are up',
    example: { database: { status: 'up' } },
  })
  info?: Record<string, unknown>;

  @ApiPropertyOptional({
    ...CHECK_MAP,
    description: 'Checks that are down, with a `message`',
    example: { queue: { status: 'down', message: 'queue is saturated' } },
  })
  error?: Record<string, unknown>;

  @ApiProperty({
    ...CHECK_MAP,
    description: 'Every check',
    example: { database: { status: 'up' }, queue: { status: 'down', message: 'queue is saturated' } },
  })
  details!: Record<string, unknown>;
}
