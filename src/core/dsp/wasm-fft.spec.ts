import * as v8 from 'v8';
import * as vm from 'vm';
import { RealFft } from './fft';
import { makeRng } from '../../../test/support/signals';
import { periodicHann } from './window';
import {
  createStftFft,
  fftBackend,
  pffftSupports,
  setFftBackendPreference,
  WasmRealFft,
  wasmFftLoadError,
  wasmFftMemoryBytes,
} from './wasm-fft';

function noise(n: number, seed: number): Float64Array {
  const rng = makeRng(seed);
  return Float64Array.from({ length: n }, () => rng() - 0.5);
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let peak = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    peak = Math.max(peak, Math.abs(b[i]));
  }
  return peak === 0 ? err : err / peak;
}

describe('WebAssembly SIMD FFT', () => {
  afterEach(() => setFftBackendPreference('auto'));

  it('loads on this Node (WebAssembly SIMD is in every supported Node)', () => {
    expect(fftBackend(4096)).toBe('wasm-simd');
    expect(wasmFftLoadError()).toBeNull();
    expect(createStftFft(4096)).toBeInstanceOf(WasmRealFft);
  });

  it('accepts exactly the sizes 2^a·3^b·5^c with a >= 5', () => {
    for (const n of [32, 64, 96, 4096, 5120, 6144, 7680, 8192]) expect(pffftSupports(n)).toBe(true);
    for (const n of [0, 16, 48, 100, 4095, 4097, 7 * 32, 1.5]) expect(pffftSupports(n)).toBe(false);
  });

  it('falls back to the JavaScript FFT for other sizes and when asked for js', () => {
    expect(createStftFft(100)).toBeInstanceOf(RealFft);
    expect(fftBackend(100)).toBe('js');
    expect(createStftFft(4096, 'js')).toBeInstanceOf(RealFft);
    setFftBackendPreference('js');
    expect(fftBackend(4096)).toBe('js');
    expect(createStftFft(4096)).toBeInstanceOf(RealFft);
  });

  it.each([64, 4096, 5120, 6144, 7680])('n = %i: forward matches RealFft within float32 rounding', (n) => {
    const wasm = createStftFft(n);
    const js = new RealFft(n);
    const x = noise(n, n);
    const w = periodicHann(n);
    const bins = n / 2 + 1;
    const planes = () => [new Float32Array(bins + 3), new Float32Array(bins + 3)];
    const [r1, i1] = planes();
    const [r2, i2] = planes();
    js.forwardWindowed32(x, w, r1, i1, 3);
    wasm.forwardWindowed32(x, w, r2, i2, 3);
    expect(maxRel(r2, r1)).toBeLessThan(1e-6);
    expect(maxRel(i2, i1)).toBeLessThan(1e-6);
    expect(i2[3]).toBe(0); // DC
    expect(i2[3 + bins - 1]).toBe(0); // Nyquist
    // storeBins: only the low band is written
    const [r3, i3] = planes();
    r3.fill(7);
    i3.fill(7);
    wasm.forwardWindowed32(x, w, r3, i3, 0, 10);
    expect(Array.from(r3.subarray(0, 10))).toEqual(Array.from(r2.subarray(3, 13)));
    expect(r3[10]).toBe(7);
    expect(i3[10]).toBe(7);
  });

  it.each([
    [4096, 1024, 0],
    [4096, 2049, 0],
    [4096, 1536, 0.25],
    [4096, 0, 0],
    [6144, 3, 0],
    [6144, 3073, 0.5],
  ])('n = %i: inverseScaledAccumulate(gainBins %i, above %d) matches RealFft', (n, G, above) => {
    const wasm = createStftFft(n);
    const js = new RealFft(n);
    const bins = n / 2 + 1;
    const re = Float32Array.from(noise(bins, 1));
    const im = Float32Array.from(noise(bins, 2));
    const gain = noise(bins, 3).map((v) => v + 0.5);
    const w = periodicHann(n);
    // Start from a full spectrum so stale high bins would show if they were not cleared.
    const warm = new Float64Array(n);
    wasm.inverseScaledAccumulate(gain, bins, 0, re, im, 0, warm, w);
    const a1 = noise(n, 4);
    const a2 = Float64Array.from(a1);
    js.inverseScaledAccumulate(gain, G, above, re, im, 0, a1, w);
    wasm.inverseScaledAccumulate(gain, G, above, re, im, 0, a2, w);
    expect(maxRel(a2, a1)).toBeLessThan(1e-6);
  });

  it('inverseAccumulate inverts forward (round trip through the window)', () => {
    const n = 4096;
    const fft = createStftFft(n);
    const x = noise(n, 9);
    const ones = new Float64Array(n).fill(1);
    const bins = n / 2 + 1;
    const re = new Float32Array(bins);
    const im = new Float32Array(bins);
    fft.forwardWindowed32(x, ones, re, im, 0);
    const acc = new Float64Array(n);
    fft.inverseAccumulate(Float64Array.from(re), Float64Array.from(im), 0, acc, ones);
    expect(maxRel(acc, x)).toBeLessThan(1e-6);
  });

  it('frees the buffers of collected instances: memory does not grow from one separation to the next', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const collect = async () => {
      gc();
      await new Promise((r) => setTimeout(r, 20)); // finalizers run in a later task
      gc();
      await new Promise((r) => setTimeout(r, 20));
    };
    // 200 instances of 8192 hold about 19 MB of buffers, like many separations' STFTs.
    const churn = () => {
      for (let i = 0; i < 200; i++) createStftFft(8192);
    };
    churn();
    await collect();
    const after1 = wasmFftMemoryBytes();
    churn();
    await collect();
    churn();
    await collect();
    expect(after1).toBeGreaterThan(16 * 1024 * 1024);
    // Without freeing, the two later rounds would add about 38 MB.
    expect(wasmFftMemoryBytes()).toBeLessThanOrEqual(after1 + 4 * 1024 * 1024);
  }, 30_000);

  it('keeps working after the WebAssembly memory grows (views are re-created)', () => {
    const first = createStftFft(4096);
    // Enough instances to grow the heap past its initial pages.
    for (let i = 0; i < 64; i++) createStftFft(8192);
    const x = noise(4096, 11);
    const ones = new Float64Array(4096).fill(1);
    const re = new Float32Array(2049);
    const im = new Float32Array(2049);
    first.forwardWindowed32(x, ones, re, im, 0);
    const r2 = new Float32Array(2049);
    const i2 = new Float32Array(2049);
    new RealFft(4096).forwardWindowed32(x, ones, r2, i2, 0);
    expect(maxRel(re, r2)).toBeLessThan(1e-6);
  });
});
