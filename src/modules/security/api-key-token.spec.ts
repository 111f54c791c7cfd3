import { digestsEqual, generateApiKey, hashApiKey, parseApiKeyId, secretsEqual } from './api-key-token';

describe('api-key-token', () => {
  it('generates spl_<id>_<secret> tokens whose id parses back and whose hash is SHA-256 of the token', () => {
    const sut = generateApiKey();
    expect(sut.token).toMatch(/^spl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(parseApiKeyId(sut.token)).toBe(sut.id);
    expect(sut.hash).toBe(hashApiKey(sut.token));
    expect(sut.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('never repeats ids or secrets', () => {
    const tokens = new Set(Array.from({ length: 500 }, () => generateApiKey().token));
    expect(tokens.size).toBe(500);
  });

  it.each([
    '',
    'spl_',
    'spl_0123_abc',
    `spl_0123456789ABCDEF_${'a'.repeat(43)}`,
    `spl_0123456789abcdef_${'a'.repeat(42)}`,
    `xspl_0123456789abcdef_${'a'.repeat(43)}`,
  ])('rejects malformed token %j', (token) => {
    expect(parseApiKeyId(token)).toBeNull();
  });

  it('compares digests and secrets exactly, including different lengths', () => {
    const h = hashApiKey('a');
    expect(digestsEqual(h, hashApiKey('a'))).toBe(true);
    expect(digestsEqual(h, hashApiKey('b'))).toBe(false);
    expect(digestsEqual(h, h.slice(0, 62))).toBe(false);
    expect(digestsEqual('', '')).toBe(false);
    expect(secretsEqual('correct horse battery staple', 'correct horse battery staple')).toBe(true);
    expect(secretsEqual('correct horse battery staple', 'correct horse battery stapl')).toBe(false);
  });
});
