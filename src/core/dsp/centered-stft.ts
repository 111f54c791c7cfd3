/**
 * Centered STFT / iSTFT as torch.stft / torch.istft(center=True, pad_mode='reflect',
 * onesided=True) compute them, for UVR MDX-Net models (MODEL-FORMATS C): any even or odd n_fft
 * (5120, 6144, 7680...), any hop, periodic Hann by default, forward kernel e^(-2*pi*i*k*n/N).
 *
 * - forward: reflect-pad n_fft/2 on both sides (edge sample not repeated), frames = 1 + floor(L/hop).
 * - inverse: irfft (bins not given are zero), × window, overlap-add, divide by the summed squared
 *   window, drop n_fft/2 at the start, keep `length` samples (default hop*(frames-1)).
 *
 * Spectra are read/written through strides so a caller can use any tensor layout without a copy,
 * e.g. MDX's [4, dim_f, dim_t] (re plane at 0, im plane at dim_f*dim_t, binStride dim_t,
 * frameStride 1). Work buffers are float64 and reused; nothing is allocated per frame.
 */
import { RealFft } from './fft';
import { periodicHann } from './window';

/** A channel inside a (possibly interleaved) Float32Array. */
export interface SignalView {
  data: Float32Array;
  /** Index of the first sample; default 0. */
  offset?: number;
  /** Distance between consecutive samples (channel count for interleaved audio); default 1. */
  stride?: number;
  /** Samples in the channel. */
  length: number;
}

/** Where bin k of frame t lives: re[reOffset + t*frameStride + k*binStride] (same for im). */
export interface SpectrumView {
  re: Float32Array;
  im: Float32Array;
  reOffset?: number;
  imOffset?: number;
  frameStride: number;
  binStride: number;
  /** Bins stored (bins 0..bins-1); forward writes only these, inverse treats the rest as zero. */
  bins: number;
}

/** torch's NOLA threshold: the summed squared window must exceed this where samples are kept. */
const NOLA_EPSILON = 1e-11;

export class CenteredStft {
  readonly nFft: number;
  readonly hop: number;
  /** n_fft/2 + 1 (onesided bins). */
  readonly bins: number;
  private readonly window: Float64Array;
  private readonly fft: RealFft;
  private readonly frame: Float64Array;
  private readonly re64: Float64Array;
  private readonly im64: Float64Array;
  private envelopeFrames = -1;
  private invEnvelope: Float64Array = new Float64Array(0);
  private ola: Float64Array = new Float64Array(0);

  constructor(nFft: number, hop: number, window?: Float64Array) {
    if (!Number.isInteger(nFft) || nFft < 2)
      throw new RangeError(`nFft must be an integer >= 2, got ${nFft}`);
    if (!Number.isInteger(hop) || hop < 1 || hop > nFft)
      throw new RangeError(`hop must be an integer in 1..nFft, got ${hop}`);
    this.nFft = nFft;
    this.hop = hop;
    this.window = window ?? periodicHann(nFft);
    if (this.window.length !== nFft) throw new RangeError('window length must equal nFft');
    this.fft = new RealFft(nFft);
    this.bins = this.fft.bins;
    this.frame = new Float64Array(nFft);
    this.re64 = new Float64Array(this.bins);
    this.im64 = new Float64Array(this.bins);
  }

  /** Frames for a signal of `length` samples: 1 + floor(length / hop). */
  frameCount(length: number): number {
    return 1 + Math.floor(length / this.hop);
  }

  /** STFT of one channel into `out` (frameCount(signal.length) frames, out.bins bins each). */
  forward(signal: SignalView, out: SpectrumView): number {
    const len = signal.length;
    if (len < 1) throw new RangeError('cannot take a centered STFT of an empty signal');
    if (out.bins < 0 || out.bins > this.bins) throw new RangeError(`bins must be in 0..${this.bins}`);
    const data = signal.data;
    const off = signal.offset ?? 0;
    const stride = signal.stride ?? 1;
    const n = this.nFft;
    const pad = Math.floor(n / 2);
    const frames = this.frameCount(len);
    const x = this.frame;
    const w = this.window;
    const period = 2 * (len - 1);
    const reOff = out.reOffset ?? 0;
    const imOff = out.imOffset ?? 0;
    for (let t = 0; t < frames; t++) {
      const start = t * this.hop - pad; // original index of frame sample 0
      if (start >= 0 && start + n <= len) {
        let src = off + start * stride;
        for (let i = 0; i < n; i++, src += stride) x[i] = data[src] * w[i];
      } else {
        for (let i = 0; i < n; i++) {
          let j = start + i;
          if (j < 0 || j >= len) {
            // Reflect without repeating the edge sample; repeated reflection for short signals.
            if (period === 0) j = 0;
            else {
              j = ((j % period) + period) % period;
              if (j >= len) j = period - j;
            }
          }
          x[i] = data[off + j * stride] * w[i];
        }
      }
      this.fft.forward(x, 0, this.re64, this.im64, 0);
      let ri = reOff + t * out.frameStride;
      let ii = imOff + t * out.frameStride;
      for (let k = 0; k < out.bins; k++, ri += out.binStride, ii += out.binStride) {
        out.re[ri] = this.re64[k];
        out.im[ii] = this.im64[k];
      }
    }
    return frames;
  }

  /**
   * iSTFT of `frames` frames into `out` (`length` samples, default hop*(frames-1)), written at
   * out.offset with out.stride. Samples beyond the reconstructable range are zero (as torch pads).
   */
  inverse(spec: SpectrumView, frames: number, out: SignalView): void {
    if (!Number.isInteger(frames) || frames < 1)
      throw new RangeError(`frames must be a positive integer, got ${frames}`);
    if (spec.bins < 0 || spec.bins > this.bins) throw new RangeError(`bins must be in 0..${this.bins}`);
    const n = this.nFft;
    const hop = this.hop;
    const pad = Math.floor(n / 2);
    const total = n + hop * (frames - 1);
    this.prepareEnvelope(frames);
    const ola = this.ola;
    ola.fill(0, 0, total);
    const re = this.re64;
    const im = this.im64;
    const x = this.frame;
    const w = this.window;
    const reOff = spec.reOffset ?? 0;
    const imOff = spec.imOffset ?? 0;
    re.fill(0);
    im.fill(0);
    for (let t = 0; t < frames; t++) {
      let ri = reOff + t * spec.frameStride;
      let ii = imOff + t * spec.frameStride;
      for (let k = 0; k < spec.bins; k++, ri += spec.binStride, ii += spec.binStride) {
        re[k] = spec.re[ri];
        im[k] = spec.im[ii];
      }
      this.fft.inverse(re, im, 0, x, 0);
      const base = t * hop;
      for (let i = 0; i < n; i++) ola[base + i] += x[i] * w[i];
    }
    const inv = this.invEnvelope;
    const data = out.data;
    const off = out.offset ?? 0;
    const stride = out.stride ?? 1;
    const len = out.length;
    const avail = Math.max(0, Math.min(len, total - pad));
    for (let i = 0; i < avail; i++) {
      const j = i + pad;
      if (inv[j] === 0) {
        throw new RangeError(`window overlap-add is below ${NOLA_EPSILON} at sample ${i} (NOLA violated)`);
      }
      data[off + i * stride] = ola[j] * inv[j];
    }
    for (let i = avail; i < len; i++) data[off + i * stride] = 0;
  }

  /** 1 / (summed squared window) per padded sample for `frames` frames, cached by frame count. */
  private prepareEnvelope(frames: number): void {
    if (frames === this.envelopeFrames) return;
    const n = this.nFft;
    const total = n + this.hop * (frames - 1);
    const env = new Float64Array(total);
    const w = this.window;
    for (let t = 0; t < frames; t++) {
      const base = t * this.hop;
      for (let i = 0; i < n; i++) env[base + i] += w[i] * w[i];
    }
    for (let i = 0; i < total; i++) env[i] = env[i] > NOLA_EPSILON ? 1 / env[i] : 0;
    this.invEnvelope = env;
    this.ola = new Float64Array(total);
    this.envelopeFrames = frames;
  }
}
