/**
 * Writing engine output (interleaved float32, 44.1 kHz by default) to a file, atomically.
 * WAV is written natively (TS resampler when the output rate differs); FLAC/MP3/OGG go through the
 * injected external codec, which also converts the rate (ffmpeg -ar).
 */
import { AudioProcessingError, ErrorCodes, ValidationError } from '../errors';
import {
  FFMPEG_INSTALL_HINT,
  resolveCodecSource,
  type AudioSink,
  type CoverArtSource,
  type ExternalCodecSource,
  OUTPUT_CODECS,
  type OutputCodec,
} from './audio-codec';
import type { AudioTags } from './audio-tags';
import { Resampler } from './resample';
import { WavFileWriter } from './wav-file';
import { buildWavInfoChunk } from './wav-info';
import type { PcmFormat } from './wav';

export interface AudioOutputOptions {
  codec: OutputCodec;
  /** WAV: 16/24-bit integer or 32-bit float; FLAC: 16 or 24 (32 → 24). Ignored for lossy codecs. */
  bitDepth?: 16 | 24 | 32;
  /** WAV at 32 bits: 'float' (default) or 'int' (32-bit integer PCM). */
  wavSampleFormat?: 'int' | 'float';
  /** Tags written into the file: WAV as a LIST/INFO chunk, others through ffmpeg -metadata. */
  tags?: AudioTags;
  /** Cover art copied from another file (MP3 and FLAC only; ignored for WAV and Ogg). */
  coverArt?: CoverArtSource;
  /** MP3/OGG bitrate (default 320 for MP3, 256 for OGG). */
  bitrateKbps?: number;
  /** Rate of the written file (default: inputSampleRate). */
  sampleRate?: number;
  /** Rate of the chunks passed to write() (default 44100). */
  inputSampleRate?: number;
  channels?: number;
  ffmpeg?: ExternalCodecSource;
  signal?: AbortSignal;
}

/** Sample rates MPEG-1/2/2.5 layer III can carry. */
export const MP3_SAMPLE_RATES: readonly number[] = [
  8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000,
];

export async function createAudioOutput(filePath: string, options: AudioOutputOptions): Promise<AudioSink> {
  const inputSampleRate = options.inputSampleRate ?? 44100;
  const sampleRate = options.sampleRate ?? inputSampleRate;
  const channels = options.channels ?? 2;
  const bitDepth = options.bitDepth ?? 16;
  validate(options, { inputSampleRate, sampleRate, channels, bitDepth });

  if (options.codec === 'wav') {
    const format: PcmFormat = {
      sampleFormat: bitDepth === 32 && options.wavSampleFormat !== 'int' ? 'float' : 'int',
      bitsPerSample: bitDepth,
      channels,
      sampleRate,
    };
    const infoChunk = options.tags ? buildWavInfoChunk(options.tags) : null;
    const writer = await WavFileWriter.create(filePath, format, { signal: options.signal, infoChunk });
    return sampleRate === inputSampleRate
      ? wrapWriter(writer)
      : resamplingSink(writer, inputSampleRate, sampleRate);
  }

  const ffmpeg = await resolveCodecSource(options.ffmpeg);
  if (!ffmpeg) {
    throw new AudioProcessingError(
      ErrorCodes.DECODER_UNAVAILABLE,
      `Writing ${options.codec.toUpperCase()} needs ffmpeg, which is not available: ${FFMPEG_INSTALL_HINT}`,
      { path: filePath, codec: options.codec },
    );
  }
  return ffmpeg.createEncoder(filePath, {
    codec: options.codec,
    bitDepth,
    bitrateKbps: options.bitrateKbps,
    inputSampleRate,
    outputSampleRate: sampleRate,
    channels,
    ...(options.tags ? { metadata: options.tags } : {}),
    ...(options.coverArt ? { coverArt: options.coverArt } : {}),
    signal: options.signal,
  });
}

function validate(
  options: AudioOutputOptions,
  v: { inputSampleRate: number; sampleRate: number; channels: number; bitDepth: number },
): void {
  const problems: string[] = [];
  if (!OUTPUT_CODECS.includes(options.codec)) problems.push(`codec ${String(options.codec)}`);
  if (![16, 24, 32].includes(v.bitDepth)) problems.push(`bitDepth ${v.bitDepth}`);
  if (options.wavSampleFormat !== undefined && !['int', 'float'].includes(options.wavSampleFormat))
    problems.push(`wavSampleFormat ${String(options.wavSampleFormat)}`);
  for (const key of ['inputSampleRate', 'sampleRate'] as const) {
    if (!Number.isInteger(v[key]) || v[key] < 1000 || v[key] > 768000) problems.push(`${key} ${v[key]}`);
  }
  if (!Number.isInteger(v.channels) || v.channels < 1 || v.channels > 64)
    problems.push(`channels ${v.channels}`);
  if (
    options.bitrateKbps !== undefined &&
    !(Number.isInteger(options.bitrateKbps) && options.bitrateKbps >= 8 && options.bitrateKbps <= 640)
  ) {
    problems.push(`bitrateKbps ${options.bitrateKbps}`);
  }
  if (options.codec === 'mp3') {
    if (!MP3_SAMPLE_RATES.includes(v.sampleRate))
      problems.push(`sampleRate ${v.sampleRate} (MP3 allows ${MP3_SAMPLE_RATES.join(', ')})`);
    if (v.channels > 2) problems.push(`channels ${v.channels} (MP3 holds at most 2)`);
  }
  if (problems.length) {
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      `Invalid audio output options: ${problems.join(', ')}`,
    );
  }
}

function wrapWriter(writer: WavFileWriter): AudioSink {
  return {
    path: writer.path,
    write: (chunk) => writer.write(chunk),
    close: () => writer.close(),
    abort: () => writer.abort(),
  };
}

function resamplingSink(writer: WavFileWriter, inputRate: number, outputRate: number): AudioSink {
  const resampler = new Resampler({ inputRate, outputRate, channels: writer.format.channels });
  return {
    path: writer.path,
    async write(chunk) {
      let out: Float32Array;
      try {
        out = resampler.process(chunk);
      } catch (err) {
        await writer.abort();
        throw new AudioProcessingError(
          ErrorCodes.ENCODE_FAILED,
          (err as Error).message,
          { path: writer.path },
          {
            cause: err,
          },
        );
      }
      if (out.length) await writer.write(out);
    },
    async close() {
      const tail = resampler.flush();
      if (tail.length) await writer.write(tail);
      await writer.close();
    },
    abort: () => writer.abort(),
  };
}
