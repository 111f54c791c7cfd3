import { ApiProperty } from '@nestjs/swagger';

/** RFC 7807 body of every error (`application/problem+json`). */
export class ProblemDetailsDto {
  /** @example https://spleeter-server.dev/problems/job-not-found */
  type!: string;
  @ApiProperty({ example: 'Not Found' })
  title!: string;
  /** @example 404 */
  status!: number;
  /** Stable machine-readable error code. @example JOB_NOT_FOUND */
  code!: string;
  @ApiProperty({ example: 'No separation job 5f0c…' })
  detail!: string;
  /** @example /v1/separations/5f0c… */
  instance?: string;
  /** The request id (also in X-Request-Id). */
  requestId?: string;
  /** Only on 500: quote it when reporting the problem. */
  errorId?: string;
  /** Validation messages (VALIDATION_FAILED). */
  errors?: string[];
  /** QUEUE_FULL / QUEUE_UNAVAILABLE / SHUTTING_DOWN: also sent as Retry-After. */
  retryAfterSeconds?: number;
  /** The limit that was exceeded (FILE_TOO_LARGE, DURATION_LIMIT, QUEUE_FULL). */
  limit?: number;
  /** The offending request field. */
  field?: string;
  /** Valid values (UNKNOWN_STEM). */
  available?: string[];
}
