import { authHeaders, credentialFrom } from './credential';

// A real HS256 token's shape: base64url JSON header, payload, signature.
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.c2lnbmF0dXJlLWJ5dGVz_-';
const KEY = `spl_0123456789abcdef_${'A'.repeat(43)}`;

describe('credentialFrom', () => {
  it('takes three base64url parts starting with a JSON header for a JWT', () => {
    expect(credentialFrom(JWT)).toEqual({ kind: 'bearer', value: JWT });
    expect(credentialFrom(`  ${JWT}\n`)).toEqual({ kind: 'bearer', value: JWT });
    expect(credentialFrom(`Bearer ${JWT}`)).toEqual({ kind: 'bearer', value: JWT });
    // An unsigned token (empty third part) is still sent as a JWT: the server refuses it, with a reason.
    const unsigned = JWT.slice(0, JWT.lastIndexOf('.') + 1);
    expect(credentialFrom(unsigned).kind).toBe('bearer');
  });

  it('takes anything else for an API key', () => {
    expect(credentialFrom(KEY)).toEqual({ kind: 'api-key', value: KEY });
    expect(credentialFrom(' legacy-env-key ')).toEqual({ kind: 'api-key', value: 'legacy-env-key' });
    for (const notJwt of ['abc.def.ghi', 'eyJ.only-two', 'eyJa.b.c.d', 'eyJa.b c.d', 'eyJa..c'])
      expect(credentialFrom(notJwt).kind).toBe('api-key');
  });
});

describe('authHeaders', () => {
  it('sends a JWT as Authorization: Bearer, and only that', () => {
    expect(authHeaders(credentialFrom(JWT))).toEqual({ Authorization: `Bearer ${JWT}` });
  });

  it('sends an API key as X-API-KEY, and only that', () => {
    expect(authHeaders(credentialFrom(KEY))).toEqual({ 'X-API-KEY': KEY });
  });
});
