/**
 * What `SpleeterEngine.analyze` reports about an audio file: technical data (from the probe or the
 * WAV header), container tags, and one streaming pass of AudioAnalyzer over the decoded PCM at the
 * file's own rate and channel count (loudness BS.1770-4 integrated / LRA / true peak, silent
 * ranges, tempo, key). Memory does not grow with the file's length.
 */
import { analyzeStream, type AudioAnalysis } from '../core/analysis/audio-analyzer';
import { openAudioInput, type AudioInputOptions } from '../core/audio/audio-input';
import type { AudioTags } from '../core/audio/audio-tags';

export interface AudioFileTechnicalInfo {
  /** Sniffed container (wav, flac, mp3, ogg, mp4…). */
  format: string;
  codec: string;
  sampleRate: number;
  channels: number;
  bitDepth: number | null;
  /** Declared by the container (null when it does not say); `analysis.durationSec` is what was decoded. */
  durationSec: number | null;
  bitRate: number | null;
  decoder: 'native-wav' | 'external';
}

export interface AudioFileAnalysis {
  audioPath: string;
  technical: AudioFileTechnicalInfo;
  tags: AudioTags;
  hasCoverArt: boolean;
  /** durationSec (decoded), loudness, silence, tempo, key. */
  analysis: AudioAnalysis;
  timings: { totalMs: number };
}

export interface AnalyzeOptions {
  signal?: AbortSignal;
  /** Silence threshold in dBFS (default −60) and shortest silent range in seconds (default 0.5). */
  silenceThresholdDbfs?: number;
  silenceMinDurationSec?: number;
}

/**
 * Analyses a file without separating it: technical data, tags, and loudness (integrated, LRA,
 * true peak), silent ranges, tempo and key from one streaming pass over the decoded audio at its
 * own rate and channel count (SpleeterEngine.analyze; `io` carries the engine's decoder settings).
 */
export async function analyzeAudioFile(
  audioPath: string,
  options: AnalyzeOptions,
  io: Pick<AudioInputOptions, 'ffmpeg' | 'maxDurationSec' | 'onWarning'>,
): Promise<AudioFileAnalysis> {
  const started = performance.now();
  const common = { ...io, signal: options.signal };
  // Opened once to learn the file's own rate and layout, then read at exactly those.
  const probed = await openAudioInput(audioPath, common);
  const { sampleRate, channels } = probed.info;
  const input =
    probed.info.targetSampleRate === sampleRate && probed.info.targetChannels === channels
      ? probed
      : await openAudioInput(audioPath, {
          ...common,
          targetSampleRate: sampleRate,
          targetChannels: channels,
        });
  const analysis = await analyzeStream(
    input.stream({ signal: options.signal }),
    {
      sampleRate,
      channels,
      silence: {
        ...(options.silenceThresholdDbfs !== undefined
          ? { thresholdDbfs: options.silenceThresholdDbfs }
          : {}),
        ...(options.silenceMinDurationSec !== undefined
          ? { minDurationSec: options.silenceMinDurationSec }
          : {}),
      },
    },
    options.signal,
  );
  const i = input.info;
  return {
    audioPath,
    technical: {
      format: i.format,
      codec: i.codec,
      sampleRate,
      channels,
      bitDepth: i.bitDepth ?? null,
      durationSec: i.durationSec ?? (i.frames !== undefined ? i.frames / sampleRate : null),
      bitRate: i.bitRate ?? null,
      decoder: i.decoder,
    },
    tags: i.tags ?? {},
    hasCoverArt: i.hasCoverArt ?? false,
    analysis,
    timings: { totalMs: performance.now() - started },
  };
}
