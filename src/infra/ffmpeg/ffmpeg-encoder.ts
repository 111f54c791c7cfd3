/**
 * Encoding interleaved float32 PCM with an ffmpeg child process (raw f32le on stdin) into FLAC,
 * MP3 (libmp3lame), Ogg Vorbis (libvorbis, else ffmpeg's experimental native encoder) or WAV.
 * Output goes to a hidden temporary file beside the destination and is renamed on success; any
 * failure or abort kills ffmpeg and removes the temporary file.
 */
import { spawn, type ChildProcess } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import {
  DEFAULT_BITRATE_KBPS,
  type AudioSink,
  type ExternalEncodeOptions,
} from '../../core/audio/audio-codec';
import { ffmpegMetadataArgs } from '../../core/audio/audio-tags';
import { temporaryPathFor } from '../../core/audio/temp-path';
import { AudioProcessingError, ErrorCodes } from '../../core/errors';
import type { FfmpegBinaries } from './ffmpeg-locator';
import { FFMPEG_QUIET_ARGS, stderrTail } from './ffmpeg-process';

const MAX_STDERR = 64 * 1024;

/** Which encoders this ffmpeg has (from `ffmpeg -encoders`), as far as output codecs care. */
export interface EncoderSupport {
  libmp3lame: boolean;
  libvorbis: boolean;
  vorbis: boolean;
  flac: boolean;
}

/** Output-side argv (after `-i pipe:0`) for one encode. Exported for tests. */
export function buildEncodeArgs(
  options: ExternalEncodeOptions,
  support: EncoderSupport,
  outputPath: string,
): string[] {
  const input = [
    ...FFMPEG_QUIET_ARGS,
    '-f',
    'f32le',
    '-ar',
    String(options.inputSampleRate),
    '-ac',
    String(options.channels),
    '-i',
    'pipe:0',
  ];
  const out: string[] = ['-map', '0:a:0', '-map_metadata', '-1'];
  // Cover art: the picture stream of the original file, copied as it is (ffmpeg's Ogg muxer
  // stores no pictures, and WAV has no place for one).
  const cover = options.coverArt;
  if (cover && (options.codec === 'mp3' || options.codec === 'flac') && Number.isInteger(cover.streamIndex)) {
    input.push('-protocol_whitelist', 'file', '-i', 'file:' + path.resolve(cover.path));
    out.push('-map', `1:${cover.streamIndex}`, '-c:v', 'copy', '-disposition:v:0', 'attached_pic');
  }
  if (options.outputSampleRate !== options.inputSampleRate) out.push('-ar', String(options.outputSampleRate));
  out.push(...codecArgs(options.codec, options.bitDepth ?? 16, options.bitrateKbps, support));
  // After -map_metadata -1: only the tags we were given (none of ffmpeg's own "encoder" tag).
  if (options.metadata) out.push(...ffmpegMetadataArgs(options.metadata, options.codec));
  // `-y`: the temporary name is fresh; `file:` keeps odd names from being read as protocols.
  return [...input, ...out, '-y', 'file:' + outputPath];
}

/** Encoder, bitrate and container arguments for one output codec. */
function codecArgs(
  codec: ExternalEncodeOptions['codec'],
  bitDepth: 16 | 24 | 32,
  bitrateKbps: number | undefined,
  support: EncoderSupport,
): string[] {
  const out: string[] = [];
  switch (codec) {
    case 'flac':
      // ffmpeg 4's FLAC encoder stores at most 24 bits: s32 input is written as 24-bit FLAC.
      out.push('-c:a', 'flac', '-sample_fmt', bitDepth === 16 ? 's16' : 's32', '-f', 'flac');
      break;
    case 'mp3':
      if (!support.libmp3lame) throw unsupportedEncoder('mp3', 'libmp3lame');
      out.push('-c:a', 'libmp3lame', '-b:a', `${bitrateKbps ?? DEFAULT_BITRATE_KBPS.mp3}k`, '-f', 'mp3');
      break;
    case 'ogg':
      if (support.libvorbis) {
        out.push('-c:a', 'libvorbis', '-b:a', `${bitrateKbps ?? DEFAULT_BITRATE_KBPS.ogg}k`);
      } else if (support.vorbis) {
        // The native encoder is experimental, stereo-only and ignores ABR targets well; better than nothing.
        out.push(
          '-c:a',
          'vorbis',
          '-strict',
          'experimental',
          '-b:a',
          `${bitrateKbps ?? DEFAULT_BITRATE_KBPS.ogg}k`,
        );
      } else {
        throw unsupportedEncoder('ogg', 'libvorbis or vorbis');
      }
      out.push('-f', 'ogg');
      break;
    case 'wav': {
      const codec = bitDepth === 32 ? 'pcm_f32le' : bitDepth === 24 ? 'pcm_s24le' : 'pcm_s16le';
      out.push('-c:a', codec, '-f', 'wav');
      break;
    }
    default:
      throw new AudioProcessingError(ErrorCodes.ENCODE_FAILED, `Unknown output codec ${String(codec)}`);
  }
  return out;
}

/**
 * Argv that transcodes a stored audio file (one we wrote) to `codec` on stdout, for on-the-fly
 * download conversion.
 */
export function buildTranscodeArgs(
  inputPath: string,
  codec: ExternalEncodeOptions['codec'],
  bitrateKbps: number | undefined,
  support: EncoderSupport,
): string[] {
  return [
    ...FFMPEG_QUIET_ARGS,
    '-i',
    'file:' + inputPath,
    '-map',
    '0:a:0',
    '-vn',
    '-map_metadata',
    '-1',
    ...codecArgs(codec, 16, bitrateKbps, support),
    'pipe:1',
  ];
}

function unsupportedEncoder(codec: string, encoder: string): AudioProcessingError {
  return new AudioProcessingError(
    ErrorCodes.DECODER_UNAVAILABLE,
    `This ffmpeg has no ${encoder} encoder, needed for ${codec.toUpperCase()} output`,
    { codec },
  );
}

export class FfmpegEncoder {
  constructor(
    private readonly binaries: FfmpegBinaries,
    private readonly support: () => Promise<EncoderSupport>,
  ) {}

  async create(filePath: string, options: ExternalEncodeOptions): Promise<AudioSink> {
    options.signal?.throwIfAborted();
    const finalPath = path.resolve(filePath);
    const tempPath = temporaryPathFor(finalPath);
    const args = buildEncodeArgs(options, await this.support(), tempPath);
    const child = spawn(this.binaries.ffmpegPath, args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      windowsHide: true,
    });
    return new FfmpegEncodeSink(finalPath, tempPath, child, options);
  }
}

class FfmpegEncodeSink implements AudioSink {
  private stderr = '';
  private state: 'open' | 'closed' | 'aborted' = 'open';
  private readonly exited: Promise<{ code: number | null; spawnError?: Error }>;
  private exitInfo: { code: number | null; spawnError?: Error } | null = null;
  private stdinError: Error | null = null;
  private discarding: Promise<void> | null = null;
  private readonly onAbort = () => void this.abort();

  constructor(
    readonly path: string,
    private readonly tempPath: string,
    private readonly child: ChildProcess,
    private readonly options: ExternalEncodeOptions,
  ) {
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      if (this.stderr.length < MAX_STDERR) this.stderr += s;
    });
    // EPIPE when ffmpeg dies early: remember it, report ffmpeg's own message instead.
    child.stdin!.on('error', (err) => (this.stdinError = err));
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => resolve((this.exitInfo = { code: null, spawnError: err })));
      child.once('close', (code) => resolve((this.exitInfo = { code })));
    });
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  async write(chunk: Float32Array): Promise<void> {
    this.assertOpen();
    if (chunk.length % this.options.channels !== 0) {
      throw new AudioProcessingError(ErrorCodes.ENCODE_FAILED, 'Chunk is not a whole number of frames', {
        path: this.path,
      });
    }
    if (this.exitInfo) return this.fail('ffmpeg exited before the input was complete');
    // Copy: the caller may reuse its buffer as soon as we return, while the pipe still holds ours.
    const bytes = Buffer.from(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const stdin = this.child.stdin!;
    const ok = stdin.write(bytes);
    if (!ok) {
      await Promise.race([new Promise<void>((resolve) => stdin.once('drain', resolve)), this.exited]);
      if (this.exitInfo && this.state === 'open')
        return this.fail('ffmpeg exited before the input was complete');
    }
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.assertOpen();
    this.child.stdin!.end();
    const { code, spawnError } = await this.exited;
    this.assertOpen();
    if (spawnError || code !== 0)
      return this.fail(spawnError ? `ffmpeg could not be started: ${spawnError.message}` : 'ffmpeg failed');
    try {
      await fs.rename(this.tempPath, this.path);
    } catch (err) {
      await this.fail(`could not move the output into place: ${(err as Error).message}`);
    }
    this.state = 'closed';
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }

  /** Idempotent: every call resolves once ffmpeg is gone and the temporary file removed. */
  abort(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'aborted';
    this.options.signal?.removeEventListener('abort', this.onAbort);
    return this.discard();
  }

  private discard(): Promise<void> {
    this.discarding ??= (async () => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
      await this.exited;
      await fs.rm(this.tempPath, { force: true }).catch(() => undefined);
    })();
    return this.discarding;
  }

  private async fail(reason: string): Promise<never> {
    this.state = 'aborted';
    this.options.signal?.removeEventListener('abort', this.onAbort);
    await this.discard();
    throw new AudioProcessingError(
      ErrorCodes.ENCODE_FAILED,
      `Encoding ${this.options.codec} failed: ${reason}`,
      {
        path: this.path,
        exitCode: this.exitInfo?.code ?? null,
        ffmpegMessage: stderrTail(this.stderr),
        ...(this.stdinError ? { pipeError: this.stdinError.message } : {}),
      },
    );
  }

  private assertOpen(): void {
    this.options.signal?.throwIfAborted();
    if (this.state !== 'open') {
      throw new AudioProcessingError(ErrorCodes.ENCODE_FAILED, `Encoder is ${this.state}`, {
        path: this.path,
      });
    }
  }
}
