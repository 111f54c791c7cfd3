import { applyDecorators } from '@nestjs/common';
import { Transform, type TransformFnParams } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';

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

// The two decorators below list their parts bottom first, the order TypeScript applies a written
// stack `@IsOptional() @Transform(toNumber) @Is…() @Min() @Max()`, so messages keep their order.

/** An optional integer in [min, max] that may arrive as a string. */
export const OptionalInt = (min: number, max: number): PropertyDecorator =>
  applyDecorators(Max(max), Min(min), IsInt(), Transform(toNumber), IsOptional());

/** An optional finite number in [min, max] that may arrive as a string. */
export const OptionalNumber = (min: number, max: number): PropertyDecorator =>
  applyDecorators(
    Max(max),
    Min(min),
    IsNumber({ allowNaN: false, allowInfinity: false }),
    Transform(toNumber),
    IsOptional(),
  );
