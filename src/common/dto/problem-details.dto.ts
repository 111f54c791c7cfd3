import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** RFC 7807 body of every error (`application/problem+json`). */
export class ProblemDetailsDto {
  @ApiProperty({ example: 'https://spleeter-server.dev/problems/job-not-found' })
  type!: string;
  @ApiProperty({ example: 'Not Found' })
  title!: string;
  @ApiProperty({ example: 404 })
  status!: number;
  @ApiProperty({
    description: 'Stable machine-readable error code.',
    example: 'JOB_NOT_FOUND',
  })
  code!: string;
  @ApiProperty({ example: 'No separation job 5f0c…' })
  detail!: string;
  @ApiPropertyOptional({ example: '/v1/separations/5f0c…' })
  instance?: string;
  @ApiPropertyOptional({ description: 'The request id (also in X-Request-Id).' })
  requestId?: string;
  @ApiPropertyOptional({ description: 'Only on 500: quote it when reporting the problem.' })
  errorId?: string;
  @ApiPropertyOptional({ type: [String], description: 'Validation messages (VALIDATION_FAILED).' })
  errors?: string[];
  @ApiPropertyOptional({
    description: 'QUEUE_FULL / QUEUE_UNAVAILABLE / SHUTTING_DOWN: also sent as Retry-After.',
  })
  retryAfterSeconds?: number;
  @ApiPropertyOptional({
    description: 'The limit that was exceeded (FILE_TOO_LARGE, DURATION_LIMIT, QUEUE_FULL).',
  })
  limit?: number;
  @ApiPropertyOptional({ description: 'The offending request field.' })
  field?: string;
  @ApiPropertyOptional({ type: [String], description: 'Valid values (UNKNOWN_STEM).' })
  available?: string[];
}
