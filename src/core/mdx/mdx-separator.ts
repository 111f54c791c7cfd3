/**
 * UVR MDX-Net separation (MODEL-FORMATS C), streaming with bounded memory.
 *
 * Padded coordinates: mixture = [trim zeros | mix (N) | pad zeros], trim = n_fft/2,
 * gen = chunk − 2·trim, pad = gen + trim − (N mod gen), chunk = hop·(dim_t − 1). Chunk i starts at
 * i·step and spans min(chunk, L − start) real samples (zero-padded to chunk for the model). The
 * step is UVR's: chunk − n_fft for overlap 'default' (UVR's own default, 253,440 samples for
 * Voc_FT), else ⌊(1 − overlap)·chunk⌋ (python-audio-separator defaults to overlap 0.25; with the
 * same network the two defaults differ by ~20 dB SNR from the second chunk on). Each chunk: centered STFT (reflect pad n_fft/2 inside the chunk) → keep
 * bins < dim_f, zero bins 0..2 → model [batch, 4, dim_f, dim_t] (L-re, L-im, R-re, R-im) → iSTFT
 * (bins ≥ dim_f zero, normalised by the summed squared window) → × symmetric Hann of the chunk's
 * real length (rectangular when overlap = 0), accumulated with the window sum. primary =
 * (result / window sum)[trim, trim + N) · compensate; secondary = mix − primary.
 *
 * Streaming: positions before the next chunk's start can no longer change, so they are emitted
 * after each chunk; only the current chunks' input and one chunk of accumulators are held. Chunks
 * starting at or after trim + N touch only discarded padding and are skipped (exact).
 */
import { CenteredStft } from '../dsp/centered-stft';
import { symmetricHann } from '../dsp/window';
import { ErrorCodes, ModelError, SeparationError, ValidationError } from '../errors';
import type { SeparateOptions, SeparationStats, StemSeparator, StemSink } from '../separation/types';
import { assertMdxOverlap, MDX_DEFAULT_OVERLAP, type MdxOverlap } from './mdx-options';
import { MDX_SAMPLE_RATE, MdxModelParams, validateMdxParams } from './mdx-params';

/**
 * Runs the network on `batch` chunks: input and output are float32 [batch, 4, dim_f, dim_t].
 * The input buffer is reused after the promise resolves: do not keep a reference to it.
 */
export type MdxModelFn = (input: Float32Array, batch: number, signal?: AbortSignal) => Promise<Float32Array>;

export interface MdxSeparatorOptions {
  params: MdxModelParams;
  model: MdxModelFn;
  /**
   * 'default' (the default): UVR's step, chunk − n_fft, with the Hann cross-fade. A number in
   * [0, 0.99]: the fraction of a chunk shared with the next one (0: no cross-fade).
   */
  overlap?: MdxOverlap;
  /** pred = ½·model(spec) − ½·model(−spec): cancels the network's odd-symmetric noise (2× cost). */
  denoise?: boolean;
  /** Chunks per model call (does not change the result); default 1. */
  batchSize?: number;
  /** Emit only these stems (subset of [primary, secondary]); default both. */
  stems?: readonly string[];
  /** Label of the execution provider running `model`, reported as is. */
  executionProvider?: string;
}

const CHANNELS = 2;
const ZEROED_LOW_BINS = 3;

export class MdxSeparator implements StemSeparator {
  readonly stems: readonly string[];
  readonly sampleRate = MDX_SAMPLE_RATE;
  readonly executionProvider: string;
  private readonly p: MdxModelParams;
  readonly overlap: MdxOverlap;
  readonly denoise: boolean;
  private readonly batchSize: number;
  readonly chunkSize: number;
  readonly trim: number;
  readonly genSize: number;
  readonly step: number;

  constructor(private readonly opts: MdxSeparatorOptions) {
    validateMdxParams(opts.params);
    this.p = opts.params;
    this.overlap = opts.overlap ?? MDX_DEFAULT_OVERLAP;
    assertMdxOverlap(this.overlap);
    this.denoise = opts.denoise ?? false;
    this.batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `MDX batch size must be a positive integer`);
    }
    this.chunkSize = this.p.hop * (this.p.dimT - 1);
    this.trim = Math.floor(this.p.nFft / 2);
    this.genSize = this.chunkSize - 2 * this.trim;
    this.step =
      this.overlap === MDX_DEFAULT_OVERLAP
        ? this.chunkSize - this.p.nFft
        : Math.floor((1 - this.overlap) * this.chunkSize);
    if (this.step < 1)
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `MDX overlap ${this.overlap} leaves no step`);
    const all = [this.p.primaryStem, this.p.secondaryStem];
    const wanted = opts.stems ?? all;
    for (const s of wanted) {
      if (!all.includes(s)) {
        throw new ValidationError(ErrorCodes.UNKNOWN_STEM, `Stem '${s}' is not one of ${all.join(', ')}`, {
          stem: s,
        });
      }
    }
    this.stems = all.filter((s) => wanted.includes(s));
    this.executionProvider = opts.executionProvider ?? 'cpu';
  }

  /** Total padded length L = trim + N + pad for N input samples. */
  paddedLength(N: number): number {
    const pad = this.genSize + this.trim - (N % this.genSize);
    return this.trim + N + pad;
  }

  /** Chunks that influence the output for N samples (those starting before trim + N). */
  chunkCount(N: number): number {
    return N === 0 ? 0 : Math.ceil((this.trim + N) / this.step);
  }

  async separate(
    openSource: () => AsyncIterable<Float32Array>,
    sink: StemSink,
    opts: SeparateOptions = {},
  ): Promise<SeparationStats> {
    const { dimF, dimT, nFft, hop, compensate } = this.p;
    const { chunkSize: chunk, trim, step, batchSize } = this;
    const plane = dimF * dimT;
    const perChunk = 4 * plane;
    const stft = new CenteredStft(nFft, hop);
    const input = new Float32Array(batchSize * perChunk);
    const negInput = this.denoise ? new Float32Array(batchSize * perChunk) : null;
    const denoised = this.denoise ? new Float32Array(batchSize * perChunk) : null;
    const wave = new Float32Array(chunk);
    // Accumulators over padded positions [accBase, accBase + chunk).
    const acc = [new Float64Array(chunk), new Float64Array(chunk)];
    const div = new Float64Array(chunk);
    let accBase = 0;
    // UVR cross-fades with np.hanning for every overlap but 0, its 'Default' included.
    const fullWindow = this.overlap === 0 ? null : symmetricHann(chunk);
    const input$ = new PaddedInput(trim);
    /** Channel c of batch slot `base` in a [B, 4 (L re, L im, R re, R im), dimF, dimT] tensor. */
    const spectrum = (data: Float32Array, base: number, c: number) => ({
      re: data,
      im: data,
      reOffset: base + 2 * c * plane,
      imOffset: base + (2 * c + 1) * plane,
      binStride: dimT,
      frameStride: 1,
      bins: dimF,
    });

    let N = -1; // unknown until the source ends
    let nextChunk = 0; // index of the next chunk to run
    let emitted = 0; // output samples written
    let modelCalls = 0;
    let inferenceMs = 0;
    let dspMs = 0;
    const expectedChunks = opts.totalSamples !== undefined ? this.chunkCount(opts.totalSamples) : 0;

    const checkAbort = (): void => {
      if (opts.signal?.aborted) {
        throw new SeparationError(ErrorCodes.JOB_CANCELED, 'separation aborted', {
          reason: String(opts.signal.reason),
        });
      }
    };

    /** Chunks whose input is complete and that still matter, up to one batch. */
    const readyChunks = (): number => {
      let n = 0;
      for (let i = nextChunk; n < batchSize; i++, n++) {
        const start = i * step;
        if (N >= 0) {
          if (N === 0 || start >= trim + N) break;
        } else if (start + chunk > input$.end) break;
      }
      return n;
    };

    const runBatch = async (count: number): Promise<void> => {
      let t0 = performance.now();
      for (let b = 0; b < count; b++) {
        const start = (nextChunk + b) * step;
        const base = b * perChunk;
        input$.ensure(start + chunk - input$.base); // after the end: zeros past the last sample
        for (let c = 0; c < CHANNELS; c++) {
          stft.forward(
            { data: input$.channel(c), offset: start - input$.base, length: chunk },
            spectrum(input, base, c),
          );
        }
        // Bins 0..2 (below ~20 Hz) are zeroed before the model, as UVR does.
        for (let q = 0; q < 4; q++)
          input.fill(0, base + q * plane, base + q * plane + ZEROED_LOW_BINS * dimT);
      }
      dspMs += performance.now() - t0;

      t0 = performance.now();
      const used = count * perChunk;
      let out = await this.callModel(input.subarray(0, used), count, opts.signal);
      modelCalls++;
      if (negInput && denoised) {
        for (let i = 0; i < used; i++) negInput[i] = -input[i];
        const neg = await this.callModel(negInput.subarray(0, used), count, opts.signal);
        modelCalls++;
        for (let i = 0; i < used; i++) denoised[i] = 0.5 * out[i] - 0.5 * neg[i];
        out = denoised;
      }
      inferenceMs += performance.now() - t0;

      for (let b = 0; b < count; b++) {
        t0 = performance.now();
        const i = nextChunk;
        const start = i * step;
        const L = N >= 0 ? this.paddedLength(N) : Number.POSITIVE_INFINITY;
        const actual = Math.min(chunk, L - start);
        const base = b * perChunk;
        // The accumulators start at this chunk: earlier positions were emitted.
        shiftAccumulators(acc, div, start - accBase);
        accBase = start;
        const window = fullWindow === null ? null : actual === chunk ? fullWindow : symmetricHann(actual);
        for (let c = 0; c < CHANNELS; c++) {
          stft.inverse(spectrum(out, base, c), dimT, { data: wave, length: chunk });
          const a = acc[c];
          if (window) for (let j = 0; j < actual; j++) a[j] += wave[j] * window[j];
          else for (let j = 0; j < actual; j++) a[j] += wave[j];
        }
        if (window) for (let j = 0; j < actual; j++) div[j] += window[j];
        else for (let j = 0; j < actual; j++) div[j] += 1;
        nextChunk++;
        const last = N >= 0 && nextChunk * step >= trim + N;
        const finalUpTo = last ? trim + N : nextChunk * step;
        const block = this.collect(acc, div, accBase, finalUpTo, emitted, N, input$, compensate);
        dspMs += performance.now() - t0;
        if (block) {
          emitted += block.length;
          await sink.write(block.stems);
        }
        input$.dropBefore(Math.min(nextChunk * step, trim + emitted));
        if (expectedChunks > 0) opts.onProgress?.(Math.min(1, nextChunk / expectedChunks), 'separating');
        checkAbort();
      }
    };

    const pump = async (): Promise<void> => {
      for (;;) {
        const n = readyChunks();
        // Wait for a full batch while more input may come; after the end, run what is left.
        if (n === 0 || (n < batchSize && N < 0)) return;
        await runBatch(n);
      }
    };

    for await (const chunkIn of openSource()) {
      checkAbort();
      if (chunkIn.length % CHANNELS !== 0) {
        throw new SeparationError(
          ErrorCodes.INTERNAL,
          `source chunk of ${chunkIn.length} values is not stereo-interleaved`,
        );
      }
      input$.append(chunkIn);
      await pump();
    }
    checkAbort();
    N = input$.end - trim;
    input$.finish();
    await pump();
    if (emitted !== N)
      throw new SeparationError(ErrorCodes.INTERNAL, `MDX produced ${emitted} samples for ${N}`);
    return { samples: N, frames: nextChunk * dimT, segments: nextChunk, inferenceMs, dspMs, modelCalls };
  }

  private async callModel(input: Float32Array, batch: number, signal?: AbortSignal): Promise<Float32Array> {
    let out: Float32Array;
    try {
      out = await this.opts.model(input, batch, signal);
    } catch (err) {
      if (err instanceof SeparationError || err instanceof ModelError) throw err;
      throw new ModelError(
        ErrorCodes.MODEL_INFERENCE_FAILED,
        `MDX model failed: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
    if (out.length !== input.length) {
      throw new ModelError(
        ErrorCodes.MODEL_INFERENCE_FAILED,
        `MDX model returned ${out.length} values, expected ${input.length} ([${batch}, 4, ${this.p.dimF}, ${this.p.dimT}])`,
      );
    }
    return out;
  }

  /** Output samples for padded positions [trim + emitted, finalUpTo), or null if none. */
  private collect(
    acc: Float64Array[],
    div: Float64Array,
    accBase: number,
    finalUpTo: number,
    emitted: number,
    N: number,
    input: PaddedInput,
    compensate: number,
  ): { length: number; stems: Map<string, Float32Array> } | null {
    const from = this.trim + emitted;
    let to = finalUpTo;
    if (N >= 0) to = Math.min(to, this.trim + N);
    const length = to - from;
    if (length <= 0) return null;
    const primary = new Float32Array(length * CHANNELS);
    const secondary = new Float32Array(length * CHANNELS);
    for (let c = 0; c < CHANNELS; c++) {
      const a = acc[c];
      const mix = input.channel(c);
      for (let j = 0; j < length; j++) {
        const pos = from + j;
        const d = div[pos - accBase];
        const o = j * CHANNELS + c;
        primary[o] = d > 0 ? (a[pos - accBase] / d) * compensate : 0;
        // Read back (float32) so that secondary = mix − primary holds for the values written.
        secondary[o] = mix[pos - input.base] - primary[o];
      }
    }
    const stems = new Map<string, Float32Array>();
    if (this.stems.includes(this.p.primaryStem)) stems.set(this.p.primaryStem, primary);
    if (this.stems.includes(this.p.secondaryStem)) stems.set(this.p.secondaryStem, secondary);
    return { length, stems };
  }
}

/** Moves accumulator contents left by `shift` positions, zero-filling the freed tail. */
function shiftAccumulators(acc: Float64Array[], div: Float64Array, shift: number): void {
  if (shift === 0) return;
  for (const a of [...acc, div]) {
    if (shift >= a.length) a.fill(0);
    else {
      a.copyWithin(0, shift);
      a.fill(0, a.length - shift);
    }
  }
}

/**
 * De-interleaved stereo input in padded coordinates (trim leading zeros), from `base` to `end`.
 * After finish(), reads past `end` see zeros (the pad region and beyond).
 */
class PaddedInput {
  private data: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
  /** Padded position of data[c][0]. */
  base = 0;
  /** Padded position one past the last sample held. */
  end: number;
  private finished = false;

  constructor(trim: number) {
    this.end = 0;
    this.ensure(trim);
    this.end = trim; // leading zeros
  }

  channel(c: number): Float32Array {
    return this.data[c];
  }

  append(interleaved: Float32Array): void {
    const n = interleaved.length / CHANNELS;
    if (n === 0) return;
    this.ensure(this.end + n - this.base);
    const o = this.end - this.base;
    const [l, r] = this.data;
    for (let i = 0; i < n; i++) {
      l[o + i] = interleaved[2 * i];
      r[o + i] = interleaved[2 * i + 1];
    }
    this.end += n;
  }

  /** No more input; guarantees zero reads for any later chunk window. */
  finish(): void {
    this.finished = true;
  }

  /**
   * Makes sure positions up to base + size are addressable (zeros beyond `end`); after finish()
   * callers may read a whole chunk past `end`, so capacity keeps growing as needed.
   */
  ensure(size: number): void {
    if (this.data[0].length >= size) return;
    const cap = Math.max(size, Math.ceil(this.data[0].length * 1.5));
    this.data = this.data.map((d) => {
      const n = new Float32Array(cap);
      n.set(d.subarray(0, Math.max(0, this.end - this.base)));
      return n;
    });
  }

  /** Forget samples before padded position `pos`. */
  dropBefore(pos: number): void {
    const shift = Math.min(pos, this.end) - this.base;
    if (shift <= 0) return;
    // Compact only when at least half the buffer is dead, to keep the cost amortised O(1).
    if (shift < this.data[0].length / 2 && !this.finished) return;
    for (const d of this.data) {
      d.copyWithin(0, shift, this.end - this.base);
      d.fill(0, this.end - this.base - shift);
    }
    this.base += shift;
  }
}
