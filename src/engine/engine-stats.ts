/** Counters behind SpleeterEngine.getProcessingStats: separations, failures, audio and wall time. */
import type { ProcessingStats, SeparationResult } from './types';

export class EngineStats {
  private separations = 0;
  private failures = 0;
  private audioSeconds = 0;
  private processingSeconds = 0;
  private readonly providers: Record<string, number> = {};

  recordSuccess(result: SeparationResult): void {
    this.separations++;
    this.audioSeconds += result.input.durationSec;
    this.processingSeconds += result.timings.totalMs / 1000;
    this.providers[result.executionProvider] = (this.providers[result.executionProvider] ?? 0) + 1;
  }

  recordFailure(): void {
    this.failures++;
  }

  snapshot(): ProcessingStats {
    return {
      separations: this.separations,
      failures: this.failures,
      audioSeconds: this.audioSeconds,
      processingSeconds: this.processingSeconds,
      averageRealtimeFactor: this.processingSeconds > 0 ? this.audioSeconds / this.processingSeconds : 0,
      executionProviders: { ...this.providers },
    };
  }
}
