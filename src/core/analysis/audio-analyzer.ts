/**
 * One streaming pass of every analysis over the same audio: loudness (BS.1770-4 / R128), silence,
 * tempo and key. The entry point the engine uses for the input (everything) and for each stem
 * (`STEM_ANALYSIS`: loudness and silence; tempo and key describe the music, not a stem).
 *
 * Feed interleaved (push) or planar (pushPlanar) float32 chunks at any rate and channel count;
 * result() ends the input. Memory does not grow with the input length (see each analyzer).
 */
import { ChannelView, ViewAnalyzer } from './channel-view';
import { KeyEstimator, type KeyProfiles, type KeyResult } from './key';
import { LoudnessMeter, type LoudnessResult } from './loudness';
import { SilenceDetector, type SilenceResult } from './silence';
import { TempoEstimator, type TempoResult } from './tempo';

export interface AudioAnalysisOptions {
  sampleRate: number;
  channels: number;
  /** BS.1770 loudness, LRA, peaks (default on). `channelWeights` for unusual layouts. */
  loudness?: boolean | { truePeak?: boolean; channelWeights?: readonly number[] };
  /** Silent ranges (default on). */
  silence?:
    boolean | { thresholdDbfs?: number; minDurationSec?: number; mode?: 'rms' | 'peak'; blockMs?: number };
  /** Tempo (default on). */
  tempo?: boolean | { minBpm?: number; maxBpm?: number };
  /** Key (default on). */
  key?: boolean | { profiles?: KeyProfiles };
}

/** What to analyse on a separated stem. */
export const STEM_ANALYSIS: Pick<AudioAnalysisOptions, 'loudness' | 'silence' | 'tempo' | 'key'> = {
  loudness: true,
  silence: true,
  tempo: false,
  key: false,
};

export interface AudioAnalysis {
  sampleRate: number;
  channels: number;
  durationSec: number;
  loudness?: LoudnessResult;
  silence?: SilenceResult;
  tempo?: TempoResult;
  key?: KeyResult;
}

function opts<T extends object>(v: boolean | T | undefined): T | null {
  if (v === false) return null;
  return v === true || v === undefined ? ({} as T) : v;
}

export class AudioAnalyzer extends ViewAnalyzer {
  private readonly loudness: LoudnessMeter | null;
  private readonly silence: SilenceDetector | null;
  private readonly tempo: TempoEstimator | null;
  private readonly key: KeyEstimator | null;
  private frames = 0;
  private done: AudioAnalysis | null = null;

  constructor(options: AudioAnalysisOptions) {
    super(options.sampleRate, options.channels);
    const { sampleRate, channels } = options;
    const l = opts(options.loudness);
    const s = opts(options.silence);
    const t = opts(options.tempo);
    const k = opts(options.key);
    this.loudness = l && new LoudnessMeter({ sampleRate, channels, ...l });
    this.silence = s && new SilenceDetector({ sampleRate, channels, ...s });
    this.tempo = t && new TempoEstimator({ sampleRate, channels, ...t });
    this.key = k && new KeyEstimator({ sampleRate, channels, ...k });
  }

  override feed(view: ChannelView): void {
    if (this.done) throw new Error('push after result()');
    // Loudness and silence in one pass over the samples where they can share it (stereo).
    if (this.loudness) this.loudness.feedWithSilence(view, this.silence);
    else this.silence?.feed(view);
    this.tempo?.feed(view);
    this.key?.feed(view);
    this.frames += view.frames;
  }

  /** Ends the input and returns every requested analysis (the same object on later calls). */
  result(): AudioAnalysis {
    this.done ??= {
      sampleRate: this.sampleRate,
      channels: this.channels,
      durationSec: this.frames / this.sampleRate,
      ...(this.loudness ? { loudness: this.loudness.result() } : {}),
      ...(this.silence ? { silence: this.silence.result() } : {}),
      ...(this.tempo ? { tempo: this.tempo.result() } : {}),
      ...(this.key ? { key: this.key.result() } : {}),
    };
    return this.done;
  }
}

/** Analyses a whole stream of interleaved chunks. */
export async function analyzeStream(
  source: AsyncIterable<Float32Array>,
  options: AudioAnalysisOptions,
  signal?: AbortSignal,
): Promise<AudioAnalysis> {
  const sut = new AudioAnalyzer(options);
  for await (const chunk of source) {
    signal?.throwIfAborted();
    sut.push(chunk);
  }
  return sut.result();
}
