import type { AudioTags } from './audio-tags';

/** What a separation reports about its input (engine results, job records, cached results). */
export interface InputAudioInfo {
  format: string;
  codec?: string;
  sampleRate: number;
  channels: number;
  durationSec: number;
  bitDepth?: number;
  /** Container tags (title, artist…); absent when the file has none. */
  tags?: AudioTags;
}
