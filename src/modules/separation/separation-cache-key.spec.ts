import { separationCacheKey } from './separation-cache-key';
import { normalizeSeparationOptions, toEngineOptions } from './separation-options';

const DEFAULTS = { codec: 'wav', bitDepth: 16, bitrateKbps: 192 } as const;
const SHA = 'a'.repeat(64);
const MODEL = { name: 'spleeter:4stems', version: '2' };

describe('separationCacheKey', () => {
  const key = (input: Parameters<typeof normalizeSeparationOptions>[0], model = MODEL, sha = SHA) =>
    separationCacheKey(sha, model, normalizeSeparationOptions(input, DEFAULTS));

  it('is equal for requests that produce identical files', () => {
    expect(key({})).toBe(key({ codec: 'wav', bitDepth: 16, offset: 0, mwf: false, bandwidth: 'model' }));
    expect(key({ stems: ['vocals', 'drums'] })).toBe(key({ stems: ['drums', 'vocals', 'drums'] }));
    // The bitrate does not affect WAV output; the bit depth does not affect MP3 output.
    expect(key({ codec: 'wav', bitrate: 320 })).toBe(key({ codec: 'wav' }));
    expect(key({ codec: 'mp3', bitDepth: 24 })).toBe(key({ codec: 'mp3' }));
  });

  it('changes with the input, the exact model version and every output-affecting option', () => {
    const base = key({});
    const variants = [
      key({}, MODEL, 'b'.repeat(64)),
      key({}, { name: 'spleeter:4stems', version: '3' }),
      key({}, { name: 'spleeter:2stems', version: '2' }),
      key({ stems: ['vocals'] }),
      key({ codec: 'flac' }),
      key({ bitDepth: 24 }),
      key({ codec: 'mp3', bitrate: 128 }),
      key({ sampleRate: 48000 }),
      key({ offset: 1 }),
      key({ duration: 10 }),
      key({ mwf: true }),
      key({ bandwidth: 'full' }),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    for (const k of variants) expect(k).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('normalizeSeparationOptions', () => {
  it('fills defaults per codec and maps to engine options', () => {
    expect(normalizeSeparationOptions({ codec: 'mp3' }, DEFAULTS)).toMatchObject({
      codec: 'mp3',
      bitrateKbps: 192,
      bitDepth: null,
    });
    expect(normalizeSeparationOptions({ codec: 'flac', bitDepth: 32 }, DEFAULTS)).toMatchObject({
      bitDepth: 24,
    });
    expect(
      toEngineOptions(normalizeSeparationOptions({ offset: 2, duration: 5, stems: ['b', 'a'] }, DEFAULTS)),
    ).toMatchObject({
      offsetSec: 2,
      durationSec: 5,
      stems: ['a', 'b'],
      codec: 'wav',
      bitDepth: 16,
    });
  });
});
