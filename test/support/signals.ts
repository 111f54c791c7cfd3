/**
 * Deterministic test signals for DSP specs (interleaved float32, 44.1 kHz unless told otherwise).
 */

// Module-level aliases: global lookups in hot loops are slow inside jest's vm sandbox.
const { sin, PI, log10 } = Math;

/** xorshift32 PRNG returning floats in [0, 1). */
export function makeRng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Uniform white noise in [-amp, amp), interleaved. */
export function whiteNoise(samples: number, channels: number, seed: number, amp = 0.5): Float32Array {
  const rng = makeRng(seed);
  const out = new Float32Array(samples * channels);
  for (let i = 0; i < out.length; i++) out[i] = (rng() * 2 - 1) * amp;
  return out;
}

/** Sum of sines (one frequency set per channel, shifted per channel), interleaved. */
export function tones(samples: number, channels: number, freqs: number[], sampleRate = 44100): Float32Array {
  const out = new Float32Array(samples * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < samples; i++) {
      let v = 0;
      for (let j = 0; j < freqs.length; j++) {
        v += sin((2 * PI * freqs[j] * (1 + 0.01 * c) * i) / sampleRate + j);
      }
      out[i * channels + c] = (0.8 * v) / freqs.length;
    }
  }
  return out;
}

/** Linear chirp from f0 to f1 Hz over the signal, interleaved (channel c delayed by c samples). */
export function chirp(
  samples: number,
  channels: number,
  f0: number,
  f1: number,
  sampleRate = 44100,
): Float32Array {
  const out = new Float32Array(samples * channels);
  const dur = samples / sampleRate;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < samples; i++) {
      const t = (i - c) / sampleRate;
      const phase = 2 * PI * (f0 * t + ((f1 - f0) * t * t) / (2 * dur));
      out[i * channels + c] = 0.7 * sin(phase);
    }
  }
  return out;
}

/** Signal-to-noise ratio of `test` against `ref` in dB (over the first `length` values). */
export function snrDb(ref: ArrayLike<number>, test: ArrayLike<number>, length = ref.length): number {
  let sig = 0;
  let err = 0;
  for (let i = 0; i < length; i++) {
    sig += ref[i] * ref[i];
    const d = ref[i] - test[i];
    err += d * d;
  }
  if (err === 0) return Number.POSITIVE_INFINITY;
  return 10 * log10(sig / err);
}

/** Splits `data` (interleaved, `channels`) into chunks of random sample-frame counts in [0, maxFrames]. */
export function randomChunks(
  data: Float32Array,
  channels: number,
  maxFrames: number,
  seed: number,
): Float32Array[] {
  const rng = makeRng(seed);
  const chunks: Float32Array[] = [];
  let pos = 0;
  const total = data.length / channels;
  while (pos < total) {
    const k = Math.min(total - pos, Math.floor(rng() * (maxFrames + 1)));
    chunks.push(data.slice(pos * channels, (pos + k) * channels));
    pos += k;
  }
  return chunks;
}

/**
 * Index of the first element where two typed arrays differ bitwise, -1 when identical, or -2 when
 * the lengths differ. Much faster than jest's toEqual on large arrays.
 */
export function firstDifference(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  if (a.length !== b.length || a.BYTES_PER_ELEMENT !== b.BYTES_PER_ELEMENT) return -2;
  const ba = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const bb = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (ba.equals(bb)) return -1;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
