import type {
  SeparateOptions,
  SeparationStats,
  StemSeparator,
  StemSink,
} from '../../../core/separation/types';
import { SpleeterSeparator } from '../../../core/spleeter/separator';
import {
  SPLEETER_SAMPLE_RATE,
  type SegmentModel,
  type SpleeterSeparationOptions,
} from '../../../core/spleeter/types';

/** A Spleeter U-Net model as an engine StemSeparator. */
export function createSpleeterSeparator(
  model: SegmentModel,
  options: SpleeterSeparationOptions,
): StemSeparator {
  const separator = new SpleeterSeparator(model, options);
  return {
    stems: separator.stems,
    sampleRate: SPLEETER_SAMPLE_RATE,
    executionProvider: model.executionProvider,
    separate: (openSource, sink: StemSink, opts?: SeparateOptions): Promise<SeparationStats> =>
      separator.separate(openSource, sink, opts),
  };
}
