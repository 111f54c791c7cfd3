/**
 * Decoding with an ffmpeg child process: first audio stream → raw f32le on stdout → Float32Array
 * chunks of whole frames. The child is killed on abort and when the consumer stops iterating.
 */
import { spawn } from 'child_process';
import { endianness } from 'os';
import * as path from 'path';
import type { ExternalDecodeOptions } from '../../core/audio/audio-codec';
import { describeAudioFormat } from '../../core/audio/sniff';
import { AudioProcessingError, ErrorCodes } from '../../core/errors';
import { ffmpegDecodeError } from './ffmpeg-errors';
import type { FfmpegBinaries } from './ffmpeg-locator';
import { FFMPEG_QUIET_ARGS } from './ffmpeg-process';

const MAX_STDERR = 64 * 1024;
const LITTLE_ENDIAN = endianness() === 'LE';

/** The argv for one decode; exported so tests can assert the hardening flags. */
export function buildDecodeArgs(filePath: string, options: ExternalDecodeOptions = {}): string[] {
  const args = [...FFMPEG_QUIET_ARGS];
  if (options.offsetSec) args.push('-ss', seconds(options.offsetSec));
  // Never let ffmpeg guess the demuxer: sniffing already decided, and guessing is how text
  // playlists (HLS, concat) get opened.
  if (options.format) args.push('-f', describeAudioFormat(options.format).demuxer);
  // `file:` keeps names with ':' or a leading '-' from being read as protocols or options.
  args.push('-i', 'file:' + path.resolve(filePath));
  args.push('-map', '0:a:0', '-vn', '-sn', '-dn');
  if (options.durationSec !== undefined) args.push('-t', seconds(options.durationSec));
  if (options.channels) args.push('-ac', String(options.channels));
  if (options.sampleRate) args.push('-ar', String(options.sampleRate));
  args.push('-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1');
  return args;
}

function seconds(v: number): string {
  return v.toFixed(6);
}

export class FfmpegDecoder {
  constructor(private readonly binaries: FfmpegBinaries) {}

  /**
   * Interleaved float32 chunks. Without `channels` the caller must know the stream's channel count
   * to deinterleave; chunks always hold whole frames of that count when it is given, whole samples
   * otherwise.
   */
  async *stream(filePath: string, options: ExternalDecodeOptions = {}): AsyncGenerator<Float32Array> {
    const { signal } = options;
    signal?.throwIfAborted();
    const frameBytes = 4 * (options.channels ?? 1);
    const child = spawn(this.binaries.ffmpegPath, buildDecodeArgs(filePath, options), {
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < MAX_STDERR) stderr += s;
    });
    const exited = new Promise<{ code: number | null; spawnError?: Error }>((resolve) => {
      child.once('error', (err) => resolve({ code: null, spawnError: err }));
      child.once('close', (code) => resolve({ code }));
    });
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', kill, { once: true });

    try {
      let carry: Buffer | null = null;
      for await (const piece of child.stdout as AsyncIterable<Buffer>) {
        let bytes: Buffer = carry ? Buffer.concat([carry, piece]) : piece;
        const usable = bytes.length - (bytes.length % frameBytes);
        carry = usable < bytes.length ? Buffer.from(bytes.subarray(usable)) : null;
        if (usable === 0) continue;
        bytes = bytes.subarray(0, usable);
        yield toFloat32(bytes);
      }
      const { code, spawnError } = await exited;
      signal?.throwIfAborted();
      if (spawnError) {
        throw new AudioProcessingError(
          ErrorCodes.DECODER_UNAVAILABLE,
          `ffmpeg could not be started: ${spawnError.message}`,
          {
            ffmpegPath: this.binaries.ffmpegPath,
          },
        );
      }
      if (code !== 0) throw ffmpegDecodeError(filePath, stderr, { exitCode: code });
      // Exit 0 with messages: frames were damaged and skipped; the caller decides what that means.
      for (const line of stderr.split('\n')) if (line.trim()) options.onWarning?.(line.trim());
    } finally {
      signal?.removeEventListener('abort', kill);
      kill();
    }
  }
}

/** Copies little-endian float bytes into a fresh, aligned Float32Array. */
function toFloat32(bytes: Buffer): Float32Array {
  const out = new Float32Array(bytes.length >> 2);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  }
  return out;
}
