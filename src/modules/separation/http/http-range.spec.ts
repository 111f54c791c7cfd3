import { etagMatches, ifRangeAllows, parseRange } from './http-range';

describe('parseRange', () => {
  it.each([
    ['bytes=0-99', 1000, { start: 0, end: 99 }],
    ['bytes=900-', 1000, { start: 900, end: 999 }],
    ['bytes=-100', 1000, { start: 900, end: 999 }],
    ['bytes=-5000', 1000, { start: 0, end: 999 }],
    ['bytes=990-2000', 1000, { start: 990, end: 999 }],
    ['bytes = 5-5', 1000, { start: 5, end: 5 }],
    ['bytes=1000-', 1000, 'unsatisfiable'],
    ['bytes=-0', 1000, 'unsatisfiable'],
    ['bytes=0-0', 0, 'unsatisfiable'],
    ['bytes=5-1', 1000, 'ignore'],
    ['bytes=0-1,5-6', 1000, 'ignore'],
    ['items=0-1', 1000, 'ignore'],
    ['bytes=abc', 1000, 'ignore'],
    ['bytes=-', 1000, 'ignore'],
  ])('%s of %d bytes → %j', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('conditional headers', () => {
  it('matches If-None-Match lists, * and weak forms', () => {
    expect(etagMatches('"a", "b"', '"b"')).toBe(true);
    expect(etagMatches('W/"b"', '"b"')).toBe(true);
    expect(etagMatches('*', '"b"')).toBe(true);
    expect(etagMatches('"c"', '"b"')).toBe(false);
    expect(etagMatches(undefined, '"b"')).toBe(false);
  });

  it('honours If-Range only for the current validator', () => {
    const modified = new Date('2026-01-01T00:00:00Z');
    expect(ifRangeAllows(undefined, '"e"', modified)).toBe(true);
    expect(ifRangeAllows('"e"', '"e"', modified)).toBe(true);
    expect(ifRangeAllows('"old"', '"e"', modified)).toBe(false);
    expect(ifRangeAllows('W/"e"', '"e"', modified)).toBe(false); // weak validators never allow a range
    expect(ifRangeAllows(modified.toUTCString(), '"e"', modified)).toBe(true);
    expect(ifRangeAllows(new Date(modified.getTime() - 5000).toUTCString(), '"e"', modified)).toBe(false);
  });
});
