/**
 * The MDX-Net processing options every interface offers (separator, library, CLI, REST), so all
 * accept and refuse the same values:
 * - overlap: `'default'` (UVR's `overlap_mdx = 'Default'`: chunks start every chunk − n_fft
 *   samples) or the fraction of a chunk shared with the next one, 0–0.99 (UVR's menu tops out at
 *   0.99; python-audio-separator's default is 0.25);
 * - denoise: UVR's ½·model(x) − ½·model(−x) (twice the inference).
 * Both mean nothing to Spleeter or built-in models, which refuse them (OPTION_NOT_SUPPORTED).
 */
import { ErrorCodes, ValidationError } from '../errors';

export type MdxOverlap = 'default' | number;

export const MDX_DEFAULT_OVERLAP = 'default' as const;
export const MDX_MAX_OVERLAP = 0.99;

export function isMdxOverlap(value: unknown): value is MdxOverlap {
  return (
    value === MDX_DEFAULT_OVERLAP ||
    (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MDX_MAX_OVERLAP)
  );
}

export const MDX_OVERLAP_RULE = `overlap must be 'default' or a number from 0 to ${MDX_MAX_OVERLAP}`;

/** Throws VALIDATION_FAILED (field `overlap`) unless `value` is an MdxOverlap. */
export function assertMdxOverlap(value: unknown): asserts value is MdxOverlap {
  if (!isMdxOverlap(value)) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `${MDX_OVERLAP_RULE}, got ${String(value)}`, {
      field: 'overlap',
    });
  }
}

/**
 * Text (CLI argument, form field) → MdxOverlap, or undefined when it is neither `default` nor a
 * plain decimal number in range.
 */
export function parseMdxOverlap(text: string): MdxOverlap | undefined {
  const t = text.trim().toLowerCase();
  if (t === MDX_DEFAULT_OVERLAP) return MDX_DEFAULT_OVERLAP;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(t)) return undefined;
  const n = Number(t);
  return isMdxOverlap(n) ? n : undefined;
}

/**
 * Throws OPTION_NOT_SUPPORTED when overlap or denoise is given (any value, defaults included) for
 * a model that is not MDX-Net: a client that sets them expects them to act.
 */
export function refuseMdxOptions(
  model: { name: string; kind: string },
  options: { overlap?: unknown; denoise?: unknown },
): void {
  if (model.kind === 'mdx') return;
  const given = (['overlap', 'denoise'] as const).filter(
    (k) => options[k] !== undefined && options[k] !== null,
  );
  if (given.length === 0) return;
  const what =
    model.kind === 'builtin'
      ? 'a built-in DSP model'
      : `a ${model.kind === 'spleeter' ? 'Spleeter' : model.kind} model`;
  throw new ValidationError(
    ErrorCodes.OPTION_NOT_SUPPORTED,
    `${given.join(' and ')} ${given.length > 1 ? 'apply' : 'applies'} to MDX-Net models only; ${model.name} is ${what}`,
    { field: given[0], model: model.name, kind: model.kind },
  );
}
