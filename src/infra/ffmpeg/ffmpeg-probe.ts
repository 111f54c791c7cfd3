/**
 * Stream information for the first audio stream: ffprobe JSON when an ffprobe exists, otherwise the
 * banner that `ffmpeg -i <file>` prints to stderr (used when no ffprobe is found).
 */
import * as path from 'path';
import type { ExternalProbeOptions, ProbedAudio } from '../../core/audio/audio-codec';
import { describeAudioFormat } from '../../core/audio/sniff';
import { AudioProcessingError, ErrorCodes } from '../../core/errors';
import { ffmpegDecodeError } from './ffmpeg-errors';
import type { FfmpegBinaries } from './ffmpeg-locator';
import { runCollect, stderrTail } from './ffmpeg-process';

/** Channel counts of the layout names ffmpeg prints (libavutil/channel_layout.c). */
const LAYOUT_CHANNELS: Record<string, number> = {
  mono: 1,
  stereo: 2,
  downmix: 2,
  '2.1': 3,
  '3.0': 3,
  '3.0(back)': 3,
  '4.0': 4,
  quad: 4,
  'quad(side)': 4,
  '3.1': 4,
  '5.0': 5,
  '5.0(side)': 5,
  '4.1': 5,
  '5.1': 6,
  '5.1(side)': 6,
  '6.0': 6,
  '6.0(front)': 6,
  hexagonal: 6,
  '6.1': 7,
  '6.1(back)': 7,
  '6.1(front)': 7,
  '7.0': 7,
  '7.0(front)': 7,
  '7.1': 8,
  '7.1(wide)': 8,
  '7.1(wide-side)': 8,
  octagonal: 8,
  hexadecagonal: 16,
};

/** Codecs for which a bit depth means something (everything lossy decodes to float). */
const LOSSLESS = /^(pcm_|flac$|alac$|wavpack$|tta$|ape$|mlp$|truehd$|shorten$)/;
const SAMPLE_FORMAT_BITS: Record<string, number> = {
  u8: 8,
  u8p: 8,
  s16: 16,
  s16p: 16,
  s32: 32,
  s32p: 32,
  flt: 32,
  fltp: 32,
  dbl: 64,
  dblp: 64,
  s64: 64,
  s64p: 64,
};

/** Picture codecs: a "video" stream in one of these in an audio file is embedded cover art. */
const PICTURE_CODECS = new Set(['mjpeg', 'png', 'bmp', 'gif', 'webp', 'tiff', 'jpegls', 'jpeg2000']);
/** Pictures both the MP3 and the FLAC muxer store as cover art (see ProbedAudio.coverArtStream). */
const COPYABLE_PICTURE_CODECS = new Set(['mjpeg', 'png']);

/**
 * The `key : value` lines of a banner "Metadata:" block that starts after line `start`, at the
 * indentation `indent` (continuation lines have an empty key and extend the previous value).
 */
function bannerMetadata(lines: readonly string[], start: number, indent: number): Record<string, string> {
  const out: Record<string, string> = {};
  if (!new RegExp(`^ {${indent - 2}}Metadata:\\s*$`).test(lines[start] ?? '')) return out;
  let last: string | null = null;
  for (let i = start + 1; i < lines.length; i++) {
    const m = new RegExp(`^ {${indent}}(\\S[^:]*?|)\\s*: ?(.*)$`).exec(lines[i]);
    if (!m || /^ *(Stream #|Duration:|Chapter)/.test(lines[i])) break;
    const key = m[1].trim();
    if (!key) {
      if (last !== null) out[last] += `\n${m[2]}`;
      continue;
    }
    if (!(key in out)) out[key] = m[2];
    last = key;
  }
  return out;
}

/** Tags (container first, then the first audio stream) and cover-art presence from the banner. */
export function parseBannerTags(stderr: string): {
  tags: Record<string, string>;
  hasCoverArt: boolean;
  coverArtStream?: number;
} {
  const lines = stderr.split(/\r?\n/);
  const tags: Record<string, string> = {};
  let hasCoverArt = false;
  let coverArtStream: number | undefined;
  let audioSeen = false;
  const inputAt = lines.findIndex((l) => /^Input #0, /.test(l));
  if (inputAt < 0) return { tags, hasCoverArt };
  Object.assign(tags, bannerMetadata(lines, inputAt + 1, 4));
  for (let i = inputAt + 1; i < lines.length; i++) {
    if (/^(Input|Output) #[1-9]/.test(lines[i])) break;
    const stream = /^\s*Stream #0:(\d+)\S*: (Audio|Video): (\S+?)[,\s]/.exec(lines[i]);
    if (!stream) continue;
    if (stream[2] === 'Video') {
      if (PICTURE_CODECS.has(stream[3]) || /\(attached pic\)/.test(lines[i])) {
        hasCoverArt = true;
        const attached = /\(attached pic\)/.test(lines[i]);
        if (coverArtStream === undefined && attached && COPYABLE_PICTURE_CODECS.has(stream[3]))
          coverArtStream = Number(stream[1]);
      }
    } else if (!audioSeen) {
      audioSeen = true;
      for (const [k, v] of Object.entries(bannerMetadata(lines, i + 1, 6))) if (!(k in tags)) tags[k] = v;
    }
  }
  return { tags, hasCoverArt, ...(coverArtStream !== undefined ? { coverArtStream } : {}) };
}

export function channelsFromLayout(layout: string): number | null {
  const known = LAYOUT_CHANNELS[layout];
  if (known) return known;
  const n = /^(\d+) channels?/.exec(layout);
  return n ? Number(n[1]) : null;
}

/** Parses the `ffmpeg -hide_banner -i file` banner. Returns null when it names no audio stream. */
export function parseFfmpegBanner(stderr: string): ProbedAudio | null {
  const input = /^Input #0, (.+?), from '/m.exec(stderr);
  const stream = /^\s*Stream #0:\d+(?:\[0x[0-9a-f]+\])?(?:\([^)]*\))?: Audio: (.+)$/m.exec(stderr);
  if (!input || !stream) return null;
  const parts = stream[1].split(', ');
  const codec = parts[0].split(' ')[0];
  let sampleRate = 0;
  let channels = 0;
  let bitDepth: number | undefined;
  let streamBitRate: number | null = null;
  const hzIndex = parts.findIndex((p) => /^\d+ Hz$/.test(p));
  if (hzIndex >= 0) {
    sampleRate = Number(parts[hzIndex].split(' ')[0]);
    channels = channelsFromLayout(parts[hzIndex + 1] ?? '') ?? 0;
    const sampleFormat = parts[hzIndex + 2] ?? '';
    const explicit = /\((\d+) bit\)/.exec(sampleFormat);
    if (LOSSLESS.test(codec))
      bitDepth = explicit ? Number(explicit[1]) : SAMPLE_FORMAT_BITS[sampleFormat.split(' ')[0]];
  }
  const kbps = /(\d+) kb\/s/.exec(parts.slice(Math.max(hzIndex, 0)).join(', '));
  if (kbps) streamBitRate = Number(kbps[1]) * 1000;

  const duration = /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(stderr);
  const containerRate = /Duration: [^\n]*bitrate: (\d+) kb\/s/.exec(stderr);
  const { tags, hasCoverArt, coverArtStream } = parseBannerTags(stderr);
  return {
    format: input[1],
    codec,
    sampleRate,
    channels,
    durationSec: duration
      ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3])
      : null,
    durationIsEstimate: /Estimating duration from bitrate/i.test(stderr),
    bitRate: streamBitRate ?? (containerRate ? Number(containerRate[1]) * 1000 : null),
    ...(bitDepth ? { bitDepth } : {}),
    tags,
    hasCoverArt,
    ...(coverArtStream !== undefined ? { coverArtStream } : {}),
  };
}

interface FfprobeJson {
  streams?: Array<{
    index?: number;
    codec_type?: string;
    codec_name?: string;
    sample_rate?: string;
    channels?: number;
    sample_fmt?: string;
    bits_per_raw_sample?: string;
    bits_per_sample?: number;
    bit_rate?: string;
    duration?: string;
    tags?: Record<string, string>;
    disposition?: { attached_pic?: number };
  }>;
  format?: { format_name?: string; duration?: string; bit_rate?: string; tags?: Record<string, string> };
}

/** Parses `ffprobe -print_format json -show_format -show_streams` (the first audio stream's data). */
export function parseFfprobeJson(json: string, stderr = ''): ProbedAudio | null {
  let data: FfprobeJson;
  try {
    data = JSON.parse(json) as FfprobeJson;
  } catch {
    return null;
  }
  const stream = data.streams?.find((s) => s.codec_type === 'audio');
  if (!stream || !stream.codec_name) return null;
  const num = (s: string | number | undefined) => {
    const v = Number(s);
    return s !== undefined && s !== '' && Number.isFinite(v) && v > 0 ? v : null;
  };
  const codec = stream.codec_name;
  const pictures = (data.streams ?? []).filter(
    (s) =>
      s.codec_type === 'video' &&
      (s.disposition?.attached_pic === 1 || PICTURE_CODECS.has(s.codec_name ?? '')),
  );
  // Only a real attached picture: an MJPEG *video* stream is not one frame of cover art.
  const cover = pictures.find(
    (s) =>
      s.disposition?.attached_pic === 1 &&
      COPYABLE_PICTURE_CODECS.has(s.codec_name ?? '') &&
      Number.isInteger(s.index) &&
      s.index! >= 0,
  )?.index;
  const bits =
    num(stream.bits_per_raw_sample) ??
    num(stream.bits_per_sample) ??
    SAMPLE_FORMAT_BITS[stream.sample_fmt ?? ''];
  return {
    format: data.format?.format_name ?? 'unknown',
    codec,
    sampleRate: num(stream.sample_rate) ?? 0,
    channels: stream.channels ?? 0,
    durationSec: num(stream.duration) ?? num(data.format?.duration),
    durationIsEstimate: /Estimating duration from bitrate/i.test(stderr),
    bitRate: num(stream.bit_rate) ?? num(data.format?.bit_rate),
    ...(LOSSLESS.test(codec) && bits ? { bitDepth: bits } : {}),
    tags: stringTags({ ...(stream.tags ?? {}), ...(data.format?.tags ?? {}) }),
    hasCoverArt: pictures.length > 0,
    ...(cover !== undefined ? { coverArtStream: cover } : {}),
  };
}

/** Only string values (ffprobe JSON is data from the file: trust nothing about its shape). */
function stringTags(raw: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return out;
}

export class FfmpegProber {
  constructor(
    private readonly binaries: FfmpegBinaries,
    private readonly timeoutMs = 30_000,
  ) {}

  async probe(filePath: string, options: ExternalProbeOptions = {}): Promise<ProbedAudio> {
    const input = 'file:' + path.resolve(filePath);
    const demuxer = options.format ? ['-f', describeAudioFormat(options.format).demuxer] : [];
    const common = { timeoutMs: this.timeoutMs, signal: options.signal };
    const timedOut = () =>
      new AudioProcessingError(
        ErrorCodes.CORRUPT_AUDIO,
        `Probing the file took longer than ${this.timeoutMs} ms`,
        {
          path: filePath,
        },
      );
    let probed: ProbedAudio | null;
    let stderr: string;
    if (this.binaries.ffprobePath) {
      const result = await runCollect(
        this.binaries.ffprobePath,
        [
          '-v',
          'warning',
          '-protocol_whitelist',
          'file',
          ...demuxer,
          '-print_format',
          'json',
          '-show_format',
          '-show_streams',
          input,
        ],
        common,
      );
      if (result.timedOut) throw timedOut();
      stderr = result.stderr;
      probed = result.code === 0 ? parseFfprobeJson(result.stdout, result.stderr) : null;
      if (result.code !== 0) throw ffmpegDecodeError(filePath, stderr);
    } else {
      // `ffmpeg -i` with no output always exits 1; the banner is what matters.
      const result = await runCollect(
        this.binaries.ffmpegPath,
        ['-hide_banner', '-nostdin', '-protocol_whitelist', 'file', ...demuxer, '-i', input],
        common,
      );
      if (result.timedOut) throw timedOut();
      stderr = result.stderr;
      probed = parseFfmpegBanner(stderr);
      if (!probed && !/^Input #0/m.test(stderr)) throw ffmpegDecodeError(filePath, stderr);
    }
    if (!probed) {
      throw new AudioProcessingError(ErrorCodes.UNSUPPORTED_AUDIO, 'The file contains no audio stream', {
        path: filePath,
        ffmpegMessage: stderrTail(stderr),
      });
    }
    if (!probed.sampleRate || !probed.channels) {
      throw new AudioProcessingError(
        ErrorCodes.CORRUPT_AUDIO,
        'The audio stream has no usable sample rate or channel layout',
        {
          path: filePath,
          ffmpegMessage: stderrTail(stderr),
        },
      );
    }
    return probed;
  }
}
