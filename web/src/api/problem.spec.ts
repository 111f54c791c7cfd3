import { adviceFor, toProblem } from './problem';

describe('toProblem', () => {
  it('keeps the code, detail and request id of an RFC 7807 body', () => {
    const body = JSON.stringify({
      type: 'https://spleeter-server.dev/problems/forbidden',
      status: 403,
      code: 'FORBIDDEN',
      detail: 'Admin role required',
      requestId: 'r-1',
    });
    expect(toProblem(403, 'application/problem+json', body)).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      detail: 'Admin role required',
      requestId: 'r-1',
    });
  });

  it('makes up an HTTP_<status> code when the body is not a problem (a proxy page)', () => {
    expect(toProblem(502, 'text/html', '<h1>Bad gateway</h1>')).toMatchObject({
      status: 502,
      code: 'HTTP_502',
    });
    expect(toProblem(500, 'application/json', 'not json')).toMatchObject({ code: 'HTTP_500' });
  });

  it('says what to do for known codes and falls back to the API detail', () => {
    expect(adviceFor({ code: 'FORBIDDEN', detail: 'x' })).toMatch(/admin role/);
    expect(adviceFor({ code: 'SOMETHING_NEW', detail: 'The detail' })).toBe('The detail');
  });
});
