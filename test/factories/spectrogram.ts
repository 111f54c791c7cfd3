import { mulberry32 } from '../../src/core/onnx/test-weights';

/**
 * Spectrogram-like magnitudes for U-Net inputs [2, S, T, F]: heavy-tailed, decaying with frequency,
 * some exact zeros; seeded.
 */
export function spectrogramMagnitudes(S: number, T: number, F: number, seed = 1): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(2 * S * T * F);
  for (let i = 0; i < x.length; i++) {
    const f = i % F;
    const u = r();
    x[i] = u < 0.01 ? 0 : 40 * u ** 4 * Math.exp(-f / 300);
  }
  return x;
}
