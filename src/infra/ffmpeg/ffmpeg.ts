/**
 * ffmpeg as the engine's external codec: locating, probing, decoding and encoding behind the
 * ExternalAudioCodec contract from core. Plain classes; the Nest layer wraps them.
 */
import { spawn } from 'child_process';
import type { Readable } from 'stream';
import { AudioProcessingError, ErrorCodes } from '../../core/errors';
import type {
  AudioSink,
  OutputCodec,
  ExternalAudioCodec,
  ExternalDecodeOptions,
  ExternalEncodeOptions,
  ExternalProbeOptions,
  ProbedAudio,
} from '../../core/audio/audio-codec';
import { FfmpegDecoder } from './ffmpeg-decoder';
import { buildTranscodeArgs, FfmpegEncoder, type EncoderSupport } from './ffmpeg-encoder';
import { FfmpegLocator, type FfmpegBinaries, type FfmpegLocatorOptions } from './ffmpeg-locator';
import { runCollect } from './ffmpeg-process';
import { FfmpegProber } from './ffmpeg-probe';

/** Audio encoder names listed by `ffmpeg -encoders` (lines like " A..... libmp3lame  ..."). */
export function parseEncoderList(stdout: string): Set<string> {
  const names = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*A[.A-Z]{5}\s+(\w[\w-]*)\s/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

export class Ffmpeg implements ExternalAudioCodec {
  readonly description: string;
  private readonly prober: FfmpegProber;
  private readonly decoder: FfmpegDecoder;
  private readonly encoder: FfmpegEncoder;
  private encoders: Promise<Set<string>> | null = null;

  constructor(readonly binaries: FfmpegBinaries) {
    this.description = `ffmpeg ${binaries.version} (${binaries.source}) at ${binaries.ffmpegPath}`;
    this.prober = new FfmpegProber(binaries);
    this.decoder = new FfmpegDecoder(binaries);
    this.encoder = new FfmpegEncoder(binaries, () => this.encoderSupport());
  }

  /** Locates a working ffmpeg (see FfmpegLocator) and wraps it; null when there is none. */
  static async locate(options: FfmpegLocatorOptions = {}): Promise<Ffmpeg | null> {
    const binaries = await new FfmpegLocator(options).locate();
    return binaries ? new Ffmpeg(binaries) : null;
  }

  probe(filePath: string, options?: ExternalProbeOptions): Promise<ProbedAudio> {
    return this.prober.probe(filePath, options);
  }

  decode(filePath: string, options?: ExternalDecodeOptions): AsyncIterable<Float32Array> {
    return this.decoder.stream(filePath, options);
  }

  createEncoder(filePath: string, options: ExternalEncodeOptions): Promise<AudioSink> {
    return this.encoder.create(filePath, options);
  }

  /**
   * Transcodes a stored audio file to `codec`, streamed from ffmpeg's stdout. The stream errors if
   * ffmpeg fails; destroying it (client went away) kills ffmpeg.
   */
  async transcodeToStream(inputPath: string, codec: OutputCodec, bitrateKbps?: number): Promise<Readable> {
    const args = buildTranscodeArgs(inputPath, codec, bitrateKbps, await this.encoderSupport());
    const child = spawn(this.binaries.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
        out.destroy(
          new AudioProcessingError(ErrorCodes.ENCODE_FAILED, `Transcoding to ${codec} failed`, {
            ffmpeg: stderr.trim(),
          }),
        );
      }
    });
    out.on('close', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    return out;
  }

  /** All audio encoders of this binary (cached). */
  listAudioEncoders(): Promise<Set<string>> {
    this.encoders ??= runCollect(this.binaries.ffmpegPath, ['-hide_banner', '-encoders'], {
      timeoutMs: 15_000,
    }).then(
      (r) => parseEncoderList(r.stdout),
      () => new Set<string>(),
    );
    return this.encoders;
  }

  async encoderSupport(): Promise<EncoderSupport> {
    const names = await this.listAudioEncoders();
    return {
      libmp3lame: names.has('libmp3lame'),
      libvorbis: names.has('libvorbis'),
      vorbis: names.has('vorbis'),
      flac: names.has('flac'),
    };
  }
}
