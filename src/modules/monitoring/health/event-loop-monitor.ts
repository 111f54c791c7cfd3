import { monitorEventLoopDelay, type IntervalHistogram } from 'perf_hooks';
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';

/**
 * Event-loop delay for the liveness probe. The histogram is reset every interval so the figure
 * describes the last few seconds, not the whole uptime (@nestjs/schedule rolls it).
 */
@Injectable()
export class EventLoopMonitor implements OnModuleInit, OnModuleDestroy {
  private histogram: IntervalHistogram | undefined;
  private lastP99Ms = 0;
  private lastMaxMs = 0;

  onModuleInit(): void {
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
  }

  onModuleDestroy(): void {
    this.histogram?.disable();
  }

  /** p99 and max delay (ms) over roughly the last 10–20 s. */
  delay(): { p99Ms: number; maxMs: number } {
    const h = this.histogram;
    if (!h || h.count === 0) return { p99Ms: this.lastP99Ms, maxMs: this.lastMaxMs };
    return {
      p99Ms: Math.max(this.lastP99Ms, h.percentile(99) / 1e6),
      maxMs: Math.max(this.lastMaxMs, h.max / 1e6),
    };
  }

  @Interval('event-loop-monitor', 10_000)
  roll(): void {
    const h = this.histogram;
    if (!h) return;
    this.lastP99Ms = h.count > 0 ? h.percentile(99) / 1e6 : 0;
    this.lastMaxMs = h.count > 0 ? h.max / 1e6 : 0;
    h.reset();
  }
}
