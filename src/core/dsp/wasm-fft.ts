/**
 * Real FFT on PFFFT compiled to WebAssembly with 128-bit SIMD (`@echogarden/pffft-wasm`, BSD-3,
 * pinned to an exact version because its module exports are minified names). It runs the STFT's
 * transforms about 5x faster than the JavaScript `RealFft` (`scripts/bench/bench-fft.ts`), in
 * single precision: the STFT stores float32 spectra and the models run in float32 anyway, and the
 * STFT/iSTFT round trip stays above 130 dB SNR.
 *
 * PFFFT supports sizes 2^a·3^b·5^c with a >= 5 (every Spleeter and MDX-Net n_fft). `createStftFft`
 * picks it when the size is supported and the module loads and passes a self-test, and falls back
 * to `RealFft` (float64 JavaScript) otherwise; `fftBackend()` says which one a size gets.
 *
 * One WebAssembly instance per thread (module state), one setup per size, and three aligned
 * buffers of n floats per `WasmRealFft`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { RealFft } from './fft';

/** The transforms the STFT analyzer and synthesizer need; implemented by RealFft and WasmRealFft. */
export interface StftFft {
  readonly size: number;
  readonly bins: number;
  forwardWindowed32(
    input: Float64Array | Float32Array,
    window: Float64Array,
    re: Float32Array,
    im: Float32Array,
    outOffset: number,
    storeBins?: number,
  ): void;
  inverseAccumulate(
    re: Float64Array,
    im: Float64Array,
    inOffset: number,
    acc: Float64Array,
    window: Float64Array,
  ): void;
  inverseScaledAccumulate(
    gain: Float64Array,
    gainBins: number,
    gainAbove: number,
    re: Float32Array,
    im: Float32Array,
    inOffset: number,
    acc: Float64Array,
    window: Float64Array,
  ): void;
}

export type FftBackendName = 'wasm-simd' | 'js';
export type FftBackendPreference = 'auto' | 'js';

/** The few WebAssembly JS-API types used here (the project's TypeScript libs carry no DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { readonly exports: Record<string, unknown> };
  Memory: new (...args: never[]) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PFFFT_REAL = 0;
const PFFFT_FORWARD = 0;
const PFFFT_BACKWARD = 1;

interface Pffft {
  readonly memory: WasmMemory;
  alignedMalloc(bytes: number): number;
  alignedFree(ptr: number): void;
  newSetup(n: number, kind: number): number;
  transformOrdered(setup: number, input: number, output: number, work: number, dir: number): void;
}

let loaded: Pffft | null | undefined;
let loadError: string | null = null;
let preference: FftBackendPreference = 'auto';
const setups = new Map<number, number>();

/**
 * Process-wide (per thread) choice: 'auto' uses WebAssembly where possible, 'js' always the
 * float64 JavaScript FFT (e.g. to compare results, or where WebAssembly is not allowed).
 */
export function setFftBackendPreference(p: FftBackendPreference): void {
  preference = p;
}

/** Why the WebAssembly FFT is unavailable, or null when it loaded (or was not tried yet). */
export function wasmFftLoadError(): string | null {
  return loadError;
}

/** Bytes of WebAssembly memory the FFT module holds in this thread (0 before it is loaded). */
export function wasmFftMemoryBytes(): number {
  return loaded ? loaded.memory.buffer.byteLength : 0;
}

/** The backend `createStftFft(n)` returns for size n. */
export function fftBackend(n: number): FftBackendName {
  return preference !== 'js' && pffftSupports(n) && loadPffft() ? 'wasm-simd' : 'js';
}

/** An STFT transform of size n: WebAssembly SIMD when available for n, else RealFft. */
export function createStftFft(n: number, backend: FftBackendPreference = preference): StftFft {
  if (backend !== 'js' && pffftSupports(n)) {
    const lib = loadPffft();
    if (lib) return new WasmRealFft(n, lib);
  }
  return new RealFft(n);
}

/** n = 2^a·3^b·5^c with a >= 5. */
export function pffftSupports(n: number): boolean {
  if (!Number.isInteger(n) || n < 32 || n % 32 !== 0) return false;
  let m = n;
  for (const p of [2, 3, 5]) while (m % p === 0) m /= p;
  return m === 1;
}

function loadPffft(): Pffft | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = instantiate();
    selfTest(loaded);
  } catch (err) {
    loaded = null;
    loadError = (err as Error).message;
  }
  return loaded;
}

function wasmPath(): string {
  // The package exports "./simd" (its JS glue); the .wasm file lies beside it.
  return path.join(path.dirname(require.resolve('@echogarden/pffft-wasm/simd')), 'pffft.wasm');
}

/**
 * Instantiates the module without its ES-module glue (which needs import.meta): the three imports
 * are emscripten's assert, heap growth and memcpy; the exports are mapped by their minified names
 * in version 0.4.2 and checked below.
 */
function instantiate(): Pffft {
  const module = new wasm.Module(fs.readFileSync(wasmPath()));
  let memory: WasmMemory | null = null;
  const imports = {
    a: {
      a: () => {
        throw new Error('pffft: assertion failed');
      },
      b: (requested: number) => {
        const mem = memory!;
        const need = (requested >>> 0) - mem.buffer.byteLength;
        if (need <= 0) return 1;
        try {
          mem.grow(Math.ceil(need / 65536));
          return 1;
        } catch {
          return 0;
        }
      },
      c: (dest: number, src: number, num: number) => {
        new Uint8Array(memory!.buffer).copyWithin(dest, src, src + num);
      },
    },
  };
  const instance = new wasm.Instance(module, imports);
  const ex = instance.exports as Record<string, unknown>;
  const fn = (name: string, arity: number): ((...a: number[]) => number) => {
    const f = ex[name];
    if (typeof f !== 'function' || f.length !== arity)
      throw new Error(`pffft: export ${name} is not a ${arity}-argument function`);
    return f as (...a: number[]) => number;
  };
  if (!(ex.d instanceof wasm.Memory)) throw new Error('pffft: export d is not the memory');
  memory = ex.d;
  fn('e', 0)(); // static constructors
  const simdSize = fn('j', 0)();
  if (simdSize !== 4) throw new Error(`pffft: expected the SIMD build (simd size 4), got ${simdSize}`);
  const alignedMalloc = fn('f', 1);
  const alignedFree = fn('h', 1);
  const newSetup = fn('k', 2);
  const transformOrdered = fn('p', 5);
  return {
    memory: ex.d,
    alignedFree: (ptr) => {
      alignedFree(ptr);
    },
    alignedMalloc: (bytes) => {
      const p = alignedMalloc(bytes);
      if (!p) throw new Error('pffft: out of memory');
      return p;
    },
    newSetup: (n, kind) => {
      const s = newSetup(n, kind);
      if (!s) throw new Error(`pffft: no setup for size ${n}`);
      return s;
    },
    transformOrdered: (s, i, o, w, d) => {
      transformOrdered(s, i, o, w, d);
    },
  };
}

/** A 64-point cosine must land in its bin: catches a build whose exports moved or whose layout differs. */
function selfTest(lib: Pffft): void {
  const n = 64;
  const fft = new WasmRealFft(n, lib);
  const x = new Float64Array(n);
  const ones = new Float64Array(n).fill(1);
  for (let i = 0; i < n; i++) x[i] = Math.cos((2 * Math.PI * 3 * i) / n) + 0.5;
  const re = new Float32Array(fft.bins);
  const im = new Float32Array(fft.bins);
  fft.forwardWindowed32(x, ones, re, im, 0);
  const expectRe = (k: number): number => (k === 0 ? n / 2 : k === 3 ? n / 2 : 0);
  for (let k = 0; k < fft.bins; k++) {
    if (Math.abs(re[k] - expectRe(k)) > 1e-3 || Math.abs(im[k]) > 1e-3)
      throw new Error(`pffft: self-test failed at bin ${k}`);
  }
  const acc = new Float64Array(n);
  fft.inverseAccumulate(Float64Array.from(re), Float64Array.from(im), 0, acc, ones);
  for (let i = 0; i < n; i++) {
    if (Math.abs(acc[i] - x[i]) > 1e-4) throw new Error(`pffft: self-test round trip failed at ${i}`);
  }
}

/** Frees a collected WasmRealFft's buffers (the setups are shared per size and kept). */
const released = new FinalizationRegistry<{ lib: Pffft; ptrs: number[] }>(({ lib, ptrs }) => {
  for (const p of ptrs) lib.alignedFree(p);
});

function setupFor(lib: Pffft, n: number): number {
  let s = setups.get(n);
  if (s === undefined) {
    s = lib.newSetup(n, PFFFT_REAL);
    setups.set(n, s);
  }
  return s;
}

/**
 * Real FFT of even size n in WebAssembly. Spectra use PFFFT's ordered layout internally
 * ([X0.re, X(n/2).re, X1.re, X1.im, …]); the methods take and give the same planes as RealFft's.
 * Each instance holds three buffers of n floats in WebAssembly memory, freed when the instance is
 * garbage-collected: create one per analyzer/synthesizer, as the STFT classes do, not per call.
 */
export class WasmRealFft implements StftFft {
  readonly size: number;
  readonly bins: number;
  private readonly lib: Pffft;
  private readonly setup: number;
  private readonly inPtr: number;
  private readonly outPtr: number;
  private readonly workPtr: number;
  private buffer: ArrayBuffer;
  /** Views of the transform's input and output in WebAssembly memory. */
  private input: Float32Array;
  private output: Float32Array;
  /**
   * Plain staging copies: JavaScript loops over typed arrays on WebAssembly memory run about 2x
   * slower than over ordinary ones, while a bulk set() between them costs almost nothing.
   */
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  /** Floats of `x` from 2 on that may hold non-zero values from an earlier inverse call. */
  private dirty: number;
  private lastWindow: Float64Array | null = null;
  private lastScaled: Float64Array | null = null;

  constructor(n: number, lib: Pffft) {
    if (!pffftSupports(n)) throw new RangeError(`size ${n} is not supported by PFFFT`);
    this.size = n;
    this.bins = n / 2 + 1;
    this.lib = lib;
    this.setup = setupFor(lib, n);
    this.inPtr = lib.alignedMalloc(4 * n);
    this.outPtr = lib.alignedMalloc(4 * n);
    this.workPtr = lib.alignedMalloc(4 * n);
    // Every separation makes its own analyzer and synthesizers: their buffers in WebAssembly
    // memory go back to its allocator once this object is collected.
    released.register(this, { lib, ptrs: [this.inPtr, this.outPtr, this.workPtr] });
    this.buffer = lib.memory.buffer;
    this.input = new Float32Array(this.buffer, this.inPtr, n);
    this.output = new Float32Array(this.buffer, this.outPtr, n);
    this.x = new Float32Array(n);
    this.y = new Float32Array(n);
    this.dirty = 0;
  }

  /** Re-creates the views if the WebAssembly memory grew (which detaches the old buffer). */
  private views(): void {
    if (this.lib.memory.buffer !== this.buffer) {
      this.buffer = this.lib.memory.buffer;
      this.input = new Float32Array(this.buffer, this.inPtr, this.size);
      this.output = new Float32Array(this.buffer, this.outPtr, this.size);
    }
  }

  /** Spectrum of input[0..n) × window[0..n) into float32 planes; only bins < storeBins are written. */
  forwardWindowed32(
    input: Float64Array | Float32Array,
    window: Float64Array,
    re: Float32Array,
    im: Float32Array,
    outOffset: number,
    storeBins: number = this.bins,
  ): void {
    const n = this.size;
    const x = this.x;
    // Unrolled by 4 (n is a multiple of 32): V8 runs these loops ~1.7x faster so, same operations.
    for (let i = 0; i < n; i += 4) {
      x[i] = input[i] * window[i];
      x[i + 1] = input[i + 1] * window[i + 1];
      x[i + 2] = input[i + 2] * window[i + 2];
      x[i + 3] = input[i + 3] * window[i + 3];
    }
    this.dirty = n;
    this.transform(PFFFT_FORWARD);
    const y = this.y;
    const h = n >> 1;
    const off = outOffset;
    if (storeBins <= 0) return;
    re[off] = y[0];
    im[off] = 0;
    const last = storeBins - 1 < h - 1 ? storeBins - 1 : h - 1;
    for (let k = 1, j = 2; k <= last; k++, j += 2) {
      re[off + k] = y[j];
      im[off + k] = y[j + 1];
    }
    if (storeBins > h) {
      re[off + h] = y[1];
      im[off + h] = 0;
    }
  }

  /** acc[i] += irfft(re + i·im)[i] × window[i]; imaginary parts of DC and Nyquist are ignored. */
  inverseAccumulate(
    re: Float64Array,
    im: Float64Array,
    inOffset: number,
    acc: Float64Array,
    window: Float64Array,
  ): void {
    const x = this.x;
    const h = this.size >> 1;
    x[0] = re[inOffset];
    x[1] = re[inOffset + h];
    for (let k = 1, j = 2; k < h; k++, j += 2) {
      x[j] = re[inOffset + k];
      x[j + 1] = im[inOffset + k];
    }
    this.dirty = this.size;
    this.backward(acc, window);
  }

  /**
   * inverseAccumulate() of a gain-weighted float32 spectrum: bin k is g_k × (re[k] + i·im[k]),
   * g_k = gain[k] for k < gainBins and `gainAbove` beyond (with gainAbove = 0, bins >= gainBins
   * are never read).
   */
  inverseScaledAccumulate(
    gain: Float64Array,
    gainBins: number,
    gainAbove: number,
    re: Float32Array,
    im: Float32Array,
    inOffset: number,
    acc: Float64Array,
    window: Float64Array,
  ): void {
    const x = this.x;
    const h = this.size >> 1;
    const G = gainBins < 0 ? 0 : gainBins > h + 1 ? h + 1 : gainBins;
    x[0] = (G > 0 ? gain[0] : gainAbove) * re[inOffset];
    x[1] = gainAbove === 0 && h >= G ? 0 : (h < G ? gain[h] : gainAbove) * re[inOffset + h];
    const lowEnd = G < h ? G : h; // bins 1 .. lowEnd-1 take gain[k]
    let j = 2;
    let k = 1;
    for (; k + 1 < lowEnd; k += 2, j += 4) {
      const g0 = gain[k];
      const g1 = gain[k + 1];
      const o = inOffset + k;
      x[j] = g0 * re[o];
      x[j + 1] = g0 * im[o];
      x[j + 2] = g1 * re[o + 1];
      x[j + 3] = g1 * im[o + 1];
    }
    for (; k < lowEnd; k++, j += 2) {
      const g = gain[k];
      x[j] = g * re[inOffset + k];
      x[j + 1] = g * im[inOffset + k];
    }
    if (gainAbove === 0) {
      if (this.dirty > j) x.fill(0, j, this.dirty);
      this.dirty = j;
    } else {
      for (let k = lowEnd > 1 ? lowEnd : 1; k < h; k++, j += 2) {
        x[j] = gainAbove * re[inOffset + k];
        x[j + 1] = gainAbove * im[inOffset + k];
      }
      this.dirty = this.size;
    }
    this.backward(acc, window);
  }

  /** x → WebAssembly memory → transform → y. */
  private transform(direction: number): void {
    this.views();
    this.input.set(this.x);
    this.lib.transformOrdered(this.setup, this.inPtr, this.outPtr, this.workPtr, direction);
    this.y.set(this.output);
  }

  private backward(acc: Float64Array, window: Float64Array): void {
    this.transform(PFFFT_BACKWARD);
    const y = this.y;
    const n = this.size;
    const sw = this.scaledWindow(window);
    for (let i = 0; i < n; i += 4) {
      acc[i] += y[i] * sw[i];
      acc[i + 1] += y[i + 1] * sw[i + 1];
      acc[i + 2] += y[i + 2] * sw[i + 2];
      acc[i + 3] += y[i + 3] * sw[i + 3];
    }
  }

  /**
   * window / n (the inverse transform's scale folded in), computed once per window array: windows
   * are fixed per analyzer/synthesizer and must not be modified in place.
   */
  private scaledWindow(window: Float64Array): Float64Array {
    if (window !== this.lastWindow) {
      const n = this.size;
      const sw = (this.lastScaled ??= new Float64Array(n));
      for (let i = 0; i < n; i++) sw[i] = window[i] / n;
      this.lastWindow = window;
    }
    return this.lastScaled!;
  }
}
