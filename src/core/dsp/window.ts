/**
 * Window functions. Analysis/synthesis windows are periodic Hann everywhere (MODEL-FORMATS D);
 * only UVR's chunk cross-fade uses the symmetric Hann.
 */

/** Periodic Hann: w[n] = 0.5 - 0.5*cos(2*pi*n/N), n < N (tf.signal.hann_window(periodic=True)). */
export function periodicHann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/** Symmetric Hann: w[n] = 0.5 - 0.5*cos(2*pi*n/(N-1)) (scipy/numpy np.hanning). */
export function symmetricHann(n: number): Float64Array {
  const w = new Float64Array(n);
  if (n === 1) {
    w[0] = 1;
    return w;
  }
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  return w;
}

/**
 * Sum of squared, hop-shifted copies of `window` at one position (constant for COLA windows):
 * for periodic Hann 4096/1024 this is 1.5, whose inverse is Spleeter's 2/3 iSTFT factor.
 */
export function squaredWindowOverlapSum(window: Float64Array, hop: number): number {
  let sum = 0;
  for (let i = 0; i < window.length; i += hop) sum += window[i] * window[i];
  return sum;
}
