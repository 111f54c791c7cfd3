/**
 * The only place in src/core/audio that touches the filesystem: WAV reading and writing, plus the
 * two tiny helpers the input pipeline needs (stat, positioned reads for sniffing).
 */
import { promises as fs } from 'fs';
import { AudioProcessingError, ErrorCodes } from '../errors';
import type { ReadAt } from './sniff';
import { temporaryPathFor } from './temp-path';
import {
  buildWavHeader,
  decodeSamples,
  encodeSamples,
  parseWavHeader,
  validatePcmFormat,
  type PcmFormat,
  type WavHeaderOptions,
  type WavInfo,
} from './wav';

/** Size of a regular file, or FILE_NOT_FOUND (missing, a directory, unreadable). */
export async function statAudioFile(filePath: string): Promise<number> {
  let stat;
  try {
    stat = await fs.stat(filePath);
  } catch (err) {
    throw new AudioProcessingError(
      ErrorCodes.FILE_NOT_FOUND,
      `Audio file not found: ${filePath}`,
      { path: filePath },
      {
        cause: err,
      },
    );
  }
  if (!stat.isFile()) {
    throw new AudioProcessingError(ErrorCodes.FILE_NOT_FOUND, `Not a regular file: ${filePath}`, {
      path: filePath,
    });
  }
  return stat.size;
}

/** Runs `fn` with a positioned reader over the file, closing it afterwards. */
export async function withFileReader<T>(filePath: string, fn: (readAt: ReadAt) => Promise<T>): Promise<T> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(filePath, 'r');
  } catch (err) {
    throw new AudioProcessingError(
      ErrorCodes.FILE_NOT_FOUND,
      `Cannot open audio file: ${filePath}`,
      { path: filePath },
      {
        cause: err,
      },
    );
  }
  try {
    return await fn(readerFor(handle));
  } finally {
    await handle.close();
  }
}

function readerFor(handle: fs.FileHandle): ReadAt {
  return async (position, length) => {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  };
}

export interface WavReadOptions {
  /** First frame to read (clamped to the file). */
  startFrame?: number;
  /** Frames to read from `startFrame` (clamped to the file). Default: to the end. */
  frameCount?: number;
  /** Frames per yielded chunk. */
  chunkFrames?: number;
  signal?: AbortSignal;
}

/** Reads a WAV file as interleaved float32 chunks at its own rate and channel count. */
export class WavFileReader {
  private constructor(
    readonly path: string,
    readonly info: WavInfo,
  ) {}

  static async open(filePath: string): Promise<WavFileReader> {
    const size = await statAudioFile(filePath);
    const info = await withFileReader(filePath, (readAt) => parseWavHeader(readAt, size));
    return new WavFileReader(filePath, info);
  }

  /** Each call opens its own handle, so passes can run again or concurrently. */
  async *frames(options: WavReadOptions = {}): AsyncGenerator<Float32Array> {
    const { info } = this;
    if (!info.nativeDecodable) {
      throw new AudioProcessingError(
        ErrorCodes.UNSUPPORTED_AUDIO,
        `WAV codec 0x${info.formatTag.toString(16)} (${info.bitsPerSample}-bit) needs an external decoder`,
        { formatTag: info.formatTag, bitsPerSample: info.bitsPerSample },
      );
    }
    const start = Math.min(Math.max(0, Math.floor(options.startFrame ?? 0)), info.frames);
    const end = Math.min(info.frames, start + Math.max(0, Math.floor(options.frameCount ?? info.frames)));
    const chunkFrames = Math.max(1, Math.floor(options.chunkFrames ?? 16384));
    const handle = await fs.open(this.path, 'r');
    try {
      const buffer = Buffer.alloc(chunkFrames * info.blockAlign);
      for (let frame = start; frame < end;) {
        options.signal?.throwIfAborted();
        const frames = Math.min(chunkFrames, end - frame);
        const bytes = frames * info.blockAlign;
        const { bytesRead } = await handle.read(buffer, 0, bytes, info.dataOffset + frame * info.blockAlign);
        if (bytesRead < bytes) {
          // The file shrank after the header was parsed (or is being rewritten under us).
          throw new AudioProcessingError(
            ErrorCodes.CORRUPT_AUDIO,
            'WAV file ended before its declared data',
            {
              path: this.path,
              frame,
            },
          );
        }
        const out = new Float32Array(frames * info.channels);
        decodeSamples(buffer, info, out, out.length);
        yield out;
        frame += frames;
      }
    } finally {
      await handle.close();
    }
  }
}

export interface WavWriterOptions extends WavHeaderOptions {
  signal?: AbortSignal;
  /** For tests: switch to RF64 above this many RIFF bytes instead of 4 GiB. */
  rf64ThresholdBytes?: number;
}

type WriterState = 'open' | 'closed' | 'aborted' | 'failed';

const WRITE_BUFFER_BYTES = 1 << 18;

/**
 * Streams interleaved float32 chunks into a WAV file. Data goes to a hidden temporary file in the
 * destination directory; `close()` writes the final header (RF64 when the data outgrew 4 GiB) and
 * renames it into place; `abort()` or any failure removes it. Calls are serialised internally, so a
 * caller that forgets to await `write()` still gets ordered output.
 */
export class WavFileWriter {
  private state: WriterState = 'open';
  private aborting: Promise<void> | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly buffer = Buffer.alloc(WRITE_BUFFER_BYTES);
  private buffered = 0;
  private dataBytes = 0;
  private position: number;
  private readonly onAbort = () => void this.abort();

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    readonly format: PcmFormat,
    private readonly handle: fs.FileHandle,
    private readonly options: WavWriterOptions,
    headerBytes: number,
  ) {
    this.position = headerBytes;
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  static async create(
    filePath: string,
    format: PcmFormat,
    options: WavWriterOptions = {},
  ): Promise<WavFileWriter> {
    validatePcmFormat(format);
    options.signal?.throwIfAborted();
    const tempPath = temporaryPathFor(filePath);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(tempPath, 'wx');
    } catch (err) {
      throw new AudioProcessingError(
        ErrorCodes.ENCODE_FAILED,
        `Cannot create output file in ${filePath}`,
        {
          path: filePath,
        },
        { cause: err },
      );
    }
    const header = buildWavHeader(format, 0, options);
    try {
      await handle.write(header, 0, header.length, 0);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.rm(tempPath, { force: true });
      throw new AudioProcessingError(
        ErrorCodes.ENCODE_FAILED,
        'Cannot write WAV header',
        { path: filePath },
        {
          cause: err,
        },
      );
    }
    return new WavFileWriter(filePath, tempPath, format, handle, options, header.length);
  }

  get framesWritten(): number {
    return this.dataBytes / ((this.format.bitsPerSample >> 3) * this.format.channels);
  }

  /** Appends interleaved samples; the length must be a whole number of frames. */
  write(chunk: Float32Array): Promise<void> {
    return this.enqueue(async () => {
      this.assertOpen();
      if (chunk.length % this.format.channels !== 0) {
        throw new AudioProcessingError(
          ErrorCodes.ENCODE_FAILED,
          `Chunk of ${chunk.length} samples is not a whole number of ${this.format.channels}-channel frames`,
        );
      }
      const bytesPerSample = this.format.bitsPerSample >> 3;
      const samplesPerFlush = Math.floor(WRITE_BUFFER_BYTES / bytesPerSample);
      for (let offset = 0; offset < chunk.length;) {
        const room = Math.floor((WRITE_BUFFER_BYTES - this.buffered) / bytesPerSample);
        if (room === 0) {
          await this.flush();
          continue;
        }
        const count = Math.min(room, chunk.length - offset, samplesPerFlush);
        this.buffered += encodeSamples(
          chunk.subarray(offset, offset + count),
          this.format,
          this.buffer.subarray(this.buffered),
          count,
        );
        offset += count;
      }
    });
  }

  /** Finishes the header and renames the file into place. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      this.assertOpen();
      await this.flush();
      if (this.dataBytes & 1) await this.writeAt(Buffer.alloc(1), this.position);
      const header = buildWavHeader(
        this.format,
        this.dataBytes,
        this.options,
        this.options.rf64ThresholdBytes,
      );
      await this.writeAt(header, 0);
      await this.handle.datasync();
      await this.handle.close();
      await fs.rename(this.tempPath, this.path);
      this.state = 'closed';
      this.options.signal?.removeEventListener('abort', this.onAbort);
    });
  }

  /** Discards everything written; idempotent (every call resolves once the file is gone), never throws. */
  abort(): Promise<void> {
    if (this.aborting) return this.aborting;
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'aborted';
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.aborting = this.chain.catch(() => undefined).then(() => this.discard());
    return this.aborting;
  }

  private async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fs.rm(this.tempPath, { force: true }).catch(() => undefined);
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.chain.then(async () => {
      try {
        await op();
      } catch (err) {
        if (this.state === 'open') {
          this.state = 'failed';
          await this.discard();
          this.state = 'aborted';
        }
        const aborted = this.options.signal?.aborted && err === this.options.signal.reason;
        throw err instanceof AudioProcessingError || aborted
          ? err
          : new AudioProcessingError(
              ErrorCodes.ENCODE_FAILED,
              `Writing ${this.path} failed`,
              { path: this.path },
              {
                cause: err,
              },
            );
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private assertOpen(): void {
    this.options.signal?.throwIfAborted();
    if (this.state === 'aborted') {
      throw new AudioProcessingError(ErrorCodes.ENCODE_FAILED, 'WAV writer was aborted', { path: this.path });
    }
    if (this.state !== 'open') {
      throw new AudioProcessingError(ErrorCodes.ENCODE_FAILED, 'WAV writer is closed', { path: this.path });
    }
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    await this.writeAt(this.buffer.subarray(0, this.buffered), this.position);
    this.position += this.buffered;
    this.dataBytes += this.buffered;
    this.buffered = 0;
  }

  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }
}

export type { WavInfo };
