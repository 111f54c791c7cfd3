import { randomBytes } from 'crypto';
import { CorruptCacheEntryError, decodeResultContainer, encodeResultContainer } from './result-container';

describe('result container', () => {
  const stems = [
    { name: 'vocals', data: randomBytes(1000), fileName: 'song/vocals.wav', contentType: 'audio/wav' },
    { name: 'accompaniment', data: randomBytes(777) },
    { name: 'empty', data: Buffer.alloc(0) },
  ];

  it('round-trips every stem byte-identically with its metadata', () => {
    const buf = encodeResultContainer({
      stems,
      meta: { model: 'spleeter:2stems', input: { sampleRate: 44100 } },
    });
    const out = decodeResultContainer(buf);
    expect(out.meta).toEqual({ model: 'spleeter:2stems', input: { sampleRate: 44100 } });
    expect(out.stems.map((s) => s.name)).toEqual(['vocals', 'accompaniment', 'empty']);
    out.stems.forEach((s, i) => expect(s.data.equals(stems[i].data)).toBe(true));
    expect(out.stems[0]).toMatchObject({ fileName: 'song/vocals.wav', contentType: 'audio/wav' });
  });

  it('detects a flipped byte, truncation and trailing garbage', () => {
    const buf = encodeResultContainer({ stems, meta: {} });
    const flipped = Buffer.from(buf);
    flipped[flipped.length - 800] ^= 0xff;
    expect(() => decodeResultContainer(flipped)).toThrow(CorruptCacheEntryError);
    expect(() => decodeResultContainer(buf.subarray(0, buf.length - 1))).toThrow(CorruptCacheEntryError);
    expect(() => decodeResultContainer(Buffer.concat([buf, Buffer.from([0])]))).toThrow(
      CorruptCacheEntryError,
    );
    expect(() => decodeResultContainer(Buffer.from('RIFF....WAVE'))).toThrow(CorruptCacheEntryError);
  });

  it('refuses duplicate stem names', () => {
    expect(() => encodeResultContainer({ stems: [stems[0], stems[0]], meta: {} })).toThrow(TypeError);
  });
});
