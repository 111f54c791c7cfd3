/**
 * Streaming band-limited resampler (Kaiser-windowed sinc, polyphase) for arbitrary integer rates.
 *
 * Design (all in units of input samples):
 * - Output sample k sits exactly at input time t_k = k·in/out: no delay, no latency compensation
 *   for callers. Before the first input sample and after the last one the signal is zero.
 * - Output length is round(N·out/in) (half up), computed with integers.
 * - Prototype low-pass h(x) = 2fc·sinc(2fc·x)·kaiser(x/W). The transition band runs from 0.9 to 1.0
 *   of the lower rate's Nyquist frequency (cutoff in the middle): flat passband to 0.9·Nyquist and
 *   nothing aliases or images into the band below the lower Nyquist. Kaiser β for 100 dB design
 *   attenuation, so the measured stopband clears 90 dB with float32 signals.
 * - The rate ratio is reduced to L/M. Each of the L fractional positions gets its own precomputed
 *   tap set (polyphase table), normalised to unit DC gain. When L·taps would be too large (coprime
 *   odd rates such as 44100 → 96001) the taps are interpolated linearly from a finely oversampled
 *   prototype instead.
 * - Streaming: every output is computed from the same inputs with the same taps in the same order
 *   whatever the chunking, so chunked output is bit-identical to whole-signal output.
 */

export interface ResamplerOptions {
  inputRate: number;
  outputRate: number;
  channels: number;
  /** Design stopband attenuation in dB (default 100). */
  attenuationDb?: number;
  /** Transition band as a fraction of the lower Nyquist (default 0.1: flat to 0.9·Nyquist). */
  transitionFraction?: number;
}

const MAX_TABLE_ENTRIES = 1 << 21;

interface TableSet {
  table?: Float64Array;
  proto?: Float64Array;
  oversample?: number;
}
/** Tables are immutable and depend only on the ratio and design: share them between instances. */
const TABLE_CACHE = new Map<string, TableSet>();
const TABLE_CACHE_SIZE = 8;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** I0, the zeroth-order modified Bessel function of the first kind (series; converges fast). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Number of output samples for `inputFrames` input frames: round(N·out/in), half up. */
export function resampledLength(inputFrames: number, inputRate: number, outputRate: number): number {
  const g = gcd(outputRate, inputRate);
  const up = outputRate / g;
  const down = inputRate / g;
  return Math.floor((2 * inputFrames * up + down) / (2 * down));
}

export class Resampler {
  readonly channels: number;
  readonly inputRate: number;
  readonly outputRate: number;
  /** Reduced ratio: L output positions per M input samples. */
  readonly up: number;
  readonly down: number;
  /** Taps per output sample. */
  readonly taps: number;
  private readonly half: number;
  private readonly passthrough: boolean;

  // Exact polyphase table: `up` rows of `taps` coefficients.
  private readonly table: Float64Array | null;
  // Interpolated mode: prototype sampled `oversample` times per input sample over [-half, half].
  private readonly proto: Float64Array | null;
  private readonly oversample: number;
  private readonly scratch: Float64Array;

  // Planar history; hist[c][0] is absolute input index `histStart`.
  private readonly hist: Float32Array[];
  private histStart: number;
  private histLength: number;
  private inputFrames = 0;

  // Next output: index k, its base input index n0 = floor(k·M/L) and phase p = k·M mod L.
  private outIndex = 0;
  private n0 = 0;
  private phase = 0;
  private finished = false;

  constructor(options: ResamplerOptions) {
    const { inputRate, outputRate, channels } = options;
    for (const [name, v] of Object.entries({ inputRate, outputRate, channels })) {
      if (!Number.isInteger(v) || v < 1 || v > 10_000_000)
        throw new RangeError(`Resampler: invalid ${name} ${v}`);
    }
    this.channels = channels;
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    const g = gcd(outputRate, inputRate);
    this.up = outputRate / g;
    this.down = inputRate / g;
    this.passthrough = inputRate === outputRate;

    const attenuation = options.attenuationDb ?? 100;
    const transition = options.transitionFraction ?? 0.1;
    const lowerNyquist = Math.min(inputRate, outputRate) / 2;
    const cutoff = (lowerNyquist * (1 - transition / 2)) / inputRate; // cycles per input sample
    const width = (lowerNyquist * transition) / inputRate;
    const beta =
      attenuation > 50
        ? 0.1102 * (attenuation - 8.7)
        : 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21);
    const span = (attenuation - 7.95) / (2.285 * 2 * Math.PI * width) + 1; // Kaiser's length estimate
    const halfWidth = span / 2;
    // Taps rounded up to a multiple of 4 for the unrolled dot products below.
    this.half = this.passthrough ? 2 : 2 * Math.ceil(halfWidth / 2);
    this.taps = 2 * this.half;
    this.scratch = new Float64Array(this.taps);
    this.table = null;
    this.proto = null;
    this.oversample = 0;

    const i0Beta = besselI0(beta);
    const h = (x: number): number => {
      if (x <= -halfWidth || x >= halfWidth) return 0;
      const r = x / halfWidth;
      const y = 2 * cutoff * x;
      const sinc = y === 0 ? 1 : Math.sin(Math.PI * y) / (Math.PI * y);
      return 2 * cutoff * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta);
    };

    if (!this.passthrough) {
      const key = `${this.up}/${this.down}/${attenuation}/${transition}`;
      let cached = TABLE_CACHE.get(key);
      if (!cached) {
        cached =
          this.up * this.taps <= MAX_TABLE_ENTRIES ? { table: this.buildTable(h) } : this.buildPrototype(h);
        TABLE_CACHE.set(key, cached);
        if (TABLE_CACHE.size > TABLE_CACHE_SIZE) TABLE_CACHE.delete(TABLE_CACHE.keys().next().value!);
      }
      this.table = cached.table ?? null;
      this.proto = cached.proto ?? null;
      this.oversample = cached.oversample ?? 0;
    }

    // Start with half-1 zeros of history: output 0 needs inputs from index 1-half.
    const capacity = Math.max(4096, this.taps * 4);
    this.hist = Array.from({ length: channels }, () => new Float32Array(capacity));
    this.histStart = -(this.half - 1);
    this.histLength = this.half - 1;
  }

  /** One row of `taps` coefficients per phase p/L, each row normalised to unit DC gain. */
  private buildTable(h: (x: number) => number): Float64Array {
    const table = new Float64Array(this.up * this.taps);
    for (let p = 0; p < this.up; p++) {
      const frac = p / this.up;
      let sum = 0;
      for (let i = 0; i < this.taps; i++) {
        const c = h(frac + this.half - 1 - i);
        table[p * this.taps + i] = c;
        sum += c;
      }
      for (let i = 0; i < this.taps; i++) table[p * this.taps + i] /= sum;
    }
    return table;
  }

  /**
   * Prototype sampled at x = c + r/os - half, stored row-major by the fraction r (os + 1 rows of
   * taps + 1 columns): the taps of one output share r and have consecutive c, so they are read
   * contiguously instead of striding through megabytes of table.
   */
  private buildPrototype(h: (x: number) => number): TableSet {
    const oversample = Math.max(256, Math.min(4096, Math.floor(MAX_TABLE_ENTRIES / this.taps)));
    const cols = this.taps + 1;
    const proto = new Float64Array((oversample + 1) * cols);
    for (let r = 0; r <= oversample; r++) {
      for (let c = 0; c < cols; c++) proto[r * cols + c] = h(c + r / oversample - this.half);
    }
    return { proto, oversample };
  }

  /** Output frames produced so far. */
  get framesOut(): number {
    return this.outIndex;
  }

  /** Resamples the next chunk of interleaved frames; returns what can be produced so far. */
  process(input: Float32Array): Float32Array {
    if (this.finished) throw new Error('Resampler: process() after flush()');
    if (input.length % this.channels !== 0) {
      throw new RangeError(`Resampler: ${input.length} samples is not a whole number of frames`);
    }
    const frames = input.length / this.channels;
    this.inputFrames += frames;
    if (this.passthrough) {
      this.outIndex += frames;
      return input;
    }
    this.append(input, frames);
    // Output k is ready once its last tap (n0 + half) has arrived.
    return this.emit(
      this.inputFrames - 1 - this.half,
      resampledLength(this.inputFrames, this.inputRate, this.outputRate),
    );
  }

  /** Ends the stream: emits the tail so the total is exactly round(N·out/in). */
  flush(): Float32Array {
    if (this.finished) return new Float32Array(0);
    this.finished = true;
    const total = resampledLength(this.inputFrames, this.inputRate, this.outputRate);
    if (this.passthrough) return new Float32Array(0);
    this.append(null, this.half); // zeros after the end
    return this.emit(Number.MAX_SAFE_INTEGER, total);
  }

  /** Appends `frames` frames (zeros when input is null) to the planar history. */
  private append(input: Float32Array | null, frames: number): void {
    const keepFrom = this.n0 - this.half + 1; // oldest input the next output needs
    const drop = Math.max(0, Math.min(keepFrom - this.histStart, this.histLength));
    const needed = this.histLength - drop + frames;
    for (let c = 0; c < this.channels; c++) {
      let buf = this.hist[c];
      if (drop > 0) buf.copyWithin(0, drop, this.histLength);
      if (needed > buf.length) {
        const grown = new Float32Array(Math.max(needed, buf.length * 2));
        grown.set(buf.subarray(0, this.histLength - drop));
        buf = grown;
        this.hist[c] = buf;
      }
      const base = this.histLength - drop;
      if (input) {
        const channels = this.channels;
        for (let i = 0, j = c; i < frames; i++, j += channels) buf[base + i] = input[j];
      } else {
        buf.fill(0, base, base + frames);
      }
    }
    this.histStart += drop;
    this.histLength = needed;
  }

  private emit(lastBase: number, total: number): Float32Array {
    // Count first (integer stepping only) so the output is allocated once per call.
    let count = 0;
    {
      let k = this.outIndex;
      let n0 = this.n0;
      let p = this.phase;
      while (k < total && n0 <= lastBase) {
        count++;
        k++;
        p += this.down;
        n0 += Math.floor(p / this.up);
        p %= this.up;
      }
    }
    const channels = this.channels;
    const out = new Float32Array(count * channels);
    const taps = this.taps;
    const table = this.table;
    const x0 = this.hist[0];
    const x1 = channels > 1 ? this.hist[1] : x0;
    for (let j = 0; j < count; j++) {
      let coefs: Float64Array;
      let cb: number;
      let gain = 1;
      if (table) {
        coefs = table;
        cb = this.phase * taps;
      } else {
        coefs = this.scratch;
        cb = 0;
        gain = 1 / this.interpolatedTaps(this.phase);
      }
      const start = this.n0 - this.half + 1 - this.histStart;
      // Stereo (the common case) shares each coefficient load between both channels. Four partial
      // sums per channel: V8 does not vectorise, and independent accumulators keep the FPU busy.
      if (channels === 2) {
        let a0 = 0,
          a1 = 0,
          b0 = 0,
          b1 = 0,
          c0 = 0,
          c1 = 0,
          d0 = 0,
          d1 = 0;
        for (let i = 0; i < taps; i += 4) {
          const s = start + i;
          const q = cb + i;
          const h0 = coefs[q],
            h1 = coefs[q + 1],
            h2 = coefs[q + 2],
            h3 = coefs[q + 3];
          a0 += h0 * x0[s];
          a1 += h0 * x1[s];
          b0 += h1 * x0[s + 1];
          b1 += h1 * x1[s + 1];
          c0 += h2 * x0[s + 2];
          c1 += h2 * x1[s + 2];
          d0 += h3 * x0[s + 3];
          d1 += h3 * x1[s + 3];
        }
        out[2 * j] = (a0 + b0 + (c0 + d0)) * gain;
        out[2 * j + 1] = (a1 + b1 + (c1 + d1)) * gain;
      } else {
        for (let c = 0; c < channels; c++)
          out[j * channels + c] = dot(coefs, cb, this.hist[c], start, taps) * gain;
      }
      this.outIndex++;
      this.phase += this.down;
      this.n0 += Math.floor(this.phase / this.up);
      this.phase %= this.up;
    }
    return out;
  }

  /**
   * Fills `scratch` with the taps for phase p in interpolated mode (linear interpolation of the
   * oversampled prototype) and returns their sum, by which the caller divides once per output.
   */
  private interpolatedTaps(p: number): number {
    const proto = this.proto!;
    const os = this.oversample;
    const cols = this.taps + 1;
    const out = this.scratch;
    // Tap i sits at x = p/L + half - 1 - i, i.e. column c0 - i of fraction row `pos - floor(pos)`.
    const pos = (p / this.up) * os;
    const r = Math.floor(pos);
    const f = pos - r;
    const a = r * cols + 2 * this.half - 1;
    const b = a + cols;
    let sum = 0;
    for (let i = 0; i < this.taps; i++) {
      const lo = proto[a - i];
      const v = lo + f * (proto[b - i] - lo);
      out[i] = v;
      sum += v;
    }
    return sum;
  }
}

function dot(h: Float64Array, hb: number, x: Float32Array, xb: number, taps: number): number {
  let a = 0,
    b = 0,
    c = 0,
    d = 0;
  for (let i = 0; i < taps; i += 4) {
    a += h[hb + i] * x[xb + i];
    b += h[hb + i + 1] * x[xb + i + 1];
    c += h[hb + i + 2] * x[xb + i + 2];
    d += h[hb + i + 3] * x[xb + i + 3];
  }
  return a + b + (c + d);
}

/** Whole-signal convenience: identical to streaming the same samples through one Resampler. */
export function resample(
  input: Float32Array,
  channels: number,
  inputRate: number,
  outputRate: number,
): Float32Array {
  const sut = new Resampler({ inputRate, outputRate, channels });
  const head = sut.process(input);
  const tail = sut.flush();
  if (tail.length === 0) return head === input ? input.slice() : head;
  const out = new Float32Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

/** Streams an async source of interleaved chunks through a resampler (no-op when rates match). */
export async function* resampleStream(
  source: AsyncIterable<Float32Array>,
  options: ResamplerOptions,
): AsyncGenerator<Float32Array> {
  if (options.inputRate === options.outputRate) {
    yield* source;
    return;
  }
  const resampler = new Resampler(options);
  for await (const chunk of source) {
    const out = resampler.process(chunk);
    if (out.length) yield out;
  }
  const tail = resampler.flush();
  if (tail.length) yield tail;
}
