import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ProblemDetailsDto } from '../dto/problem-details.dto';

/** Default descriptions of the error statuses this API uses (with the codes that produce them). */
const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request.',
  401: 'Missing or invalid credentials.',
  403: 'Not allowed.',
  404: 'Not found (`JOB_NOT_FOUND`, `MODEL_NOT_INSTALLED`, `FILE_NOT_FOUND`).',
  409: 'Conflict with the job state (`JOB_NOT_READY`).',
  410: 'The files were deleted (`RESULT_EXPIRED`).',
  413: 'Upload too large (`FILE_TOO_LARGE`).',
  415: 'Not an accepted audio format, judged by content (`UNSUPPORTED_AUDIO`).',
  416: 'Range outside the file (`RANGE_NOT_SATISFIABLE`); `Content-Range: bytes */<size>` is sent.',
  422: 'Invalid request (`VALIDATION_FAILED`, `UNKNOWN_STEM`, `OPTION_NOT_SUPPORTED`, `DURATION_LIMIT`, `EMPTY_AUDIO`, `CORRUPT_AUDIO`, `CALLBACK_URL_REJECTED`, `MEMORY_LIMIT`: the estimated engine memory exceeds `performance.memory_limit_mb`).',
  429: 'Too many requests (`RATE_LIMITED`); see Retry-After.',
  500: 'Internal error (`INTERNAL`, with an `errorId`).',
  503: 'Queue full (`QUEUE_FULL`), queue back-end unreachable (`QUEUE_UNAVAILABLE`) or shutting down (`SHUTTING_DOWN`); see Retry-After.',
};

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
};

/** Documents error responses as RFC 7807 `application/problem+json` bodies. */
export function ApiProblemResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDetailsDto),
    ...[...new Set([...statuses, 500])].map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error.',
        headers: status === 503 || status === 429 ? RETRY_AFTER : undefined,
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetailsDto) } } },
      }),
    ),
  );
}
