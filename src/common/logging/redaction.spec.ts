import { redactUrl } from './redaction';
import { requestIdFrom, requestIdOf } from './request-id';

describe('redactUrl', () => {
  it('masks secret query values and keeps the rest', () => {
    expect(redactUrl('/v1/x?token=abc&page=2&API_KEY=k&sig=s')).toBe(
      '/v1/x?token=%5BREDACTED%5D&page=2&API_KEY=%5BREDACTED%5D&sig=%5BREDACTED%5D',
    );
    expect(redactUrl('/v1/x')).toBe('/v1/x');
    expect(redactUrl('/v1/x?flag')).toBe('/v1/x?flag');
  });
});

describe('requestIdFrom', () => {
  it('keeps a safe id and replaces a missing, long or unsafe one', () => {
    expect(requestIdFrom('a-b_c.d:9')).toBe('a-b_c.d:9');
    for (const bad of [undefined, '', 'x'.repeat(129), 'has space', 'quote"', 'new\nline']) {
      expect(requestIdFrom(bad)).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
    expect(requestIdFrom(['first', 'second'])).toBe('first');
  });
});

describe('requestIdOf', () => {
  it("prefers the logger's id, else a safe header, never a fresh one", () => {
    expect(requestIdOf({ id: 'from-pino', headers: { 'x-request-id': 'other' } })).toBe('from-pino');
    expect(requestIdOf({ id: 7, headers: {} })).toBe('7');
    expect(requestIdOf({ headers: { 'x-request-id': 'trace-42' } })).toBe('trace-42');
    expect(requestIdOf({ headers: { 'x-request-id': 'bad id {"forged":1}' } })).toBeUndefined();
    expect(requestIdOf({ headers: { 'x-request-id': 'x'.repeat(129) } })).toBeUndefined();
    expect(requestIdOf({ headers: {} })).toBeUndefined();
    expect(requestIdOf({})).toBeUndefined();
  });
});
