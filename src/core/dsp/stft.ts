/**
 * Spleeter's STFT / iSTFT (MODEL-FORMATS A3, A7) as streaming building blocks.
 *
 * Analysis: `frontPad` zeros are prepended (nothing appended), frames of `nFft` every `hop`,
 * zero-padded at the end ("pad_end"): frames = ceil((N + frontPad) / hop); frame k covers padded
 * samples [k*hop, k*hop + nFft), i.e. original samples [k*hop - frontPad, ...).
 * Synthesis: irfft, × window, overlap-add in frame order, × scale (2/3), crop
 * [cropStart, cropStart + N).
 *
 * Both sides work incrementally on interleaved multichannel Float32Array chunks of any length, and
 * the streaming results are bit-identical to whole-file processing: every output sample is the
 * same float64 sum, accumulated from 0 in frame order, whatever the chunking.
 *
 * Spectra are frame-major Float32Array planes, one re and one im plane per channel
 * (frame f, bin k at f*bins + k), like Spleeter's complex64 tensors.
 */
import { createStftFft, FftBackendPreference, StftFft } from './wasm-fft';
import { periodicHann, squaredWindowOverlapSum } from './window';

// Module-level aliases: global lookups are slow in sandboxed contexts (jest's vm); these run per frame.
const { min, max, ceil } = Math;

export interface FramingConfig {
  /** FFT size = frame length. */
  nFft: number;
  /** Frame step. Must be in 1..nFft. */
  hop: number;
  /** Zeros prepended to the signal before framing (Spleeter: nFft). */
  frontPad: number;
}

/** Spleeter's framing: 4096-sample frames every 1024, 4096 zeros in front. */
export const SPLEETER_FRAMING: Readonly<FramingConfig> = Object.freeze({
  nFft: 4096,
  hop: 1024,
  frontPad: 4096,
});

/** Number of STFT frames for `samples` input samples per channel: ceil((N + frontPad) / hop). */
export function stftFrameCount(samples: number, framing: FramingConfig = SPLEETER_FRAMING): number {
  return ceil((samples + framing.frontPad) / framing.hop);
}

function checkFraming(f: FramingConfig): void {
  if (!Number.isInteger(f.nFft) || f.nFft < 2)
    throw new RangeError(`nFft must be an integer >= 2, got ${f.nFft}`);
  if (!Number.isInteger(f.hop) || f.hop < 1 || f.hop > f.nFft) {
    throw new RangeError(`hop must be an integer in 1..nFft, got ${f.hop}`);
  }
  if (!Number.isInteger(f.frontPad) || f.frontPad < 0) {
    throw new RangeError(`frontPad must be a non-negative integer, got ${f.frontPad}`);
  }
}

function checkChannels(channels: number): void {
  if (!Number.isInteger(channels) || channels < 1)
    throw new RangeError(`channels must be a positive integer, got ${channels}`);
}

/** Frame-major spectrum of a whole signal, one re/im plane per channel. */
export interface Spectrogram {
  frames: number;
  bins: number;
  re: Float32Array[];
  im: Float32Array[];
}

/**
 * Incremental STFT: push interleaved chunks, pull frames as soon as they are complete.
 * Holds only the current frame window (nFft samples per channel) plus references to chunks not
 * yet consumed, so memory does not grow with the input length.
 */
export class StreamingStftAnalyzer {
  readonly channels: number;
  readonly framing: Readonly<FramingConfig>;
  readonly bins: number;
  private readonly window: Float64Array;
  private readonly fft: StftFft;
  /** Raw (unwindowed) samples of the next frame, per channel; the first `filled` are valid. */
  private readonly buffers: Float64Array[];
  private filled = 0;
  private frontPadLeft: number;
  private readonly queue: Float32Array[] = [];
  /** Sample frames of queue[0] already consumed. */
  private queueOffset = 0;
  private ended = false;
  private received = 0;
  private emitted = 0;

  /**
   * `fftBackend`: 'auto' (default) takes the WebAssembly SIMD FFT where it is available (float32
   * transforms), 'js' the float64 JavaScript one.
   */
  constructor(
    channels = 2,
    framing: FramingConfig = SPLEETER_FRAMING,
    window?: Float64Array,
    fftBackend?: FftBackendPreference,
  ) {
    checkChannels(channels);
    checkFraming(framing);
    this.channels = channels;
    this.framing = Object.freeze({ ...framing });
    this.window = window ?? periodicHann(framing.nFft);
    if (this.window.length !== framing.nFft) throw new RangeError('window length must equal nFft');
    this.fft = createStftFft(framing.nFft, fftBackend);
    this.bins = this.fft.bins;
    this.buffers = Array.from({ length: channels }, () => new Float64Array(framing.nFft));
    this.frontPadLeft = framing.frontPad;
  }

  /** Sample frames (samples per channel) pushed so far. */
  get samplesReceived(): number {
    return this.received;
  }

  get framesEmitted(): number {
    return this.emitted;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Total frame count, known once `end()` was called; null before. */
  get totalFrames(): number | null {
    return this.ended ? stftFrameCount(this.received, this.framing) : null;
  }

  /** True when every frame has been read (only possible after `end()`). */
  get isExhausted(): boolean {
    return this.ended && this.emitted >= stftFrameCount(this.received, this.framing);
  }

  /**
   * Queue an interleaved chunk (length a multiple of `channels`). The chunk is referenced, not
   * copied, until its samples have been consumed: do not modify it before then.
   */
  push(chunk: Float32Array): void {
    if (this.ended) throw new Error('push() after end()');
    if (chunk.length % this.channels !== 0) {
      throw new RangeError(`chunk length ${chunk.length} is not a multiple of ${this.channels} channels`);
    }
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.received += chunk.length / this.channels;
  }

  /** No more input: the remaining frames are zero-padded at the end. */
  end(): void {
    this.ended = true;
  }

  /**
   * Computes the next frame into re[c]/im[c] at `offset` (bins values per channel), if enough
   * input is available (or the input has ended). Returns false when more input is needed or when
   * all frames have been read. With `storeBins`, only bins below it are written (the rest of the
   * frame's slots are left untouched) for callers that use a low band only.
   */
  readFrame(
    re: readonly Float32Array[],
    im: readonly Float32Array[],
    offset: number,
    storeBins: number = this.bins,
  ): boolean {
    if (!this.fill()) return false;
    for (let c = 0; c < this.channels; c++) {
      this.fft.forwardWindowed32(this.buffers[c], this.window, re[c], im[c], offset, storeBins);
    }
    this.advance();
    return true;
  }

  /**
   * The raw padded samples of up to `maxFrames` next frames instead of their spectra, for callers
   * that run the transforms elsewhere (other threads): frame `at + j`'s window goes to
   * planes[c][(at + j) × hop ..+ nFft) (float32: the samples are float32 values, exactly). Windows
   * overlap, so after the first frame of a plane (at = 0) only the `hop` new samples are copied.
   * Returns how many frames were read (0 when more input is needed or all frames were read).
   */
  readFrameSamples(planes: readonly Float32Array[], at: number, maxFrames: number): number {
    const { nFft: n, hop } = this.framing;
    let k = 0;
    while (k < maxFrames && this.fill()) {
      const j = at + k;
      for (let c = 0; c < this.channels; c++) {
        if (j === 0) planes[c].set(this.buffers[c]);
        else planes[c].set(this.buffers[c].subarray(n - hop), j * hop + n - hop);
      }
      this.advance();
      k++;
    }
    return k;
  }

  /** Makes the frame window complete; false if input is missing or all frames were emitted. */
  private fill(): boolean {
    const n = this.framing.nFft;
    if (this.ended && this.emitted >= stftFrameCount(this.received, this.framing)) return false;
    while (this.filled < n) {
      const need = n - this.filled;
      if (this.frontPadLeft > 0) {
        const k = min(need, this.frontPadLeft);
        for (const b of this.buffers) b.fill(0, this.filled, this.filled + k);
        this.filled += k;
        this.frontPadLeft -= k;
        continue;
      }
      if (this.queue.length > 0) {
        this.consume(need);
        continue;
      }
      if (!this.ended) return false;
      for (const b of this.buffers) b.fill(0, this.filled, n);
      this.filled = n;
    }
    return true;
  }

  /** De-interleaves up to `need` sample frames from the queue head into the frame buffers. */
  private consume(need: number): void {
    const chunk = this.queue[0];
    const ch = this.channels;
    const available = chunk.length / ch - this.queueOffset;
    const k = min(need, available);
    const start = this.filled;
    let src = this.queueOffset * ch;
    if (ch === 2) {
      const b0 = this.buffers[0];
      const b1 = this.buffers[1];
      for (let i = 0; i < k; i++, src += 2) {
        b0[start + i] = chunk[src];
        b1[start + i] = chunk[src + 1];
      }
    } else {
      for (let i = 0; i < k; i++, src += ch) {
        for (let c = 0; c < ch; c++) this.buffers[c][start + i] = chunk[src + c];
      }
    }
    this.filled += k;
    this.queueOffset += k;
    if (this.queueOffset * ch >= chunk.length) {
      this.queue.shift(); // drop the reference as soon as the chunk is consumed
      this.queueOffset = 0;
    }
  }

  private advance(): void {
    const hop = this.framing.hop;
    for (const b of this.buffers) b.copyWithin(0, hop);
    this.filled -= hop;
    this.emitted++;
  }
}

export interface SynthesizerConfig {
  channels?: number;
  framing?: FramingConfig;
  window?: Float64Array;
  /** Output gain; default 1 / (sum of squared hop-shifted windows) = 2/3 for Spleeter. */
  scale?: number;
  /** Padded samples dropped from the start; default framing.frontPad. */
  cropStart?: number;
  /** As for StreamingStftAnalyzer: 'auto' (default, WebAssembly SIMD where available) or 'js'. */
  fftBackend?: FftBackendPreference;
}

/**
 * Incremental overlap-add synthesis: per frame, add each channel (time domain or spectrum), then
 * `advance()` to emit the `hop` samples no later frame can touch. Output is interleaved float32,
 * cropped to [cropStart, cropStart + length).
 */
export class OverlapAddSynthesizer {
  readonly channels: number;
  readonly framing: Readonly<FramingConfig>;
  readonly scale: number;
  readonly cropStart: number;
  private readonly window: Float64Array;
  private readonly fft: StftFft;
  /**
   * Accumulators for padded samples [position, position + nFft), per channel, index 0 =
   * `position`. Linear rather than a ring so that a frame is always added at index 0, which lets
   * the inverse FFT's last stage accumulate into it directly; advance() shifts by hop (a memmove).
   */
  private readonly acc: Float64Array[];
  private position = 0;
  private emitted = 0;
  private limit = Number.POSITIVE_INFINITY;

  constructor(config: SynthesizerConfig = {}) {
    const framing = config.framing ?? SPLEETER_FRAMING;
    checkFraming(framing);
    this.channels = config.channels ?? 2;
    checkChannels(this.channels);
    this.framing = Object.freeze({ ...framing });
    this.window = config.window ?? periodicHann(framing.nFft);
    if (this.window.length !== framing.nFft) throw new RangeError('window length must equal nFft');
    this.scale = config.scale ?? 1 / squaredWindowOverlapSum(this.window, framing.hop);
    this.cropStart = config.cropStart ?? framing.frontPad;
    this.fft = createStftFft(framing.nFft, config.fftBackend);
    this.acc = Array.from({ length: this.channels }, () => new Float64Array(framing.nFft));
  }

  /** Output samples per channel emitted so far. */
  get samplesEmitted(): number {
    return this.emitted;
  }

  /**
   * Puts the synthesizer at padded sample `position` (a multiple of hop) with the given
   * accumulators (copied; null: zeros) and length cap (null: none), as if the frames before had
   * been added and advanced: lets threads synthesize ranges of frames of one stream and hand the
   * overlap state on (see core/spleeter/dsp-pool.ts).
   */
  restore(position: number, accumulators: readonly Float64Array[] | null, length: number | null): void {
    for (let c = 0; c < this.channels; c++) {
      if (accumulators) this.acc[c].set(accumulators[c]);
      else this.acc[c].fill(0);
    }
    this.position = position;
    this.limit = length ?? Number.POSITIVE_INFINITY;
    this.emitted = max(0, min(position, this.cropStart + this.limit) - this.cropStart);
  }

  /** The accumulator of `channel` (padded samples [position, position + nFft)); read only. */
  accumulator(channel: number): Float64Array {
    return this.acc[channel];
  }

  /** Caps the total output at `length` samples per channel (call once the input length is known). */
  setLength(length: number): void {
    if (!Number.isInteger(length) || length < 0)
      throw new RangeError(`length must be a non-negative integer, got ${length}`);
    if (length < this.emitted)
      throw new RangeError(`length ${length} is below the ${this.emitted} samples already emitted`);
    this.limit = length;
  }

  /** Adds one channel of the current frame given as a time-domain (unwindowed) signal. */
  addFrame(channel: number, frame: Float64Array): void {
    const a = this.acc[channel];
    const w = this.window;
    const n = this.framing.nFft;
    for (let i = 0; i < n; i++) a[i] += frame[i] * w[i];
  }

  /**
   * Adds one channel of the current frame given as a half spectrum (irfft, then as addFrame; the
   * same float64 sums, computed without materialising the frame).
   */
  addSpectrum(channel: number, re: Float64Array, im: Float64Array): void {
    this.fft.inverseAccumulate(re, im, 0, this.acc[channel], this.window);
  }

  /**
   * addSpectrum() of a real gain applied to a float32 spectrum: bin k is g_k × (re[k] + i·im[k])
   * at `offset`, with g_k = gain[k] for k < gainBins and `gainAbove` beyond (e.g. a mask that is
   * zero above the model's bandwidth). Bit-identical to computing those products into float64
   * planes (zero-filled above gainBins when gainAbove is 0; those bins are then never read) and
   * calling addSpectrum().
   */
  addScaledSpectrum(
    channel: number,
    gain: Float64Array,
    gainBins: number,
    gainAbove: number,
    re: Float32Array,
    im: Float32Array,
    offset: number,
  ): void {
    this.fft.inverseScaledAccumulate(
      gain,
      gainBins,
      gainAbove,
      re,
      im,
      offset,
      this.acc[channel],
      this.window,
    );
  }

  /**
   * Finishes the current frame: writes the samples that are now final (at most `hop` per
   * channel) into `out` (interleaved) starting at sample frame `outOffset`; returns how many.
   */
  advance(out: Float32Array, outOffset: number): number {
    const hop = this.framing.hop;
    const n = this.framing.nFft;
    const written = this.emit(out, outOffset, hop);
    for (let c = 0; c < this.channels; c++) {
      const a = this.acc[c];
      a.copyWithin(0, hop);
      a.fill(0, n - hop);
    }
    this.position += hop;
    return written;
  }

  /**
   * Samples per channel that `frames` more `advance()` calls (then `flush()` if `withTail`) will
   * write, given the current length cap: lets callers allocate exact output buffers.
   */
  samplesFor(frames: number, withTail: boolean): number {
    const hop = this.framing.hop;
    return this.countEmittable(frames * hop + (withTail ? this.framing.nFft - hop : 0));
  }

  /** Samples `flush()` will write: the rest of the overlap tail up to the length cap. */
  get pendingTail(): number {
    return this.countEmittable(this.framing.nFft - this.framing.hop);
  }

  /**
   * After the last frame: writes the remaining overlap tail (up to the length set with
   * `setLength`, which must have been called) and returns how many samples were written.
   */
  flush(out: Float32Array, outOffset: number): number {
    if (!Number.isFinite(this.limit)) throw new Error('flush() needs setLength() first');
    return this.emit(out, outOffset, this.framing.nFft - this.framing.hop);
  }

  /** How many of the `count` samples at `position` fall in [cropStart, cropStart + limit). */
  private countEmittable(count: number): number {
    const first = max(this.position, this.cropStart);
    const last = min(this.position + count, this.cropStart + this.limit);
    return max(0, last - first);
  }

  private emit(out: Float32Array, outOffset: number, count: number): number {
    const written = this.countEmittable(count);
    if (written === 0) return 0;
    const from = max(this.position, this.cropStart) - this.position;
    const ch = this.channels;
    const scale = this.scale;
    const end = from + written;
    if (ch === 2) {
      const a0 = this.acc[0];
      const a1 = this.acc[1];
      let dst = outOffset * 2;
      for (let i = from; i < end; i++, dst += 2) {
        out[dst] = a0[i] * scale;
        out[dst + 1] = a1[i] * scale;
      }
    } else {
      for (let c = 0; c < ch; c++) {
        const a = this.acc[c];
        let dst = outOffset * ch + c;
        for (let i = from; i < end; i++, dst += ch) out[dst] = a[i] * scale;
      }
    }
    this.emitted += written;
    return written;
  }
}

/** Whole-signal Spleeter STFT of interleaved audio (convenience wrapper over the streaming analyzer). */
export function computeStft(
  interleaved: Float32Array,
  channels = 2,
  framing: FramingConfig = SPLEETER_FRAMING,
): Spectrogram {
  const sut = new StreamingStftAnalyzer(channels, framing);
  sut.push(interleaved);
  sut.end();
  const frames = sut.totalFrames as number;
  const bins = sut.bins;
  const re = Array.from({ length: channels }, () => new Float32Array(frames * bins));
  const im = Array.from({ length: channels }, () => new Float32Array(frames * bins));
  for (let f = 0; f < frames; f++) sut.readFrame(re, im, f * bins);
  return { frames, bins, re, im };
}

/**
 * Whole-signal Spleeter iSTFT: returns `length` interleaved samples per channel
 * (irfft, × window, overlap-add, × 2/3, crop [frontPad, frontPad + length)).
 */
export function computeIstft(
  spec: Spectrogram,
  length: number,
  framing: FramingConfig = SPLEETER_FRAMING,
): Float32Array {
  const channels = spec.re.length;
  const synth = new OverlapAddSynthesizer({ channels, framing });
  synth.setLength(length);
  const out = new Float32Array(length * channels);
  const re = new Float64Array(spec.bins);
  const im = new Float64Array(spec.bins);
  let written = 0;
  for (let f = 0; f < spec.frames; f++) {
    for (let c = 0; c < channels; c++) {
      const base = f * spec.bins;
      for (let k = 0; k < spec.bins; k++) {
        re[k] = spec.re[c][base + k];
        im[k] = spec.im[c][base + k];
      }
      synth.addSpectrum(c, re, im);
    }
    written += synth.advance(out, written);
  }
  written += synth.flush(out, written);
  if (written !== length) {
    throw new RangeError(
      `spectrogram of ${spec.frames} frames cannot produce ${length} samples (got ${written})`,
    );
  }
  return out;
}
