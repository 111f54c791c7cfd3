import { NotFoundException } from '@nestjs/common';
import { AudioProcessingError, ErrorCodes, ModelError, SeparationError } from '../../core/errors';
import { ProblemDetailsFilter, scrubProblem } from './problem-details.filter';

describe(ProblemDetailsFilter.name, () => {
  const sut = new ProblemDetailsFilter();
  const problem = (err: unknown) => scrubProblem(sut.toProblem(err));

  it('answers no server path, whichever error put one in its message or public context', () => {
    const body = problem(
      new ModelError(ErrorCodes.MODEL_INVALID, 'cannot load /srv/spleeter/models/x/1/vocals.onnx: bad', {
        model: '/srv/spleeter/models/x',
      }),
    );
    expect(body).toMatchObject({ code: 'MODEL_INVALID', detail: 'cannot load <file>: bad', model: '<file>' });
    expect(JSON.stringify(body)).not.toContain('/srv/');
  });

  it('keeps the API’s own routes, which a 404 quotes', () => {
    expect(problem(new NotFoundException('Cannot GET /v1/separations/x/y'))).toMatchObject({
      status: 404,
      detail: 'Cannot GET /v1/separations/x/y',
    });
  });

  it('leaves a message without paths as it is', () => {
    const err = new AudioProcessingError(
      ErrorCodes.CORRUPT_AUDIO,
      'Audio could not be decoded: invalid frame',
    );
    expect(problem(err).detail).toBe('Audio could not be decoded: invalid frame');
  });

  it('answers 503 for GPU_UNAVAILABLE: a capability of this server, not a fault of the request', () => {
    const body = problem(
      new SeparationError(ErrorCodes.GPU_UNAVAILABLE, 'no GPU execution provider could be created (cuda: x)'),
    );
    expect(body).toMatchObject({ status: 503, code: 'GPU_UNAVAILABLE' });
  });
});
