import type { TransformFnParams } from 'class-transformer';

// Multipart fields and query parameters arrive as strings; these turn them into the DTO's types
// while leaving anything unconvertible as-is, so the validators reject it with a clear message.

export function toNumber({ value }: TransformFnParams): unknown {
  if (typeof value !== 'string' || value.trim() === '') return value;
  const n = Number(value);
  return Number.isNaN(n) ? value : n;
}

/** 'default' (any case) stays a word; a number string becomes a number (range checked by the validator). */
export function toMdxOverlap(params: TransformFnParams): unknown {
  const { value } = params;
  if (typeof value === 'string' && value.trim().toLowerCase() === 'default') return 'default';
  return toNumber(params);
}

export function toBoolean({ value }: TransformFnParams): unknown {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return value;
}

/** `a,b` or a repeated field (`stems=a&stems=b`) → ['a', 'b']. */
export function toStringList({ value }: TransformFnParams): unknown {
  const parts = Array.isArray(value) ? value : typeof value === 'string' ? [value] : null;
  if (!parts || !parts.every((p) => typeof p === 'string')) return value;
  return (parts as string[])
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}
