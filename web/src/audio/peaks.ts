/** Min/max per pixel column for drawing a waveform (all channels folded together). */
export function computePeaks(channels: readonly Float32Array[], columns: number): Float32Array {
  const n = Math.max(1, Math.floor(columns));
  const peaks = new Float32Array(n * 2);
  const frames = channels[0]?.length ?? 0;
  if (frames === 0) return peaks;
  const step = frames / n;
  for (let col = 0; col < n; col++) {
    const from = Math.floor(col * step);
    const to = Math.max(from + 1, Math.min(frames, Math.floor((col + 1) * step)));
    let lo = 0;
    let hi = 0;
    for (const ch of channels) {
      for (let i = from; i < to; i++) {
        const v = ch[i];
        if (v < lo) lo = v;
        else if (v > hi) hi = v;
      }
    }
    peaks[col * 2] = lo;
    peaks[col * 2 + 1] = hi;
  }
  return peaks;
}
