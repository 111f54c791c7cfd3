/**
 * Opening an input file for the engine: validation, content sniffing, and a re-playable stream of
 * interleaved float32 at the engine's rate and channel count (44.1 kHz stereo by default).
 *
 * - WAV (PCM/float) is read natively and needs no ffmpeg; offset/duration are exact sample
 *   positions; rate conversion uses the TS resampler.
 * - Everything else goes through the injected external codec (ffmpeg), which decodes at the
 *   stream's own rate and channel count; mapping and resampling then happen here, so every format
 *   gets the same resampler and the same channel policy (channels.ts).
 * - Truncation: a WAV header that claims more data than the file holds is CORRUPT_AUDIO at open.
 *   For other formats, when the container states an exact duration (FLAC STREAMINFO, MP3 Xing
 *   header...) and a full decode comes up clearly short, the stream ends with CORRUPT_AUDIO
 *   (`strict`, the default). Containers whose duration is itself measured from the end of the file
 *   (Ogg) cannot reveal truncation; they decode what exists.
 */
import { AudioProcessingError, ErrorCodes, ValidationError } from '../errors';
import {
  FFMPEG_INSTALL_HINT,
  resolveCodecSource,
  type ExternalAudioCodec,
  type ExternalCodecSource,
  type ProbedAudio,
} from './audio-codec';
import { normalizeTags, type AudioTags } from './audio-tags';
import { mapChannels } from './channels';
import { resampledLength, Resampler } from './resample';
import { describeAudioFormat, sniffAudioSource, type AudioFormatId } from './sniff';
import { statAudioFile, WavFileReader, withFileReader } from './wav-file';
import type { WavInfo } from './wav';
import { readWavTags } from './wav-info';

export interface AudioInputOptions {
  targetSampleRate?: number;
  targetChannels?: number;
  /** Start of the selection in seconds (default 0). */
  offsetSec?: number;
  /** Length of the selection in seconds (default: to the end). */
  durationSec?: number;
  /** External decoder for non-WAV input; null/undefined means native WAV only. */
  ffmpeg?: ExternalCodecSource;
  /** Reject inputs longer than this (DURATION_LIMIT), checked at open and again while decoding. */
  maxDurationSec?: number;
  /** End with CORRUPT_AUDIO when a full decode is clearly shorter than the declared duration. */
  strict?: boolean;
  signal?: AbortSignal;
  onWarning?: (message: string) => void;
}

export interface AudioInputInfo {
  /** Sniffed container. */
  format: AudioFormatId;
  /** "pcm_s16le", "pcm_f32le", "mp3", "flac", ... */
  codec: string;
  /** The file's own rate and channel count. */
  sampleRate: number;
  channels: number;
  bitDepth?: number;
  /** Whole file; null when the container does not say. */
  durationSec: number | null;
  /** Whole file, source rate: exact for native WAV, absent otherwise. */
  frames?: number;
  bitRate?: number | null;
  /** What stream() yields. */
  targetSampleRate: number;
  targetChannels: number;
  /**
   * Frames stream() will yield, after offset/duration selection, at the target rate: exact for
   * native WAV, from the probed duration for ffmpeg input (an estimate: good for progress, never
   * for sizing buffers), null when the container does not state a duration.
   */
  expectedFrames: number | null;
  decoder: 'native-wav' | 'external';
  /** Container tags (WAV: RIFF INFO, read natively; others: from the external codec's probe). */
  tags?: AudioTags;
  /** An embedded picture (cover art) is present (never for WAV). */
  hasCoverArt?: boolean;
  /** Stream index of a JPEG/PNG attached picture that can be copied into MP3/FLAC output. */
  coverArtStream?: number;
}

export interface AudioInputStreamOptions {
  signal?: AbortSignal;
}

export interface AudioInput {
  readonly path: string;
  readonly info: AudioInputInfo;
  /** A fresh pass over the selection each time it is called. */
  stream(options?: AudioInputStreamOptions): AsyncIterable<Float32Array>;
}

const MIN_RATE = 1000;
const MAX_RATE = 768000;

export async function openAudioInput(filePath: string, options: AudioInputOptions = {}): Promise<AudioInput> {
  const targetSampleRate = options.targetSampleRate ?? 44100;
  const targetChannels = options.targetChannels ?? 2;
  validateOptions(options, targetSampleRate, targetChannels);
  options.signal?.throwIfAborted();

  const size = await statAudioFile(filePath);
  if (size === 0)
    throw new AudioProcessingError(ErrorCodes.EMPTY_AUDIO, 'Audio file is empty', { path: filePath });
  const format = await withFileReader(filePath, (readAt) => sniffAudioSource(readAt));
  if (!format) {
    throw new AudioProcessingError(
      ErrorCodes.UNSUPPORTED_AUDIO,
      'File content is not a recognised audio format (the file name and type are not trusted)',
      { path: filePath },
    );
  }
  const target = { targetSampleRate, targetChannels };

  if (describeAudioFormat(format).native) {
    const reader = await WavFileReader.open(filePath);
    if (reader.info.nativeDecodable) {
      // Tags are a courtesy: a damaged INFO chunk must not make a playable file fail.
      const tags = await withFileReader(filePath, (readAt) => readWavTags(readAt, size)).catch(() => ({}));
      return nativeWavInput(filePath, format, reader, options, target, tags);
    }
    // ADPCM, A-law, MP3-in-WAV...: the container parsed fine, the codec needs ffmpeg.
  }

  const ffmpeg = await resolveCodecSource(options.ffmpeg);
  if (!ffmpeg) {
    throw new AudioProcessingError(
      ErrorCodes.DECODER_UNAVAILABLE,
      `Decoding ${describeAudioFormat(format).description} needs ffmpeg, which is not available: ${FFMPEG_INSTALL_HINT}`,
      { path: filePath, format },
    );
  }
  const probed = await ffmpeg.probe(filePath, { format, signal: options.signal });
  return externalInput(filePath, format, probed, ffmpeg, options, target);
}

function validateOptions(options: AudioInputOptions, rate: number, channels: number): void {
  const problems: string[] = [];
  if (!Number.isInteger(rate) || rate < MIN_RATE || rate > MAX_RATE)
    problems.push(`targetSampleRate ${rate}`);
  if (!Number.isInteger(channels) || channels < 1 || channels > 64)
    problems.push(`targetChannels ${channels}`);
  const { offsetSec, durationSec, maxDurationSec } = options;
  if (offsetSec !== undefined && !(Number.isFinite(offsetSec) && offsetSec >= 0))
    problems.push(`offsetSec ${offsetSec}`);
  if (durationSec !== undefined && !(Number.isFinite(durationSec) && durationSec > 0)) {
    problems.push(`durationSec ${durationSec}`);
  }
  if (maxDurationSec !== undefined && !(maxDurationSec > 0))
    problems.push(`maxDurationSec ${maxDurationSec}`);
  if (problems.length) {
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      `Invalid audio input options: ${problems.join(', ')}`,
    );
  }
}

function checkSourceFormat(filePath: string, sampleRate: number, channels: number): void {
  if (sampleRate < MIN_RATE || sampleRate > MAX_RATE || !Number.isInteger(sampleRate)) {
    throw new AudioProcessingError(ErrorCodes.UNSUPPORTED_AUDIO, `Unsupported sample rate ${sampleRate} Hz`, {
      path: filePath,
      sampleRate,
    });
  }
  if (channels < 1) {
    throw new AudioProcessingError(ErrorCodes.UNSUPPORTED_AUDIO, 'Audio stream has no channels', {
      path: filePath,
    });
  }
}

function durationLimit(filePath: string, durationSec: number, maxDurationSec: number): AudioProcessingError {
  return new AudioProcessingError(
    ErrorCodes.DURATION_LIMIT,
    `Audio is longer than the allowed ${maxDurationSec} s`,
    { path: filePath, durationSec, maxDurationSec, limit: maxDurationSec },
  );
}

function wavCodecName(info: WavInfo): string {
  if (info.sampleFormat === 'float') return `pcm_f${info.bitsPerSample}le`;
  return info.bitsPerSample === 8 ? 'pcm_u8' : `pcm_s${info.bitsPerSample}le`;
}

function nativeWavInput(
  filePath: string,
  format: AudioFormatId,
  reader: WavFileReader,
  options: AudioInputOptions,
  target: { targetSampleRate: number; targetChannels: number },
  tags: AudioTags,
): AudioInput {
  const wav = reader.info;
  checkSourceFormat(filePath, wav.sampleRate, wav.channels);
  if (wav.frames === 0)
    throw new AudioProcessingError(ErrorCodes.EMPTY_AUDIO, 'WAV file has no samples', { path: filePath });
  const durationSec = wav.frames / wav.sampleRate;
  if (options.maxDurationSec !== undefined && durationSec > options.maxDurationSec) {
    throw durationLimit(filePath, durationSec, options.maxDurationSec);
  }
  const startFrame = Math.round((options.offsetSec ?? 0) * wav.sampleRate);
  const wanted =
    options.durationSec === undefined ? Infinity : Math.round(options.durationSec * wav.sampleRate);
  const frameCount = Math.max(0, Math.min(wanted, wav.frames - startFrame));
  if (frameCount === 0) {
    throw new AudioProcessingError(ErrorCodes.EMPTY_AUDIO, 'The selected range contains no audio', {
      path: filePath,
      offsetSec: options.offsetSec,
      durationSec,
    });
  }
  const info: AudioInputInfo = {
    format,
    codec: wavCodecName(wav),
    sampleRate: wav.sampleRate,
    channels: wav.channels,
    bitDepth: wav.validBits,
    durationSec,
    frames: wav.frames,
    bitRate: wav.sampleRate * wav.blockAlign * 8,
    ...target,
    expectedFrames: resampledLength(frameCount, wav.sampleRate, target.targetSampleRate),
    decoder: 'native-wav',
    tags,
    hasCoverArt: false,
  };
  return {
    path: filePath,
    info,
    stream: (streamOptions = {}) =>
      convert(
        reader.frames({ startFrame, frameCount, signal: streamOptions.signal ?? options.signal }),
        wav.sampleRate,
        wav.channels,
        target,
      ),
  };
}

function externalInput(
  filePath: string,
  format: AudioFormatId,
  probed: ProbedAudio,
  ffmpeg: ExternalAudioCodec,
  options: AudioInputOptions,
  target: { targetSampleRate: number; targetChannels: number },
): AudioInput {
  checkSourceFormat(filePath, probed.sampleRate, probed.channels);
  const { maxDurationSec, offsetSec = 0 } = options;
  if (maxDurationSec !== undefined && probed.durationSec !== null && probed.durationSec > maxDurationSec) {
    throw durationLimit(filePath, probed.durationSec, maxDurationSec);
  }
  if (probed.durationSec !== null && !probed.durationIsEstimate && offsetSec >= probed.durationSec) {
    throw new AudioProcessingError(ErrorCodes.EMPTY_AUDIO, 'The selected range contains no audio', {
      path: filePath,
      offsetSec,
      durationSec: probed.durationSec,
    });
  }
  const info: AudioInputInfo = {
    format,
    codec: probed.codec,
    sampleRate: probed.sampleRate,
    channels: probed.channels,
    ...(probed.bitDepth !== undefined ? { bitDepth: probed.bitDepth } : {}),
    durationSec: probed.durationSec,
    bitRate: probed.bitRate,
    ...target,
    expectedFrames: expectedExternalFrames(probed.durationSec, options, target.targetSampleRate),
    decoder: 'external',
    tags: normalizeTags(probed.tags ?? {}),
    hasCoverArt: probed.hasCoverArt ?? false,
    ...(probed.coverArtStream !== undefined ? { coverArtStream: probed.coverArtStream } : {}),
  };
  const selection = options.offsetSec !== undefined || options.durationSec !== undefined;
  const strict = options.strict ?? true;

  async function* decoded(signal: AbortSignal | undefined): AsyncGenerator<Float32Array> {
    let frames = 0;
    let warnings = 0;
    const maxFrames = maxDurationSec === undefined ? Infinity : Math.ceil(maxDurationSec * probed.sampleRate);
    for await (const chunk of ffmpeg.decode(filePath, {
      format,
      sampleRate: probed.sampleRate,
      channels: probed.channels,
      offsetSec: options.offsetSec,
      durationSec: options.durationSec,
      signal,
      onWarning: (message) => {
        warnings++;
        options.onWarning?.(message);
      },
    })) {
      frames += chunk.length / probed.channels;
      // The container's duration can lie; the decoded length cannot.
      if (frames > maxFrames) throw durationLimit(filePath, frames / probed.sampleRate, maxDurationSec!);
      yield chunk;
    }
    if (frames === 0) {
      throw new AudioProcessingError(
        warnings > 0 ? ErrorCodes.CORRUPT_AUDIO : ErrorCodes.EMPTY_AUDIO,
        warnings > 0
          ? 'No audio could be decoded'
          : selection
            ? 'The selected range contains no audio'
            : 'No audio in file',
        { path: filePath },
      );
    }
    const declared = probed.durationSec;
    if (strict && !selection && declared !== null && !probed.durationIsEstimate) {
      const decodedSec = frames / probed.sampleRate;
      // Codec priming/padding and container rounding account for a few tens of ms; a real cut
      // loses far more than this margin.
      if (decodedSec < declared * 0.97 - 0.25) {
        throw new AudioProcessingError(
          ErrorCodes.CORRUPT_AUDIO,
          'Audio stream ends before its declared duration (truncated file)',
          {
            path: filePath,
            declaredSec: declared,
            decodedSec,
          },
        );
      }
    }
  }

  return {
    path: filePath,
    info,
    stream: (streamOptions = {}) =>
      convert(decoded(streamOptions.signal ?? options.signal), probed.sampleRate, probed.channels, target),
  };
}

/** The selection's length at the output rate, from the probed duration of the whole file. */
function expectedExternalFrames(
  fileDurationSec: number | null,
  options: Pick<AudioInputOptions, 'offsetSec' | 'durationSec'>,
  targetSampleRate: number,
): number | null {
  if (fileDurationSec === null || !(fileDurationSec > 0)) return null;
  const remaining = fileDurationSec - (options.offsetSec ?? 0);
  const selected = Math.min(options.durationSec ?? Infinity, remaining);
  return selected > 0 ? Math.round(selected * targetSampleRate) : null;
}

/**
 * Channel mapping and resampling. Channels are reduced before resampling (5.1 → 2 resamples two
 * channels, not six) and mono is duplicated after it (resample one channel, not two).
 */
async function* convert(
  source: AsyncIterable<Float32Array>,
  sampleRate: number,
  channels: number,
  target: { targetSampleRate: number; targetChannels: number },
): AsyncGenerator<Float32Array> {
  const { targetSampleRate, targetChannels } = target;
  const workChannels = channels === 1 ? 1 : targetChannels;
  const resampler =
    sampleRate === targetSampleRate
      ? null
      : new Resampler({ inputRate: sampleRate, outputRate: targetSampleRate, channels: workChannels });
  for await (const chunk of source) {
    const mapped = mapChannels(chunk, channels, workChannels);
    const out = resampler ? resampler.process(mapped) : mapped;
    if (out.length) yield mapChannels(out, workChannels, targetChannels);
  }
  if (resampler) {
    const tail = resampler.flush();
    if (tail.length) yield mapChannels(tail, workChannels, targetChannels);
  }
}
