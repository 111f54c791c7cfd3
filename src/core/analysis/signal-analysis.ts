/**
 * The analysis a separation reports for its input and for every stem: BS.1770 loudness figures,
 * silent ranges and an `empty` flag, from one streaming pass over chunks that flow anyway (the
 * decoded mixture on its way to the network, each stem on its way to its encoder): no second decode.
 * The summary leaves out the analysers' working data (per-channel peaks, frame indices) so the same
 * shape serves the library result, the result cache and the job JSON.
 */
import { AudioAnalyzer } from './audio-analyzer';
import type { LoudnessResult } from './loudness';
import {
  DEFAULT_SILENCE_MIN_DURATION_SEC,
  DEFAULT_SILENCE_THRESHOLD_DBFS,
  type SilenceResult,
} from './silence';

/**
 * `empty`: at most this fraction of the signal, and at most EMPTY_MAX_SOUND_SEC, lies outside the
 * silent ranges; or BS.1770's absolute gate (−70 LUFS) removed every 400 ms block of a signal long
 * enough to have one. A vocal stem of an instrumental is empty; a stem with a few seconds of a
 * part is not, however long the song.
 */
export const EMPTY_MAX_SOUND_FRACTION = 0.01;
export const EMPTY_MAX_SOUND_SEC = 1;

export interface SignalLoudness {
  /** BS.1770-4 integrated loudness (LUFS); null: shorter than 400 ms or all under −70 LUFS. */
  integratedLufs: number | null;
  loudnessRangeLu: number | null;
  /** null: silent, or not measured (truePeak: false). */
  truePeakDbtp: number | null;
  samplePeakDbfs: number | null;
  maxMomentaryLufs: number | null;
  maxShortTermLufs: number | null;
}

export interface SignalSilence {
  ranges: { startSec: number; endSec: number }[];
  truncated: boolean;
  silentSec: number;
  silentFraction: number;
  thresholdDbfs: number;
  minDurationSec: number;
}

export interface SignalAnalysis {
  /** What was measured: the engine's stream (44.1 kHz stereo), before encoding. */
  sampleRate: number;
  channels: number;
  durationSec: number;
  loudness: SignalLoudness;
  silence: SignalSilence;
  /** Nothing in it (see EMPTY_MAX_SOUND_FRACTION). */
  empty: boolean;
}

/** A separation's analysis: the input mixture and every stem written. */
export interface SeparationAnalysis {
  input: SignalAnalysis;
  stems: Record<string, SignalAnalysis>;
}

export interface SignalAnalysisOptions {
  sampleRate: number;
  channels: number;
  /** Default −60 dBFS. */
  silenceThresholdDbfs?: number;
  /** Default 0.5 s. */
  silenceMinDurationSec?: number;
  /**
   * 4× oversampled true peak (default true). It is most of the cost: ~85 % of an analysis, about
   * 100× realtime on music against ~700× without (docs/ANALYSIS.md); false leaves truePeakDbtp null.
   */
  truePeak?: boolean;
}

/** Streaming loudness + silence of one signal (interleaved float32 chunks). */
export class SignalAnalyzer {
  private readonly analyzer: AudioAnalyzer;

  constructor(options: SignalAnalysisOptions) {
    this.analyzer = new AudioAnalyzer({
      sampleRate: options.sampleRate,
      channels: options.channels,
      loudness: { truePeak: options.truePeak ?? true },
      silence: {
        thresholdDbfs: options.silenceThresholdDbfs ?? DEFAULT_SILENCE_THRESHOLD_DBFS,
        minDurationSec: options.silenceMinDurationSec ?? DEFAULT_SILENCE_MIN_DURATION_SEC,
      },
      tempo: false,
      key: false,
    });
  }

  push(chunk: Float32Array): void {
    this.analyzer.push(chunk);
  }

  result(): SignalAnalysis {
    const a = this.analyzer.result();
    const l = a.loudness!;
    const s = a.silence!;
    const soundSec = Math.max(0, a.durationSec - s.silentSec);
    const gatedOut = l.integratedLufs === null && a.durationSec >= 0.4;
    return {
      sampleRate: a.sampleRate,
      channels: a.channels,
      durationSec: a.durationSec,
      loudness: signalLoudness(l),
      silence: signalSilence(s),
      empty:
        s.empty ||
        gatedOut ||
        (soundSec <= EMPTY_MAX_SOUND_FRACTION * a.durationSec && soundSec <= EMPTY_MAX_SOUND_SEC),
    };
  }
}

/** The reported loudness figures (the meter's working data left out). */
export const signalLoudness = (l: LoudnessResult): SignalLoudness => ({
  integratedLufs: l.integratedLufs,
  loudnessRangeLu: l.loudnessRangeLu,
  truePeakDbtp: l.truePeakDbtp,
  samplePeakDbfs: l.samplePeakDbfs,
  maxMomentaryLufs: l.maxMomentaryLufs,
  maxShortTermLufs: l.maxShortTermLufs,
});

/** The reported silence figures (the detector's working data left out). */
export const signalSilence = (s: SilenceResult): SignalSilence => ({
  ranges: s.ranges.map((r) => ({ startSec: r.startSec, endSec: r.endSec })),
  truncated: s.truncated,
  silentSec: s.silentSec,
  silentFraction: s.silentFraction,
  thresholdDbfs: s.thresholdDbfs,
  minDurationSec: s.minDurationSec,
});

/** Passes a stream through unchanged, feeding every chunk to `analyzer` on the way. */
export async function* tapStream(
  source: AsyncIterable<Float32Array>,
  analyzer: { push(chunk: Float32Array): void },
): AsyncGenerator<Float32Array> {
  for await (const chunk of source) {
    analyzer.push(chunk);
    yield chunk;
  }
}
