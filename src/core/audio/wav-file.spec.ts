import { promises as fs } from 'fs';
import * as path from 'path';
import {
  clipping,
  collect,
  firstMismatch,
  leftoverFiles,
  makeTempDir,
  noise,
  quantize,
  tone,
  writeWav,
  type TestSignal,
} from '../../../test/factories/audio';
import { AudioProcessingError, ErrorCodes } from '../errors';
import { statAudioFile, WavFileReader, WavFileWriter } from './wav-file';
import type { PcmFormat } from './wav';

/** Floats that are exact codes of `bits`-bit integers, so int round trips must be bit-exact. */
function onGrid(signal: TestSignal, bits: number): TestSignal {
  const scale = 2 ** (bits - 1);
  return { ...signal, data: signal.data.map((x) => Math.round(x * scale) / scale + 0) };
}

async function writeInChunks(writer: WavFileWriter, data: Float32Array, channels: number) {
  // Irregular chunk sizes (whole frames) to exercise buffering across the 256 KiB write buffer.
  let offset = 0;
  let size = 1;
  while (offset < data.length) {
    const frames = Math.min(size, (data.length - offset) / channels);
    await writer.write(data.subarray(offset, offset + frames * channels));
    offset += frames * channels;
    size = (size * 37 + 11) % 70000;
  }
}

async function errorOf(promise: Promise<unknown>): Promise<AudioProcessingError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AudioProcessingError);
  return err as AudioProcessingError;
}

describe(WavFileWriter.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('wav-file-');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['int', 8, 1],
    ['int', 16, 2],
    ['int', 24, 2],
    ['int', 32, 6],
    ['float', 32, 2],
    ['float', 64, 1],
  ] as const)(
    'round-trips %s%i with %i channel(s) exactly and leaves only the final file',
    async (sampleFormat, bits, channels) => {
      const source = noise({ frames: 70_001, channels, amplitude: 0.95, seed: bits });
      const signal = sampleFormat === 'int' ? onGrid(source, bits) : source;
      const target = path.join(dir, 'out.wav');
      const format: PcmFormat = { sampleFormat, bitsPerSample: bits, channels, sampleRate: 96000 };
      const sut = await WavFileWriter.create(target, format);
      await writeInChunks(sut, signal.data, channels);
      expect(await leftoverFiles(dir)).toHaveLength(1); // only the temporary file so far
      expect(await leftoverFiles(dir)).not.toContain('out.wav');
      await sut.close();

      expect(await leftoverFiles(dir)).toEqual(['out.wav']);
      const reader = await WavFileReader.open(target);
      expect(reader.info).toMatchObject({
        sampleFormat,
        bitsPerSample: bits,
        channels,
        sampleRate: 96000,
        frames: 70_001,
      });
      const back = await collect(reader.frames());
      expect(firstMismatch(back, bits === 64 ? signal.data : Float32Array.from(signal.data))).toBe(-1);
      expect(sut.framesWritten).toBe(70_001);
    },
  );

  it('clips values beyond full scale instead of wrapping around', async () => {
    const target = path.join(dir, 'clip.wav');
    const signal = clipping({ frames: 1000, channels: 2, overdrive: 1.7 });
    const sut = await WavFileWriter.create(target, {
      sampleFormat: 'int',
      bitsPerSample: 16,
      channels: 2,
      sampleRate: 44100,
    });
    await sut.write(signal.data);
    await sut.close();
    const back = await collect((await WavFileReader.open(target)).frames());
    expect(Math.max(...back)).toBe(32767 / 32768);
    expect(Math.min(...back)).toBe(-1);
    expect(back).toEqual(quantize(signal.data, 's16'));
  });

  it('writes RF64 when the data outgrows the (test-lowered) 4 GiB limit', async () => {
    const target = path.join(dir, 'big.wav');
    const signal = tone({ frames: 5000, channels: 2 });
    const sut = await WavFileWriter.create(
      target,
      { sampleFormat: 'float', bitsPerSample: 32, channels: 2, sampleRate: 44100 },
      { rf64ThresholdBytes: 10_000 },
    );
    await sut.write(signal.data);
    await sut.close();
    const reader = await WavFileReader.open(target);
    expect(reader.info.container).toBe('RF64');
    expect(reader.info.frames).toBe(5000);
    expect(await collect(reader.frames())).toEqual(signal.data);
  });

  it('abort() removes the partial file and later calls fail with ENCODE_FAILED', async () => {
    const target = path.join(dir, 'aborted.wav');
    const sut = await WavFileWriter.create(target, {
      sampleFormat: 'int',
      bitsPerSample: 16,
      channels: 2,
      sampleRate: 44100,
    });
    await sut.write(tone({ frames: 200_000 }).data);
    await sut.abort();
    await sut.abort(); // idempotent
    expect(await leftoverFiles(dir)).toEqual([]);
    expect((await errorOf(sut.write(new Float32Array(2)))).code).toBe(ErrorCodes.ENCODE_FAILED);
    expect((await errorOf(sut.close())).code).toBe(ErrorCodes.ENCODE_FAILED);
  });

  it('an abort signal removes the partial file and makes writes reject with the reason', async () => {
    const target = path.join(dir, 'signal.wav');
    const controller = new AbortController();
    const sut = await WavFileWriter.create(
      target,
      { sampleFormat: 'int', bitsPerSample: 24, channels: 2, sampleRate: 44100 },
      { signal: controller.signal },
    );
    await sut.write(tone({ frames: 1000 }).data);
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(sut.write(new Float32Array(2))).rejects.toBe(reason);
    await sut.abort();
    expect(await leftoverFiles(dir)).toEqual([]);
  });

  it('rejects a chunk that is not whole frames and discards the output', async () => {
    const target = path.join(dir, 'bad.wav');
    const sut = await WavFileWriter.create(target, {
      sampleFormat: 'int',
      bitsPerSample: 16,
      channels: 2,
      sampleRate: 44100,
    });
    expect((await errorOf(sut.write(new Float32Array(3)))).code).toBe(ErrorCodes.ENCODE_FAILED);
    expect(await leftoverFiles(dir)).toEqual([]);
  });

  it('fails with ENCODE_FAILED when the destination directory does not exist', async () => {
    const err = await errorOf(
      WavFileWriter.create(path.join(dir, 'missing', 'x.wav'), {
        sampleFormat: 'int',
        bitsPerSample: 16,
        channels: 2,
        sampleRate: 44100,
      }),
    );
    expect(err.code).toBe(ErrorCodes.ENCODE_FAILED);
  });

  it('replaces an existing file only at close', async () => {
    const target = path.join(dir, 'existing.wav');
    await fs.writeFile(target, 'old');
    const sut = await WavFileWriter.create(target, {
      sampleFormat: 'int',
      bitsPerSample: 16,
      channels: 1,
      sampleRate: 8000,
    });
    await sut.write(tone({ frames: 100, channels: 1 }).data);
    expect(await fs.readFile(target, 'utf8')).toBe('old');
    await sut.close();
    expect((await WavFileReader.open(target)).info.frames).toBe(100);
  });
});

describe(WavFileReader.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('wav-read-');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads a frame range in chunks of the requested size, again on a second pass', async () => {
    const signal = noise({ frames: 10_000, channels: 3, seed: 5 });
    const file = await writeWav(path.join(dir, 'n.wav'), signal, { encoding: 's24', extensible: true });
    const sut = await WavFileReader.open(file);
    const chunks: Float32Array[] = [];
    for await (const c of sut.frames({ startFrame: 1234, frameCount: 5000, chunkFrames: 777 }))
      chunks.push(c);
    expect(chunks.map((c) => c.length / 3)).toEqual([...Array(6).fill(777), 5000 - 6 * 777]);
    const expected = quantize(signal.data, 's24').subarray(1234 * 3, (1234 + 5000) * 3);
    expect(await collect(sut.frames({ startFrame: 1234, frameCount: 5000, chunkFrames: 777 }))).toEqual(
      expected,
    );
    expect(await collect(sut.frames({ startFrame: 9_999_999 }))).toHaveLength(0);
  });

  it('reports a file that shrank after opening as CORRUPT_AUDIO', async () => {
    const file = await writeWav(path.join(dir, 's.wav'), tone({ frames: 50_000 }));
    const sut = await WavFileReader.open(file);
    await fs.truncate(file, 1000);
    expect((await errorOf(collect(sut.frames()))).code).toBe(ErrorCodes.CORRUPT_AUDIO);
  });

  it('stops on an aborted signal', async () => {
    const file = await writeWav(path.join(dir, 'a.wav'), tone({ frames: 50_000 }));
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(
      collect((await WavFileReader.open(file)).frames({ signal: controller.signal })),
    ).rejects.toThrow('stop');
  });

  it('refuses to decode codecs it does not implement', async () => {
    const file = await writeWav(path.join(dir, 'adpcm.wav'), tone({ frames: 100 }), { formatTag: 2 });
    expect((await errorOf(collect((await WavFileReader.open(file)).frames()))).code).toBe(
      ErrorCodes.UNSUPPORTED_AUDIO,
    );
  });
});

describe('statAudioFile', () => {
  it('returns FILE_NOT_FOUND for missing paths and directories', async () => {
    expect((await errorOf(statAudioFile('/nonexistent/file.wav'))).code).toBe(ErrorCodes.FILE_NOT_FOUND);
    expect((await errorOf(statAudioFile(__dirname))).code).toBe(ErrorCodes.FILE_NOT_FOUND);
  });
});
