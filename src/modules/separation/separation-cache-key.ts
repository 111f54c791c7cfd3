import { createHash } from 'crypto';
import { pickOutputOptions } from '../../common/cache/cache-key';
import type { SeparationJobOptions } from './separation-options';

/**
 * Result-cache key: sha256 over the input bytes' hash, the exact model (name@version) and every
 * option that changes the output (the one list in cache/core/cache-key.ts). Options must already be
 * normalised (defaults filled), so two requests producing identical files share a key. Bump `v`
 * when the engine's output for the same inputs changes.
 */
export function separationCacheKey(
  inputSha256: string,
  model: { name: string; version?: string | null },
  options: SeparationJobOptions,
): string {
  const canonical = JSON.stringify({
    // 2: stems carry the input's tags and cover art (version 1 entries hold untagged stems).
    v: 2,
    input: inputSha256,
    model: `${model.name}@${model.version ?? ''}`,
    options: pickOutputOptions(options),
  });
  return createHash('sha256').update(canonical).digest('hex');
}
