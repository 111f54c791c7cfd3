import {
  encodeWav,
  listInfoChunk,
  noise,
  quantize,
  tone,
  WAV_ENCODINGS,
  type TestSignal,
  type WavBuildOptions,
  type WavEncoding,
} from '../../../test/factories/audio';
import { AudioProcessingError, ErrorCodes } from '../errors';
import {
  buildWavHeader,
  decodeSamples,
  encodeSamples,
  parseWavHeader,
  WAVE_FORMAT_EXTENSIBLE,
  type PcmFormat,
  type WavInfo,
} from './wav';

const readerOf = (file: Uint8Array) => async (position: number, length: number) =>
  file.subarray(position, Math.min(file.length, position + length));

const parse = (file: Uint8Array) => parseWavHeader(readerOf(file), file.length);

function decodeAll(file: Uint8Array, info: WavInfo): Float32Array {
  const out = new Float32Array(info.frames * info.channels);
  decodeSamples(file.subarray(info.dataOffset), info, out, out.length);
  return out;
}

async function roundTrip(signal: TestSignal, options: WavBuildOptions) {
  const file = encodeWav(signal, options);
  const info = await parse(file);
  return { info, samples: decodeAll(file, info) };
}

async function expectCode(promise: Promise<unknown>, code: string) {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AudioProcessingError);
  expect((err as AudioProcessingError).code).toBe(code);
}

const FORMAT_OF: Record<WavEncoding, Pick<PcmFormat, 'sampleFormat' | 'bitsPerSample'>> = {
  u8: { sampleFormat: 'int', bitsPerSample: 8 },
  s16: { sampleFormat: 'int', bitsPerSample: 16 },
  s24: { sampleFormat: 'int', bitsPerSample: 24 },
  s32: { sampleFormat: 'int', bitsPerSample: 32 },
  f32: { sampleFormat: 'float', bitsPerSample: 32 },
  f64: { sampleFormat: 'float', bitsPerSample: 64 },
};

describe('parseWavHeader + decodeSamples', () => {
  const signal = noise({ frames: 1001, channels: 2, amplitude: 0.9, seed: 11 });

  it.each(WAV_ENCODINGS)('reads %s exactly as written', async (encoding) => {
    const { info, samples } = await roundTrip(signal, { encoding });
    expect(info).toMatchObject({ ...FORMAT_OF[encoding], channels: 2, sampleRate: 44100, frames: 1001 });
    expect(info.nativeDecodable).toBe(true);
    expect(samples).toEqual(quantize(signal.data, encoding));
  });

  it.each(WAV_ENCODINGS)('reads WAVE_FORMAT_EXTENSIBLE %s', async (encoding) => {
    const { info, samples } = await roundTrip(signal, { encoding, extensible: true });
    expect(info.extensible).toBe(true);
    expect(info.formatTag).toBe(encoding.startsWith('f') ? 3 : 1);
    expect(info.channelMask).toBe(3);
    expect(samples).toEqual(quantize(signal.data, encoding));
  });

  it('keeps full-scale extremes: -1 and the largest positive code of every integer size', async () => {
    const extremes: TestSignal = {
      sampleRate: 8000,
      channels: 1,
      data: Float32Array.from([-1, -0.5, 0, 0.5, 0.99999999, 1]),
    };
    for (const encoding of ['u8', 's16', 's24', 's32'] as const) {
      const { samples } = await roundTrip(extremes, { encoding });
      const bits = FORMAT_OF[encoding].bitsPerSample;
      expect(samples[0]).toBe(-1);
      expect(samples[5]).toBe(Math.fround((2 ** (bits - 1) - 1) / 2 ** (bits - 1)));
    }
  });

  it('reads mono and 6-channel files with the right frame count and channel order', async () => {
    const six = tone({ frames: 333, channels: 6, channelSpread: 0.5, sampleRate: 48000 });
    const { info, samples } = await roundTrip(six, { encoding: 's24', extensible: true });
    expect(info).toMatchObject({ channels: 6, frames: 333, channelMask: 0x3f, sampleRate: 48000 });
    expect(samples).toEqual(quantize(six.data, 's24'));
    const mono = tone({ frames: 77, channels: 1, sampleRate: 8000 });
    const m = await roundTrip(mono, { encoding: 'u8' });
    expect(m.info).toMatchObject({ channels: 1, frames: 77 });
  });

  it('skips LIST and odd-sized chunks (with or without the pad byte) before the data', async () => {
    const odd = new Uint8Array(7).fill(0x55);
    for (const omitPad of [false, true]) {
      const file = encodeWav(signal, {
        chunksBeforeFmt: [{ id: 'JUNK', body: new Uint8Array(28) }],
        chunksBeforeData: [
          { id: 'LIST', body: listInfoChunk('odd title') },
          { id: 'odd ', body: odd, omitPad },
        ],
        chunksAfterData: [{ id: 'LIST', body: listInfoChunk('after') }],
      });
      const info = await parse(file);
      expect(info.frames).toBe(1001);
      expect(decodeAll(file, info)).toEqual(quantize(signal.data, 's16'));
    }
  });

  it('handles an odd data size (8-bit mono, odd frames) followed by more chunks', async () => {
    const mono = tone({ frames: 101, channels: 1 });
    const file = encodeWav(mono, {
      encoding: 'u8',
      chunksAfterData: [{ id: 'LIST', body: listInfoChunk() }],
    });
    const info = await parse(file);
    expect(info.dataBytes).toBe(101);
    expect(decodeAll(file, info)).toEqual(quantize(mono.data, 'u8'));
  });

  it('reads RF64 with sizes from the ds64 chunk', async () => {
    const { info, samples } = await roundTrip(signal, { encoding: 'f32', rf64: true });
    expect(info.container).toBe('RF64');
    expect(info.frames).toBe(1001);
    expect(info.streamingHeader).toBe(false);
    expect(samples).toEqual(quantize(signal.data, 'f32'));
  });

  it.each([0, 0xffffffff])(
    'treats data size %d as "to the end of the file" (streaming header)',
    async (size) => {
      const { info, samples } = await roundTrip(signal, { dataSizeField: size, riffSizeField: size });
      expect(info.streamingHeader).toBe(true);
      expect(info.frames).toBe(1001);
      expect(samples).toEqual(quantize(signal.data, 's16'));
    },
  );

  it('ignores a trailing partial frame of a streaming header', async () => {
    const file = Buffer.concat([encodeWav(signal, { dataSizeField: 0 }), Buffer.from([1, 2, 3])]);
    expect((await parse(file)).frames).toBe(1001);
  });

  it('reports truncation (header claims more data than the file holds) as CORRUPT_AUDIO', async () => {
    const file = encodeWav(signal);
    await expectCode(parse(file.subarray(0, file.length - 100)), ErrorCodes.CORRUPT_AUDIO);
    const err = await parse(file.subarray(0, file.length - 100)).catch((e: AudioProcessingError) => e);
    expect((err as AudioProcessingError).context).toMatchObject({
      declaredBytes: 4004,
      availableBytes: 3904,
    });
  });

  it.each([
    ['no fmt chunk', () => Buffer.from('RIFF\x04\x00\x00\x00WAVEdata\x00\x00\x00\x00', 'latin1')],
    ['only the RIFF header', () => Buffer.from('RIFF\x04\x00\x00\x00WAVE', 'latin1')],
    ['cut inside the fmt chunk', () => encodeWav(signal).subarray(0, 24)],
    ['cut before the data chunk', () => encodeWav(signal).subarray(0, 36)],
    [
      'zero channels',
      () => {
        const f = encodeWav(signal);
        f.writeUInt16LE(0, 22);
        return f;
      },
    ],
    [
      'a chunk running past the end',
      () => {
        const f = encodeWav(signal, { chunksBeforeData: [{ id: 'LIST', body: new Uint8Array(10) }] });
        f.writeUInt32LE(1_000_000, 40);
        return f;
      },
    ],
  ])('rejects a file with %s as CORRUPT_AUDIO', async (_name, make) => {
    await expectCode(parse(make()), ErrorCodes.CORRUPT_AUDIO);
  });

  it('rejects a non-WAVE RIFF as UNSUPPORTED_AUDIO', async () => {
    await expectCode(
      parse(Buffer.from('RIFF\x04\x00\x00\x00AVI LIST', 'latin1')),
      ErrorCodes.UNSUPPORTED_AUDIO,
    );
  });

  it('parses codecs it cannot decode (MS ADPCM) but flags them for an external decoder', async () => {
    const info = await parse(encodeWav(signal, { formatTag: 2 }));
    expect(info.formatTag).toBe(2);
    expect(info.nativeDecodable).toBe(false);
  });

  it('reads a 20-bit extensible file by its 24-bit container', async () => {
    const { info, samples } = await roundTrip(signal, { encoding: 's24', extensible: true, validBits: 20 });
    expect(info.validBits).toBe(20);
    expect(info.bitsPerSample).toBe(24);
    expect(samples).toEqual(quantize(signal.data, 's24'));
  });
});

describe('encodeSamples', () => {
  const fmt = (bits: number, sampleFormat: 'int' | 'float' = 'int') => ({
    sampleFormat,
    bitsPerSample: bits,
  });

  it('rounds half to even and clips to the integer range', () => {
    const out = new Uint8Array(2 * 7);
    const view = new DataView(out.buffer);
    // 0.5/32768 and 1.5/32768 are exact halves; 2 and -2 are beyond full scale; NaN is silence.
    encodeSamples(
      Float32Array.from([0.5 / 32768, 1.5 / 32768, -0.5 / 32768, -1.5 / 32768, 2, -2, NaN]),
      fmt(16),
      out,
    );
    expect(Array.from({ length: 7 }, (_, i) => view.getInt16(2 * i, true))).toEqual([
      0, 2, 0, -2, 32767, -32768, 0,
    ]);
  });

  it.each([8, 16, 24, 32])('inverts decodeSamples exactly for every %i-bit code it produces', (bits) => {
    const scale = 2 ** (bits - 1);
    // Codes spread over the whole range including both extremes.
    const codes = Array.from({ length: 1001 }, (_, i) => Math.round(-scale + ((2 * scale - 1) * i) / 1000));
    const floats = Float32Array.from(codes, (c) => (c | 0) / scale);
    const bytes = new Uint8Array((bits / 8) * codes.length);
    encodeSamples(floats, fmt(bits), bytes);
    const back = new Float32Array(codes.length);
    decodeSamples(bytes, fmt(bits), back, codes.length);
    expect(back).toEqual(floats);
  });

  it('writes floats bit for bit, including values beyond ±1', () => {
    const x = Float32Array.from([0, 1.5, -3.25, 1e-30]);
    for (const bits of [32, 64]) {
      const bytes = new Uint8Array((bits / 8) * x.length);
      encodeSamples(x, fmt(bits, 'float'), bytes);
      const back = new Float32Array(x.length);
      decodeSamples(bytes, fmt(bits, 'float'), back, x.length);
      expect(back).toEqual(x);
    }
  });
});

describe('buildWavHeader', () => {
  const format: PcmFormat = { sampleFormat: 'int', bitsPerSample: 24, channels: 2, sampleRate: 96000 };

  it('produces a header that parseWavHeader reads back (with the JUNK reservation)', async () => {
    const data = new Uint8Array(6 * 10);
    const header = buildWavHeader(format, data.length);
    const file = Buffer.concat([header, data]);
    const info = await parse(file);
    expect(info).toMatchObject({
      container: 'RIFF',
      frames: 10,
      sampleRate: 96000,
      bitsPerSample: 24,
      dataOffset: header.length,
    });
    expect(file.subarray(12, 16).toString('latin1')).toBe('JUNK');
  });

  it('keeps the same length when the sizes are final, so it can be rewritten in place', () => {
    expect(buildWavHeader(format, 0).length).toBe(buildWavHeader(format, 123456).length);
  });

  it('switches to RF64 with a ds64 chunk beyond the threshold', async () => {
    const data = new Uint8Array(6 * 100);
    const header = buildWavHeader(format, data.length, {}, 100);
    const info = await parse(Buffer.concat([header, data]));
    expect(info.container).toBe('RF64');
    expect(info.frames).toBe(100);
    expect(Buffer.from(header).subarray(12, 16).toString('latin1')).toBe('ds64');
  });

  it('writes WAVE_FORMAT_EXTENSIBLE for more than two channels and float with a fact chunk', async () => {
    const six = buildWavHeader({ ...format, channels: 6 }, 0);
    expect(new DataView(six.buffer).getUint16(12 + 36 + 8, true)).toBe(WAVE_FORMAT_EXTENSIBLE);
    const float = Buffer.from(buildWavHeader({ ...format, sampleFormat: 'float', bitsPerSample: 32 }, 8 * 5));
    expect(float.includes(Buffer.from('fact'))).toBe(true);
    const info = await parse(Buffer.concat([float, new Uint8Array(40)]));
    expect(info).toMatchObject({ sampleFormat: 'float', bitsPerSample: 32, frames: 5 });
  });

  it('refuses sample formats WAV cannot hold', () => {
    expect(() => buildWavHeader({ ...format, bitsPerSample: 12 }, 0)).toThrow(AudioProcessingError);
    expect(() => buildWavHeader({ ...format, sampleFormat: 'float', bitsPerSample: 16 }, 0)).toThrow(
      AudioProcessingError,
    );
  });
});
