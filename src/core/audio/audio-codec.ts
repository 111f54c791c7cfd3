/**
 * The contract core audio code needs from an external codec (ffmpeg in src/infra/ffmpeg). Core never
 * spawns processes; whoever builds the pipeline injects an implementation, or null to run with the
 * native WAV path only.
 */
import type { AudioTags } from './audio-tags';
import type { AudioFormatId } from './sniff';

export interface ProbedAudio {
  /** Container as the codec names it (ffmpeg: "mp3", "mov,mp4,m4a,3gp,3g2,mj2", ...). */
  format: string;
  /** Codec of the first audio stream ("mp3", "aac", "flac", "vorbis", ...). */
  codec: string;
  sampleRate: number;
  channels: number;
  /** Null when the container does not say. */
  durationSec: number | null;
  /** True when the duration was guessed from the bitrate (VBR MP3 without a Xing header...). */
  durationIsEstimate: boolean;
  /** Bits per second of the audio stream (or the container when the stream does not say). */
  bitRate: number | null;
  /** Only for lossless/PCM codecs where it is meaningful. */
  bitDepth?: number;
  /**
   * Container and first-audio-stream tags as the codec names them (ffmpeg: "title", "TITLE",
   * "TSRC"...; container first). normalizeTags (audio-tags.ts) maps them onto AudioTags.
   */
  tags?: Record<string, string>;
  /** An embedded picture (cover art) is present. */
  hasCoverArt?: boolean;
  /**
   * Index (among all the file's streams) of the first embedded picture in a codec that both the
   * MP3 (ID3 APIC) and FLAC (PICTURE block) muxers store, JPEG or PNG; absent when there is none.
   */
  coverArtStream?: number;
}

export interface ExternalProbeOptions {
  /** Sniffed format; the implementation forces the matching demuxer instead of letting it guess. */
  format?: AudioFormatId;
  signal?: AbortSignal;
}

export interface ExternalDecodeOptions extends ExternalProbeOptions {
  /** Output sample rate (default: the stream's own). */
  sampleRate?: number;
  /** Output channel count (default: the stream's own). */
  channels?: number;
  offsetSec?: number;
  durationSec?: number;
  /** Non-fatal decoder complaints (damaged frames that were skipped). */
  onWarning?: (message: string) => void;
}

/** The codecs stems can be written in (REST, CLI, library). */
export const OUTPUT_CODECS = ['wav', 'flac', 'mp3', 'ogg'] as const;
export type OutputCodec = (typeof OUTPUT_CODECS)[number];

/** MP3/OGG bitrate a request or the configuration may ask for, kbit/s. */
export const BITRATE_KBPS_MIN = 32;
export const BITRATE_KBPS_MAX = 512;
/** The encoders' bitrate when none is asked for, kbit/s. */
export const DEFAULT_BITRATE_KBPS = { mp3: 320, ogg: 256 } as const;

export interface ExternalEncodeOptions {
  codec: OutputCodec;
  /** 16 | 24 | 32 (WAV: 32 = float; FLAC: 32 is stored as 24, the most FLAC in ffmpeg 4 holds). */
  bitDepth?: 16 | 24 | 32;
  bitrateKbps?: number;
  inputSampleRate: number;
  outputSampleRate: number;
  channels: number;
  /** Tags written into the file (ffmpeg -metadata, keys per container: audio-tags.ts). */
  metadata?: AudioTags;
  /**
   * Cover art copied (not re-encoded) from stream `streamIndex` of the file at `path` (the
   * separation's input). MP3 and FLAC only; ignored for Ogg (ffmpeg's Ogg muxer stores no
   * pictures) and WAV.
   */
  coverArt?: CoverArtSource;
  signal?: AbortSignal;
}

export interface CoverArtSource {
  path: string;
  streamIndex: number;
}

/** Something that consumes interleaved float32 frames and produces a file atomically. */
export interface AudioSink {
  /** Final path (exists only after a successful close). */
  readonly path: string;
  write(chunk: Float32Array): Promise<void>;
  /** Finishes the file and moves it into place. */
  close(): Promise<void>;
  /** Drops the partial file. Idempotent; never throws. */
  abort(): Promise<void>;
}

export interface ExternalAudioCodec {
  /** For logs and errors, e.g. "ffmpeg 7.1 (path) at /usr/bin/ffmpeg". */
  readonly description: string;
  probe(filePath: string, options?: ExternalProbeOptions): Promise<ProbedAudio>;
  /** Interleaved float32 chunks at the requested rate/channels. */
  decode(filePath: string, options?: ExternalDecodeOptions): AsyncIterable<Float32Array>;
  createEncoder(filePath: string, options: ExternalEncodeOptions): Promise<AudioSink>;
}

/** Hint put in every DECODER_UNAVAILABLE message. */
export const FFMPEG_INSTALL_HINT =
  'install ffmpeg (e.g. `apt-get install ffmpeg`), or set SPLEETER_FFMPEG_PATH to an ffmpeg binary';

/**
 * A codec, none (null: native WAV only), or a function that finds one when first needed (so a run
 * that never leaves WAV never starts an ffmpeg process to look for it).
 */
export type ExternalCodecSource =
  ExternalAudioCodec | null | undefined | (() => Promise<ExternalAudioCodec | null>);

export async function resolveCodecSource(source: ExternalCodecSource): Promise<ExternalAudioCodec | null> {
  return typeof source === 'function' ? source() : (source ?? null);
}
