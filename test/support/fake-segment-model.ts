/**
 * In-memory SegmentModel implementations for tests and DSP benchmarks (no onnxruntime).
 *
 * - 'identity': every instrument returns the input magnitude (ratio masks are then exactly 1/n).
 * - 'scaled':   instrument i returns gains[i] × input.
 * - 'random':   deterministic pseudo-random per (instrument, channel, frame-in-segment, bin) gain
 *               times a little time/frequency context (previous frame, next bin) of the same
 *               segment, like a convolutional network: wrong tensor layouts or segment stitching
 *               change the result. Segments are processed independently, so batching never does.
 */
import { SPLEETER_T, SegmentModel } from '../../src/core/spleeter/types';

export type FakeModelKind = 'identity' | 'scaled' | 'random';

export interface FakeSegmentModelOptions {
  kind?: FakeModelKind;
  instruments?: string[];
  F?: number;
  /** Per-instrument gains for 'scaled' (default 1, 2, 3...). */
  gains?: number[];
  seed?: number;
  /** Artificial latency per call, to exercise abort/progress paths. */
  delayMs?: number;
}

// Module-level alias: global lookups are slow inside jest's vm sandbox.
const imul = Math.imul;

function mix(h: number, v: number): number {
  h = imul(h ^ v, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Cheap integer hash of four small integers to [0, 1). */
function hash4(a: number, b: number, c: number, d: number, seed: number): number {
  return mix(mix(mix(mix((seed ^ 0x9e3779b9) >>> 0, a), b), c), d) / 4294967296;
}

export class FakeSegmentModel implements SegmentModel {
  readonly instruments: readonly string[];
  readonly F: number;
  readonly executionProvider = 'fake';
  readonly kind: FakeModelKind;
  /** S of every run() call, in order. */
  readonly calls: number[] = [];
  disposed = false;
  private readonly gains: number[];
  private readonly seed: number;
  private readonly delayMs: number;
  /** Gains of the 'random' kind, [instrument][channel][t][f], built once. */
  private readonly table: Float32Array | null;

  constructor(options: FakeSegmentModelOptions = {}) {
    this.instruments = options.instruments ?? ['vocals', 'accompaniment'];
    this.F = options.F ?? 1024;
    this.kind = options.kind ?? 'identity';
    this.gains = options.gains ?? this.instruments.map((_, i) => i + 1);
    this.seed = options.seed ?? 1;
    this.delayMs = options.delayMs ?? 0;
    this.table = null;
    if (this.kind === 'random') {
      const n = this.instruments.length;
      const table = new Float32Array(n * 2 * SPLEETER_T * this.F);
      let idx = 0;
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 2; c++) {
          for (let t = 0; t < SPLEETER_T; t++) {
            for (let f = 0; f < this.F; f++) table[idx++] = 0.02 + hash4(i, c, t, f, this.seed);
          }
        }
      }
      this.table = table;
    }
  }

  async run(input: Float32Array, S: number, signal?: AbortSignal): Promise<Float32Array[]> {
    const F = this.F;
    const expected = 2 * S * SPLEETER_T * F;
    if (input.length !== expected) throw new Error(`fake model: input length ${input.length} != ${expected}`);
    this.calls.push(S);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (signal?.aborted) throw new Error('aborted');
    switch (this.kind) {
      case 'identity':
        return this.instruments.map(() => input.slice());
      case 'scaled':
        return this.instruments.map((_, i) => {
          const g = this.gains[i];
          const out = new Float32Array(expected);
          for (let k = 0; k < expected; k++) out[k] = input[k] * g;
          return out;
        });
      default:
        return this.instruments.map((_, i) => this.randomOutput(input, S, i));
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }

  private randomOutput(input: Float32Array, S: number, instrument: number): Float32Array {
    const F = this.F;
    const T = SPLEETER_T;
    const out = new Float32Array(input.length);
    const table = this.table as Float32Array;
    for (let c = 0; c < 2; c++) {
      const gBase = (instrument * 2 + c) * T * F;
      for (let s = 0; s < S; s++) {
        const base = (c * S + s) * T * F;
        for (let t = 0; t < T; t++) {
          const row = base + t * F;
          const prev = t > 0 ? row - F : -1;
          const g = gBase + t * F;
          for (let f = 0; f < F; f++) {
            const here = input[row + f];
            const before = prev >= 0 ? input[prev + f] : 0;
            const above = f + 1 < F ? input[row + f + 1] : 0;
            out[row + f] = table[g + f] * (0.6 * here + 0.3 * before + 0.1 * above);
          }
        }
      }
    }
    return out;
  }
}
