/**
 * RFC 7807 problems as the API sends them (`code` is stable, `detail` is for humans), plus the
 * page's own sentence for the codes people meet most, so an error says what to do next.
 */

export interface Problem {
  status: number;
  code: string;
  detail: string;
  title?: string;
  requestId?: string;
  retryAfterSeconds?: number;
  field?: string;
  errors?: unknown;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.code}: ${problem.detail}`);
    this.name = 'ApiError';
  }
  get code(): string {
    return this.problem.code;
  }
  get status(): number {
    return this.problem.status;
  }
}

const ADVICE: Record<string, string> = {
  UNAUTHENTICATED: 'The key was not accepted. Check it, or ask an admin for a new one, and sign in again.',
  FORBIDDEN: 'This needs the admin role; your key is a user key.',
  RATE_LIMITED: 'Too many requests for now. Wait a moment and try again.',
  QUOTA_EXCEEDED: 'Your quota is used up for now (concurrent jobs or audio minutes per day).',
  FILE_TOO_LARGE: 'The file is larger than the server accepts.',
  UNSUPPORTED_AUDIO: 'The file is not audio the server can read.',
  EMPTY_AUDIO: 'The file holds no audio samples.',
  DECODER_UNAVAILABLE: 'The server cannot decode this format (no ffmpeg); WAV always works.',
  CORRUPT_AUDIO: 'The file looks damaged: it could not be decoded.',
  DURATION_LIMIT: 'The audio is longer than the server allows.',
  MODEL_NOT_INSTALLED: 'That model is not installed on the server.',
  UNKNOWN_STEM: 'That stem is not one of the model’s stems.',
  JOB_NOT_FOUND: 'No such job for your key (it may belong to someone else, or never existed).',
  JOB_NOT_READY: 'The job has no results yet.',
  NOT_FOUND: 'Not found.',
  RESULT_EXPIRED: 'The files of this job have expired or were deleted.',
  VALIDATION_FAILED: 'Some options were not accepted.',
  SERVICE_UNAVAILABLE: 'The server is busy. Try again shortly.',
  SHUTTING_DOWN: 'The server is restarting and takes no new work. Try again shortly.',
  QUEUE_FULL: 'The server queue is full. Try again shortly.',
  NETWORK_ERROR: 'The server could not be reached. Check your connection.',
  JOB_CANCELED: 'The job was canceled.',
};

/** A sentence for people: the page's advice when it has one, else the API's own detail. */
export function adviceFor(problem: Pick<Problem, 'code' | 'detail'>): string {
  return ADVICE[problem.code] ?? problem.detail;
}

/** Reads a problem+json body, or makes one up from the status when the body is something else. */
export function toProblem(status: number, contentType: string | null, bodyText: string): Problem {
  if (contentType && /json/.test(contentType)) {
    try {
      const body = JSON.parse(bodyText) as Partial<Problem>;
      if (body && typeof body.code === 'string') {
        return {
          status: typeof body.status === 'number' ? body.status : status,
          code: body.code,
          detail: typeof body.detail === 'string' ? body.detail : '',
          title: body.title,
          requestId: body.requestId,
          retryAfterSeconds: body.retryAfterSeconds,
          field: body.field,
          errors: body.errors,
        };
      }
    } catch {
      // fall through: not JSON after all
    }
  }
  return { status, code: `HTTP_${status}`, detail: bodyText.slice(0, 200) || `HTTP ${status}` };
}

export function networkProblem(err: unknown): Problem {
  return { status: 0, code: 'NETWORK_ERROR', detail: err instanceof Error ? err.message : String(err) };
}
