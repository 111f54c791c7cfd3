import { spawn } from 'child_process';
import type { Readable } from 'stream';
import { Injectable, Logger } from '@nestjs/common';
import { AudioProcessingError, ErrorCodes } from '../../core/errors';
import { AppConfig } from '../../infra/config/app-config';
import type { OutputCodec } from '../../lib/types';

const ENCODER_ARGS: Record<OutputCodec, (kbps: number) => string[]> = {
  mp3: (kbps) => ['-c:a', 'libmp3lame', '-b:a', `${kbps}k`, '-f', 'mp3'],
  ogg: (kbps) => ['-c:a', 'libvorbis', '-b:a', `${kbps}k`, '-f', 'ogg'],
  flac: () => ['-c:a', 'flac', '-f', 'flac'],
  wav: () => ['-c:a', 'pcm_s16le', '-f', 'wav'],
};

/** On-the-fly transcoding of a stored stem with ffmpeg, streamed from its stdout. */
@Injectable()
export class StemTranscoder {
  private readonly logger = new Logger(StemTranscoder.name);

  constructor(private readonly config: AppConfig) {}

  /**
   * Starts ffmpeg on `inputPath` (a file we wrote ourselves, so the demuxer may probe it). The stream
   * errors if ffmpeg fails; destroying the stream (client went away) kills ffmpeg.
   */
  transcode(inputPath: string, codec: OutputCodec, bitrateKbps: number): Readable {
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', inputPath, '-map', '0:a:0', '-vn'];
    args.push(...ENCODER_ARGS[codec](bitrateKbps), 'pipe:1');
    const child = spawn(this.ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    const out = child.stdout;
    child.on('error', (err) =>
      out.destroy(new AudioProcessingError(ErrorCodes.DECODER_UNAVAILABLE, `ffmpeg: ${err.message}`)),
    );
    child.on('close', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') {
        this.logger.warn(`ffmpeg transcode to ${codec} exited ${code ?? signal}: ${stderr.trim()}`);
        out.destroy(new AudioProcessingError(ErrorCodes.ENCODE_FAILED, `Transcoding to ${codec} failed`));
      }
    });
    out.on('close', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    return out;
  }

  private ffmpegPath(): string {
    if (this.config.audio.ffmpeg_path) return this.config.audio.ffmpeg_path;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  }
}
