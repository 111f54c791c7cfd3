/**
 * Sources and sinks for separator specs and benchmarks.
 */
import { randomChunks } from './signals';
import type { StemSink } from '../../src/core/separation/types';

export interface CollectingSink extends StemSink {
  /** Every write's arrays, per stem. */
  readonly chunks: Map<string, Float32Array[]>;
  /** Number of write() calls. */
  writes: number;
  /** Concatenated output of one stem. */
  stem(name: string): Float32Array;
}

/** A sink that keeps everything and checks that each write carries equal lengths for all stems. */
export function collectingSink(
  onWrite?: (stems: ReadonlyMap<string, Float32Array>) => void | Promise<void>,
): CollectingSink {
  const chunks = new Map<string, Float32Array[]>();
  const sink: CollectingSink = {
    chunks,
    writes: 0,
    async write(stems) {
      const lengths = new Set([...stems.values()].map((a) => a.length));
      if (lengths.size !== 1)
        throw new Error(`stems written with different lengths: ${[...lengths].join(', ')}`);
      for (const [name, data] of stems) {
        if (!chunks.has(name)) chunks.set(name, []);
        (chunks.get(name) as Float32Array[]).push(data);
      }
      sink.writes++;
      await onWrite?.(stems);
    },
    stem(name) {
      const parts = chunks.get(name) ?? [];
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    },
  };
  return sink;
}

export interface SourceProbe {
  /** Sample frames handed out so far. */
  pulled: number;
  /** Times the iterator was closed early (return()). */
  closed: number;
  /** Times openSource() was called. */
  opened: number;
}

/**
 * openSource() over an interleaved stereo buffer: one chunk, fixed-size chunks, or random sizes
 * (`chunkFrames` < 0 means random sizes up to -chunkFrames, seeded by `seed`).
 */
export function bufferSource(
  data: Float32Array,
  chunkFrames = 0,
  seed = 1,
  probe?: SourceProbe,
): () => AsyncIterable<Float32Array> {
  return () => {
    if (probe) probe.opened++;
    let chunks: Float32Array[];
    if (chunkFrames === 0) chunks = [data];
    else if (chunkFrames < 0) chunks = randomChunks(data, 2, -chunkFrames, seed);
    else {
      chunks = [];
      for (let i = 0; i < data.length; i += 2 * chunkFrames)
        chunks.push(data.subarray(i, Math.min(data.length, i + 2 * chunkFrames)));
    }
    return {
      [Symbol.asyncIterator](): AsyncIterator<Float32Array> {
        let i = 0;
        return {
          async next() {
            if (i >= chunks.length) return { done: true, value: undefined };
            const value = chunks[i++];
            if (probe) probe.pulled += value.length / 2;
            return { done: false, value };
          },
          async return() {
            if (probe) probe.closed++;
            i = chunks.length;
            return { done: true, value: undefined };
          },
        };
      },
    };
  };
}
