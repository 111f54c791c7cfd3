import { createHash } from 'crypto';
import type { SeparationJobOptions } from './separation-options';

/**
 * Result-cache key: sha256 over the input bytes' hash, the exact model (name@version) and every
 * option that changes the output. Options must already be normalised (defaults filled, sorted
 * stems), so two requests producing identical files share a key. Bump `v` when the engine's output
 * for the same inputs changes.
 */
export function separationCacheKey(
  inputSha256: string,
  model: { name: string; version?: string | null },
  options: SeparationJobOptions,
): string {
  const canonical = JSON.stringify({
    v: 1,
    input: inputSha256,
    model: `${model.name}@${model.version ?? ''}`,
    stems: options.stems,
    codec: options.codec,
    bitDepth: options.bitDepth,
    bitrateKbps: options.bitrateKbps,
    sampleRate: options.sampleRate,
    offsetSec: options.offsetSec,
    durationSec: options.durationSec,
    mwf: options.mwf,
    bandwidth: options.bandwidth,
  });
  return createHash('sha256').update(canonical).digest('hex');
}
