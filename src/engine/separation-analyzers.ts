/**
 * SeparationResult.analysis: loudness and silence of the input mixture and of every stem, measured
 * on the chunks as they flow (one SignalAnalyzer each, at the separator's rate, stereo), and the
 * wall time spent on it (timings.analysisMs).
 */
import { SignalAnalyzer, tapStream, type SeparationAnalysis } from '../core/analysis/signal-analysis';
import type { SpleeterEngineOptions } from './engine-options';
import type { SeparationRequestOptions } from './types';

export class SeparationAnalyzers {
  /** Milliseconds spent in the analyzers so far. */
  analysisMs = 0;
  private readonly input: SignalAnalyzer;
  private readonly stems: Map<string, SignalAnalyzer>;
  private inputTapped = false;

  constructor(
    params: Pick<
      SeparationRequestOptions,
      'silenceThresholdDbfs' | 'silenceMinDurationSec' | 'analysisTruePeak'
    >,
    defaults: Pick<
      SpleeterEngineOptions,
      'silenceThresholdDbfs' | 'silenceMinDurationSec' | 'analysisTruePeak'
    >,
    separator: { sampleRate: number; stems: readonly string[] },
  ) {
    const options = {
      sampleRate: separator.sampleRate,
      channels: 2,
      silenceThresholdDbfs: params.silenceThresholdDbfs ?? defaults.silenceThresholdDbfs,
      silenceMinDurationSec: params.silenceMinDurationSec ?? defaults.silenceMinDurationSec,
      truePeak: params.analysisTruePeak ?? defaults.analysisTruePeak ?? false,
    };
    this.input = new SignalAnalyzer(options);
    this.stems = new Map(separator.stems.map((stem) => [stem, new SignalAnalyzer(options)]));
  }

  /**
   * The input's analyzer taps the first pass over the decoded mixture only (a Wiener filter or
   * loudness normalisation reads the input more than once; every pass is the same audio).
   */
  tapInput(decoded: AsyncIterable<Float32Array>): AsyncIterable<Float32Array> {
    if (this.inputTapped) return decoded;
    this.inputTapped = true;
    return tapStream(decoded, { push: (chunk) => this.timed(() => this.input.push(chunk)) });
  }

  pushStem(stem: string, chunk: Float32Array): void {
    const analyzer = this.stems.get(stem);
    if (analyzer) this.timed(() => analyzer.push(chunk));
  }

  result(): SeparationAnalysis {
    return this.timed(() => ({
      input: this.input.result(),
      stems: Object.fromEntries([...this.stems].map(([stem, analyzer]) => [stem, analyzer.result()])),
    }));
  }

  private timed<T>(fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.analysisMs += performance.now() - t0;
    }
  }
}
