import { separationCacheKey } from './separation-cache-key';
import { normalizeSeparationOptions, toEngineOptions } from './separation-options';

const DEFAULTS = { codec: 'wav', bitDepth: 16, bitrateKbps: 192 } as const;
const SHA = 'a'.repeat(64);
const MODEL = { name: 'spleeter:4stems', version: '2', kind: 'spleeter' as const };
const MDX = { name: 'mdx:UVR-MDX-NET-Voc_FT', version: 'v1', kind: 'mdx' as const };

describe('separationCacheKey', () => {
  const key = (
    input: Parameters<typeof normalizeSeparationOptions>[0],
    model: { name: string; version: string; kind: 'spleeter' | 'mdx' | 'builtin' } = MODEL,
    sha = SHA,
  ) => separationCacheKey(sha, model, normalizeSeparationOptions(input, DEFAULTS, model));

  it('is equal for requests that produce identical files', () => {
    expect(key({})).toBe(key({ codec: 'wav', bitDepth: 16, offset: 0, mwf: false, bandwidth: 'model' }));
    expect(key({ stems: ['vocals', 'drums'] })).toBe(key({ stems: ['drums', 'vocals', 'drums'] }));
    // The bitrate does not affect WAV output; the bit depth does not affect MP3 output.
    expect(key({ codec: 'wav', bitrate: 320 })).toBe(key({ codec: 'wav' }));
    expect(key({ codec: 'mp3', bitDepth: 24 })).toBe(key({ codec: 'mp3' }));
    expect(key({ tags: true })).toBe(key({}));
  });

  it('tags stems by default, never titled after the upload (the cache ignores its name)', () => {
    expect(toEngineOptions(normalizeSeparationOptions({}, DEFAULTS, MODEL))).toMatchObject({
      tags: true,
      fallbackTitle: null,
    });
    expect(toEngineOptions(normalizeSeparationOptions({ tags: false }, DEFAULTS, MODEL)).tags).toBe(false);
  });

  it('changes with the input, the exact model version and every output-affecting option', () => {
    const base = key({});
    const variants = [
      key({}, MODEL, 'b'.repeat(64)),
      key({}, { ...MODEL, version: '3' }),
      key({}, { ...MODEL, name: 'spleeter:2stems' }),
      key({ stems: ['vocals'] }),
      key({ codec: 'flac' }),
      key({ bitDepth: 24 }),
      key({ codec: 'mp3', bitrate: 128 }),
      key({ sampleRate: 48000 }),
      key({ offset: 1 }),
      key({ duration: 10 }),
      key({ mwf: true }),
      key({ bandwidth: 'full' }),
      key({ tags: false }),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    for (const k of variants) expect(k).toMatch(/^[0-9a-f]{64}$/);
  });

  it('highpassHz and noiseReduction: in the key only when set, so existing keys are unchanged', () => {
    const options = normalizeSeparationOptions({}, DEFAULTS, MODEL);
    expect(options).toMatchObject({ preprocess: false, highpassHz: null, noiseReduction: false });
    const { highpassHz: _h, noiseReduction: _n, ...before } = options;
    expect(separationCacheKey(SHA, MODEL, before as typeof options)).toBe(key({}));
    expect(key({ noiseReduction: false })).toBe(key({}));
    // Each brings DC removal: the same job as asking for it too.
    expect(normalizeSeparationOptions({ highpassHz: 80 }, DEFAULTS, MODEL)).toMatchObject({
      preprocess: true,
      highpassHz: 80,
    });
    expect(key({ highpassHz: 80 })).toBe(key({ highpassHz: 80, preprocess: true }));
    expect(key({ noiseReduction: true, preprocess: false })).toBe(key({ noiseReduction: true }));
    const variants = [
      key({ preprocess: true }),
      key({ highpassHz: 80 }),
      key({ highpassHz: 120 }),
      key({ noiseReduction: true }),
      key({ highpassHz: 80, noiseReduction: true }),
    ];
    expect(new Set([key({}), ...variants]).size).toBe(variants.length + 1);
    expect(
      toEngineOptions(normalizeSeparationOptions({ highpassHz: 80, noiseReduction: true }, DEFAULTS, MODEL)),
    ).toMatchObject({ preprocess: true, highpassHz: 80, noiseReduction: true });
    // Server defaults (audio.highpass_hz, audio.noise_reduction) fill what a request leaves out.
    expect(
      normalizeSeparationOptions({}, { ...DEFAULTS, highpassHz: 60, noiseReduction: true }, MODEL),
    ).toMatchObject({ preprocess: true, highpassHz: 60, noiseReduction: true });
  });

  it('MDX-Net: overlap and denoise are in the key; omitted and explicit defaults share it', () => {
    const base = key({}, MDX);
    expect(key({ overlap: 'default', denoise: false }, MDX)).toBe(base);
    const variants = [
      key({ overlap: 0.5 }, MDX),
      key({ overlap: 0.25 }, MDX),
      key({ overlap: 0 }, MDX),
      key({ denoise: true }, MDX),
      key({ overlap: 0.5, denoise: true }, MDX),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it("other models' keys do not carry the MDX-Net options (unchanged by their arrival)", () => {
    const options = normalizeSeparationOptions({}, DEFAULTS, MODEL);
    expect(options).toMatchObject({ overlap: null, denoise: null });
    const { overlap: _o, denoise: _d, ...before } = options;
    expect(separationCacheKey(SHA, MODEL, before as typeof options)).toBe(key({}));
  });
});

describe('normalizeSeparationOptions: MDX-Net options', () => {
  it('fills overlap/denoise for MDX models and passes them to the engine', () => {
    expect(normalizeSeparationOptions({}, DEFAULTS, MDX)).toMatchObject({
      overlap: 'default',
      denoise: false,
    });
    expect(
      toEngineOptions(normalizeSeparationOptions({ overlap: 0.75, denoise: true }, DEFAULTS, MDX)),
    ).toMatchObject({
      overlap: 0.75,
      denoise: true,
    });
    expect(toEngineOptions(normalizeSeparationOptions({}, DEFAULTS, MODEL))).not.toHaveProperty(
      'overlap',
      expect.anything(),
    );
  });

  it.each([
    [{ overlap: 0.5 }, 'overlap'],
    [{ overlap: 'default' as const }, 'overlap'],
    [{ denoise: false }, 'denoise'],
  ])('refuses %p for a Spleeter or built-in model with OPTION_NOT_SUPPORTED', (input, field) => {
    for (const model of [MODEL, { name: 'builtin:center', version: '1', kind: 'builtin' as const }]) {
      expect(() => normalizeSeparationOptions(input, DEFAULTS, model)).toThrow(
        expect.objectContaining({
          code: 'OPTION_NOT_SUPPORTED',
          context: expect.objectContaining({ field }),
        }),
      );
    }
  });
});

describe('normalizeSeparationOptions', () => {
  it('fills defaults per codec and maps to engine options', () => {
    expect(normalizeSeparationOptions({ codec: 'mp3' }, DEFAULTS, MODEL)).toMatchObject({
      codec: 'mp3',
      bitrateKbps: 192,
      bitDepth: null,
    });
    expect(normalizeSeparationOptions({ codec: 'flac', bitDepth: 32 }, DEFAULTS, MODEL)).toMatchObject({
      bitDepth: 24,
    });
    expect(
      toEngineOptions(
        normalizeSeparationOptions({ offset: 2, duration: 5, stems: ['b', 'a'] }, DEFAULTS, MODEL),
      ),
    ).toMatchObject({
      offsetSec: 2,
      durationSec: 5,
      stems: ['a', 'b'],
      codec: 'wav',
      bitDepth: 16,
    });
  });
});
