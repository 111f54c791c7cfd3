import { createHash } from 'crypto';
import type { Readable } from 'stream';

/**
 * Result-cache keys: `<URI-encoded model name>:<sha256 hex>`. The hash covers the input bytes'
 * sha256, the model name and version, and every option that changes the output bytes; the model
 * prefix lets `clear({ model })` find a model's entries in Redis with one SCAN pattern.
 */
export interface ResultCacheKeyInput {
  /** sha256 (hex) of the input file's bytes (sha256Hex / sha256Stream). */
  inputSha256: string;
  model: string;
  modelVersion?: string;
  /**
   * Every option that changes the output bytes (pickOutputOptions does this for the library's
   * SeparationRequestOptions), plus anything else that does: model precision, execution provider,
   * engine version. Key order does not matter; `undefined` values are ignored.
   */
  options?: Record<string, unknown>;
}

/** Bump when the cached value format or the engine's output changes in a way options don't capture. */
export const RESULT_CACHE_KEY_VERSION = 1;

export function buildResultCacheKey(input: ResultCacheKeyInput): string {
  if (!/^[0-9a-f]{64}$/.test(input.inputSha256)) {
    throw new TypeError('inputSha256 must be a lowercase sha256 hex digest');
  }
  const material = canonicalJson({
    v: RESULT_CACHE_KEY_VERSION,
    input: input.inputSha256,
    model: input.model,
    version: input.modelVersion ?? null,
    options: input.options ?? {},
  });
  return `${modelKeyPrefix(input.model)}${createHash('sha256').update(material).digest('hex')}`;
}

/** The output-changing subset of the library's separation options, normalised (stems sorted). */
export function pickOutputOptions(options: {
  stems?: readonly string[] | null;
  codec?: string | null;
  bitDepth?: number | null;
  bitrateKbps?: number | null;
  sampleRate?: number | null;
  offsetSec?: number | null;
  durationSec?: number | null;
  mwf?: boolean | null;
  bandwidth?: string | null;
  /** MDX-Net only (absent for other models, whose keys are unchanged by these options' arrival). */
  overlap?: string | number | null;
  denoise?: boolean | null;
  /** Absent when off, so keys of requests without them are unchanged by their arrival. */
  preprocess?: boolean | null;
  highpassHz?: number | null;
  noiseReduction?: boolean | null;
  normalizeLoudness?: boolean | null;
  targetLufs?: number | null;
  /** Stem tagging: only `false` (untagged stems) enters the key, so tagged keys are unchanged. */
  tags?: boolean | null;
}): Record<string, unknown> {
  const v = <T>(x: T | null | undefined): T | undefined => (x === null ? undefined : x);
  return {
    stems: options.stems ? [...options.stems].sort() : undefined,
    codec: v(options.codec),
    bitDepth: v(options.bitDepth),
    bitrateKbps: v(options.bitrateKbps),
    sampleRate: v(options.sampleRate),
    offsetSec: v(options.offsetSec),
    durationSec: v(options.durationSec),
    mwf: v(options.mwf),
    bandwidth: v(options.bandwidth),
    overlap: v(options.overlap),
    denoise: v(options.denoise),
    preprocess: options.preprocess ? true : undefined,
    highpassHz: v(options.highpassHz),
    noiseReduction: options.noiseReduction ? true : undefined,
    normalizeLoudness: options.normalizeLoudness ? true : undefined,
    targetLufs: options.normalizeLoudness ? v(options.targetLufs) : undefined,
    tags: options.tags === false ? false : undefined,
  };
}

export function modelKeyPrefix(model: string): string {
  return `${encodeURIComponent(model)}:`;
}

/** The model a key built by buildResultCacheKey belongs to (undefined for other keys). */
export function modelOfKey(key: string): string | undefined {
  const i = key.lastIndexOf(':');
  if (i <= 0) return undefined;
  try {
    return decodeURIComponent(key.slice(0, i));
  } catch {
    return undefined;
  }
}

export function sha256Hex(data: Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hashes a stream without holding it in memory (uploads can be a gigabyte). */
export async function sha256Stream(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** JSON with object keys sorted at every level and undefined members dropped: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new TypeError('non-finite number in cache key');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (Buffer.isBuffer(value)) throw new TypeError('Buffer in cache key options; hash it first');
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}
