/**
 * What `SpleeterEngine.analyze` reports about an audio file: technical data (from the probe or the
 * WAV header), container tags, and one streaming pass of AudioAnalyzer over the decoded PCM at the
 * file's own rate and channel count (loudness BS.1770-4 integrated / LRA / true peak, silent
 * ranges, tempo, key). Memory does not grow with the file's length.
 */
import type { AudioAnalysis } from '../core/analysis/audio-analyzer';
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
