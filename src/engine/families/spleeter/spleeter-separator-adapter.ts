import type {
  SeparateOptions,
  SeparationStats,
  StemSeparator,
  StemSink,
} from '../../../core/separation/types';
import type { SegmentScheduler } from '../../../core/spleeter/segment-scheduler';
import type { DspThreadPool } from '../../../core/spleeter/dsp-pool';
import { SpleeterSeparator } from '../../../core/spleeter/separator';
import {
  SPLEETER_SAMPLE_RATE,
  type SegmentModel,
  type SpleeterSeparationOptions,
} from '../../../core/spleeter/types';

/**
 * A Spleeter U-Net model as an engine StemSeparator. With a `scheduler` (cross-job batching),
 * every separate() call gets its own client of it, so its stats say how many of its model calls
 * were shared with other jobs; without one, the model is called directly (sharedModelCalls 0).
 * The DSP runs on `pool`'s threads when one is given.
 */
export function createSpleeterSeparator(
  model: SegmentModel,
  options: SpleeterSeparationOptions,
  scheduler: SegmentScheduler | null = null,
  pool: DspThreadPool | null = null,
): StemSeparator {
  const separator = new SpleeterSeparator(model, options, pool);
  return {
    stems: separator.stems,
    sampleRate: SPLEETER_SAMPLE_RATE,
    executionProvider: model.executionProvider,
    separate: async (openSource, sink: StemSink, opts?: SeparateOptions): Promise<SeparationStats> => {
      if (!scheduler) return { ...(await separator.separate(openSource, sink, opts)), sharedModelCalls: 0 };
      const client = scheduler.client();
      const stats = await new SpleeterSeparator(client, options, pool).separate(openSource, sink, opts);
      return { ...stats, sharedModelCalls: client.sharedCalls };
    },
  };
}
