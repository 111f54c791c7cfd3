import type {
  SeparateOptions,
  SeparationStats,
  StemSeparator,
  StemSink,
} from '../../../core/separation/types';
import type { DspThreadPool } from '../../../core/spleeter/dsp-pool';
import { SpleeterSeparator } from '../../../core/spleeter/separator';
import {
  SPLEETER_SAMPLE_RATE,
  type SegmentModel,
  type SpleeterSeparationOptions,
} from '../../../core/spleeter/types';

/** A Spleeter U-Net model as an engine StemSeparator (DSP on `pool`'s threads when given). */
export function createSpleeterSeparator(
  model: SegmentModel,
  options: SpleeterSeparationOptions,
  pool: DspThreadPool | null = null,
): StemSeparator {
  const separator = new SpleeterSeparator(model, options, pool);
  return {
    stems: separator.stems,
    sampleRate: SPLEETER_SAMPLE_RATE,
    executionProvider: model.executionProvider,
    separate: (openSource, sink: StemSink, opts?: SeparateOptions): Promise<SeparationStats> =>
      separator.separate(openSource, sink, opts),
  };
}
