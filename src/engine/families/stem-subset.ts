import { ErrorCodes, ValidationError } from '../../core/errors';
import type { SeparateOptions, StemSeparator, StemSink } from '../../core/separation/types';

/**
 * Restricts a separator's output to `stems` (validated against what it produces). Used for
 * separators that always compute every stem anyway (built-in DSP models); Spleeter separators
 * handle the subset themselves and skip synthesis of the others.
 */
export function withStemSubset(separator: StemSeparator, stems?: readonly string[]): StemSeparator {
  if (!stems || stems.length === 0) return separator;
  const wanted = validateStems(separator.stems, stems);
  return {
    stems: wanted,
    sampleRate: separator.sampleRate,
    executionProvider: separator.executionProvider,
    separate(openSource, sink: StemSink, opts?: SeparateOptions) {
      return separator.separate(
        openSource,
        {
          write: (chunks) => sink.write(new Map([...chunks].filter(([stem]) => wanted.includes(stem)))),
          consumesChunks: sink.consumesChunks,
        },
        opts,
      );
    },
  };
}

/** Returns the requested stems in the model's order; unknown names are a ValidationError. */
export function validateStems(available: readonly string[], requested: readonly string[]): string[] {
  const unknown = requested.filter((s) => !available.includes(s));
  if (unknown.length) {
    throw new ValidationError(
      ErrorCodes.UNKNOWN_STEM,
      `Unknown stem(s) ${unknown.join(', ')}; this model produces ${available.join(', ')}`,
      { stem: unknown[0], available: [...available] },
    );
  }
  return available.filter((s) => requested.includes(s));
}
