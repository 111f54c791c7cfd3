/**
 * A mono STFT front end for the music analyzers (tempo, key): channels averaged, any sample rate,
 * frames of a given length in seconds (rounded to a power of two), spectra handed to a callback.
 * Uses the project's streaming STFT (src/core/dsp/stft.ts: periodic Hann, WebAssembly FFT).
 */
import { StreamingStftAnalyzer, type FramingConfig } from '../dsp/stft';
import { ChannelView, ViewAnalyzer } from './channel-view';

export type FrameCallback = (re: Float32Array, im: Float32Array) => void;

export class MonoSpectrogram extends ViewAnalyzer {
  readonly framing: FramingConfig;
  readonly bins: number;
  private readonly analyzer: StreamingStftAnalyzer;
  private readonly re: Float32Array[];
  private readonly im: Float32Array[];

  constructor(
    sampleRate: number,
    channels: number,
    frameSeconds: number,
    overlap: 2 | 4,
    private readonly onFrame: FrameCallback,
  ) {
    super(sampleRate, channels);
    const nFft = Math.max(64, 2 ** Math.round(Math.log2(frameSeconds * sampleRate)));
    // No front padding: frame k starts at sample k·hop (analysis only, nothing is resynthesised).
    this.framing = { nFft, hop: nFft / overlap, frontPad: 0 };
    this.analyzer = new StreamingStftAnalyzer(1, this.framing);
    this.bins = this.analyzer.bins;
    this.re = [new Float32Array(this.bins)];
    this.im = [new Float32Array(this.bins)];
  }

  /** Frames per second. */
  get frameRate(): number {
    return this.sampleRate / this.framing.hop;
  }

  override feed(view: ChannelView): void {
    if (view.frames === 0) return;
    const mono = new Float32Array(view.frames);
    const scale = 1 / this.channels;
    for (let c = 0; c < this.channels; c++) {
      const a = view.arrays[c];
      for (let i = 0, k = view.starts[c]; i < view.frames; i++, k += view.stride) mono[i] += a[k];
    }
    if (this.channels > 1) for (let i = 0; i < mono.length; i++) mono[i] *= scale;
    this.analyzer.push(mono);
    this.drain();
  }

  /** No more input: the last partial frame is zero-padded and delivered. */
  end(): void {
    if (this.analyzer.isEnded) return;
    this.analyzer.end();
    this.drain();
  }

  private drain(): void {
    while (this.analyzer.readFrame(this.re, this.im, 0)) this.onFrame(this.re[0], this.im[0]);
  }
}
