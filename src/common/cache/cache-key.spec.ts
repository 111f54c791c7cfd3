import { buildResultCacheKey, canonicalJson, modelOfKey, pickOutputOptions, sha256Hex } from './cache-key';

describe('buildResultCacheKey', () => {
  const input = sha256Hex(Buffer.from('audio bytes'));
  const base = {
    inputSha256: input,
    model: 'spleeter:4stems',
    modelVersion: '1.0',
    options: { codec: 'wav', bitDepth: 16 },
  };

  it('is stable under option key order and ignores undefined members', () => {
    const a = buildResultCacheKey(base);
    const b = buildResultCacheKey({ ...base, options: { bitDepth: 16, codec: 'wav', mwf: undefined } });
    expect(a).toBe(b);
    expect(a).toMatch(/^spleeter%3A4stems:[0-9a-f]{64}$/);
  });

  it.each([
    ['input bytes', { inputSha256: sha256Hex(Buffer.from('other')) }],
    ['model', { model: 'spleeter:2stems' }],
    ['model version', { modelVersion: '1.1' }],
    ['an option', { options: { codec: 'flac', bitDepth: 16 } }],
  ])('changes with the %s', (_what, change) => {
    expect(buildResultCacheKey({ ...base, ...change })).not.toBe(buildResultCacheKey(base));
  });

  it('names the model so a model clear can find it', () => {
    expect(modelOfKey(buildResultCacheKey(base))).toBe('spleeter:4stems');
    expect(modelOfKey('nocolon')).toBeUndefined();
  });

  it('rejects something that is not a sha256 hex digest', () => {
    expect(() => buildResultCacheKey({ ...base, inputSha256: 'abc' })).toThrow(TypeError);
  });

  it('treats stem subsets as sets', () => {
    expect(canonicalJson(pickOutputOptions({ stems: ['vocals', 'drums'] }))).toBe(
      canonicalJson(pickOutputOptions({ stems: ['drums', 'vocals'] })),
    );
  });

  it('canonicalises nested objects', () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
  });
});
