import { scrubPaths, scrubPathsDeep } from './scrub-paths';

describe('scrubPaths', () => {
  it.each([
    ["ffmpeg: '/srv/data/storage/tmp/d-1/x.wav': Invalid data", "ffmpeg: '<file>': Invalid data"],
    ['file:/work/app/storage/tmp/9f.upload: Invalid data found', '<file>: Invalid data found'],
    ['at file:///home/u/app/x.js:12:3', 'at <file>:12:3'],
    ['C:\\data\\in.wav not found', '<file> not found'],
    ['cannot stat (/var/lib/spleeter/models)', 'cannot stat (<file>)'],
    ['path=/etc/passwd, then', 'path=<file>, then'],
  ])('removes the absolute path in %j', (message, expected) => {
    expect(scrubPaths(message)).toBe(expected);
  });

  it.each([
    'model spleeter:2stems missing',
    'see https://example.com/docs/errors for help',
    'a ratio of 1/2/3 and and/or',
    'a single /segment stays',
  ])('leaves %j alone', (message) => {
    expect(scrubPaths(message)).toBe(message);
  });

  it('keeps the paths the caller accepts (the API’s own routes)', () => {
    const keep = (p: string) => p.startsWith('/v1/');
    expect(scrubPaths('Cannot GET /v1/nope/x', keep)).toBe('Cannot GET /v1/nope/x');
    expect(scrubPaths('Cannot GET /srv/x/y', keep)).toBe('Cannot GET <file>');
  });

  it('scrubs every string inside plain objects and arrays, and returns a copy', () => {
    const value = { a: '/srv/x/y', b: ['ok', { c: 'in /home/u/z' }], n: 3 };
    expect(scrubPathsDeep(value)).toEqual({ a: '<file>', b: ['ok', { c: 'in <file>' }], n: 3 });
    expect(value.a).toBe('/srv/x/y');
  });
});
