/**
 * Processing statistics of this process (the seed's get_stats_summary "processing" part), fed by
 * separation events. Plain class with an injected clock; the Nest StatsService wraps it.
 *
 * Totals count since start. Rates that drive alerts (error rate, throughput) use a sliding window,
 * so one bad hour long ago does not keep an alert on. Percentiles use the last `sampleSize` fresh
 * (non-cached) successes.
 */
export type SeparationOutcome = 'succeeded' | 'failed' | 'canceled' | 'cached';

export interface SeparationRecord {
  outcome: SeparationOutcome;
  model: string;
  executionProvider?: string;
  /** Wall time of a fresh run (succeeded/failed). */
  durationMs?: number;
  audioSeconds?: number;
}

export interface ProcessingStatsSnapshot {
  totals: { completed: number; succeeded: number; failed: number; canceled: number; cached: number };
  /** (succeeded + cached) / (succeeded + cached + failed), 0..1; null before the first job. */
  successRate: number | null;
  /** cached / (succeeded + cached), 0..1; null before the first success. */
  cacheHitRate: number | null;
  averageProcessingMs: number | null;
  p95ProcessingMs: number | null;
  /** Audio seconds per processing second over every fresh success. */
  averageRealtimeFactor: number | null;
  audioSecondsProcessed: number;
  executionProviders: Record<string, number>;
  window: {
    seconds: number;
    completed: number;
    failed: number;
    /** failed / (completed − canceled) in the window, percent. */
    errorRatePercent: number;
    jobsPerMinute: number;
    audioSecondsPerMinute: number;
  };
}

interface WindowEntry {
  at: number;
  outcome: SeparationOutcome;
  audioSeconds: number;
}

export interface ProcessingStatsOptions {
  now?: () => number;
  windowMs?: number;
  sampleSize?: number;
}

export class ProcessingStats {
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly sampleSize: number;
  private readonly totals = { completed: 0, succeeded: 0, failed: 0, canceled: 0, cached: 0 };
  private freshMs = 0;
  private freshAudioSeconds = 0;
  private freshTimedRuns = 0;
  private audioSeconds = 0;
  private readonly providers: Record<string, number> = {};
  /** Ring of recent fresh durations for the p95. */
  private readonly durations: Float64Array;
  private durationCount = 0;
  private durationNext = 0;
  private window: WindowEntry[] = [];

  constructor(options: ProcessingStatsOptions = {}) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.sampleSize = options.sampleSize ?? 1000;
    this.durations = new Float64Array(this.sampleSize);
  }

  record(r: SeparationRecord): void {
    this.totals.completed++;
    this.totals[r.outcome]++;
    const audio = r.audioSeconds && r.audioSeconds > 0 ? r.audioSeconds : 0;
    if (r.executionProvider && r.outcome !== 'cached') {
      this.providers[r.executionProvider] = (this.providers[r.executionProvider] ?? 0) + 1;
    }
    if (r.outcome === 'succeeded') {
      this.audioSeconds += audio;
      if (r.durationMs !== undefined && r.durationMs >= 0) {
        this.freshMs += r.durationMs;
        this.freshTimedRuns++;
        if (audio > 0) this.freshAudioSeconds += audio;
        this.durations[this.durationNext] = r.durationMs;
        this.durationNext = (this.durationNext + 1) % this.sampleSize;
        this.durationCount = Math.min(this.durationCount + 1, this.sampleSize);
      }
    }
    this.window.push({
      at: this.now(),
      outcome: r.outcome,
      audioSeconds: r.outcome === 'succeeded' ? audio : 0,
    });
    this.prune();
  }

  snapshot(): ProcessingStatsSnapshot {
    this.prune();
    const t = this.totals;
    const decided = t.succeeded + t.cached + t.failed;
    const successes = t.succeeded + t.cached;
    let wFailed = 0;
    let wCanceled = 0;
    let wAudio = 0;
    for (const e of this.window) {
      if (e.outcome === 'failed') wFailed++;
      if (e.outcome === 'canceled') wCanceled++;
      wAudio += e.audioSeconds;
    }
    const wDecided = this.window.length - wCanceled;
    const minutes = this.windowMs / 60_000;
    return {
      totals: { ...t },
      successRate: decided === 0 ? null : successes / decided,
      cacheHitRate: successes === 0 ? null : t.cached / successes,
      averageProcessingMs: this.freshTimedRuns === 0 ? null : this.freshMs / this.freshTimedRuns,
      p95ProcessingMs: this.percentile(0.95),
      averageRealtimeFactor:
        this.freshMs === 0 || this.freshAudioSeconds === 0
          ? null
          : this.freshAudioSeconds / (this.freshMs / 1000),
      audioSecondsProcessed: this.audioSeconds,
      executionProviders: { ...this.providers },
      window: {
        seconds: this.windowMs / 1000,
        completed: this.window.length,
        failed: wFailed,
        errorRatePercent: wDecided === 0 ? 0 : (wFailed / wDecided) * 100,
        jobsPerMinute: this.window.length / minutes,
        audioSecondsPerMinute: wAudio / minutes,
      },
    };
  }

  /** Nearest-rank percentile over the recent fresh durations. */
  private percentile(q: number): number | null {
    if (this.durationCount === 0) return null;
    const sorted = Array.from(this.durations.subarray(0, this.durationCount)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  }

  private prune(): void {
    const cutoff = this.now() - this.windowMs;
    let i = 0;
    while (i < this.window.length && this.window[i].at <= cutoff) i++;
    if (i > 0) this.window = this.window.slice(i);
  }
}
