/**
 * The downloadable mix: the plain sum of the audible stems, each times its volume, exactly what
 * the player makes audible (mute and solo applied). Plain summing rather than an
 * OfflineAudioContext: the result is the exact arithmetic sum, which the browser test checks
 * sample by sample against the stems.
 */

export interface StemControl {
  volume: number;
  muted: boolean;
  solo: boolean;
}

/** The gain each stem plays at: 0 when muted, or when others are soloed and it is not. */
export function effectiveGains(controls: readonly StemControl[]): number[] {
  const anySolo = controls.some((c) => c.solo);
  return controls.map((c) => (c.muted || (anySolo && !c.solo) ? 0 : c.volume));
}

/**
 * Sums `stems[i]` (each an array of channels) weighted by `gains[i]`. The output has the largest
 * channel count and length among the stems with a non-zero gain; a mono stem feeds every channel.
 */
export function mixStems(stems: readonly Float32Array[][], gains: readonly number[]): Float32Array[] {
  const used = stems.map((s, i) => ({ s, g: gains[i] ?? 0 })).filter((x) => x.g !== 0 && x.s.length > 0);
  const channels = Math.max(1, ...used.map((x) => x.s.length));
  const frames = Math.max(0, ...used.map((x) => x.s[0].length));
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (const { s, g } of used) {
    for (let c = 0; c < channels; c++) {
      const src = s.length === 1 ? s[0] : s[c];
      if (!src) continue;
      const dst = out[c];
      for (let i = 0; i < src.length; i++) dst[i] += g * src[i];
    }
  }
  return out;
}

/** "karaoke" when the vocals-like stem is the only one left out, else the audible stems' names. */
export function mixLabel(names: readonly string[], gains: readonly number[]): string {
  const audible = names.filter((_, i) => gains[i] !== 0);
  const silent = names.filter((_, i) => gains[i] === 0);
  if (audible.length === 0) return 'silence';
  if (silent.length === 1 && /^(vocals|voice|center)$/i.test(silent[0])) return `no ${silent[0]} (karaoke)`;
  if (silent.length === 0) return 'all stems';
  return audible.join('+');
}
