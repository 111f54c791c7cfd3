/**
 * One way to address a chunk of multichannel float samples whether it arrived interleaved (one
 * array, stride = channels) or planar (one array per channel, stride 1): channel c, frame i is
 * arrays[c][starts[c] + i·stride]. Every streaming analyzer takes both through this.
 */

export interface ChannelView {
  readonly arrays: readonly (Float32Array | Float64Array)[];
  readonly starts: readonly number[];
  readonly stride: number;
  readonly frames: number;
}

export function checkChannelCount(channels: number): void {
  if (!Number.isInteger(channels) || channels < 1 || channels > 64)
    throw new RangeError(`channels must be an integer in 1..64, got ${channels}`);
}

export function checkSampleRate(sampleRate: number): void {
  if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 768000)
    throw new RangeError(`sampleRate must be an integer in 1000..768000 Hz, got ${sampleRate}`);
}

/** View of an interleaved chunk (length a multiple of `channels`). */
export function interleavedView(chunk: Float32Array | Float64Array, channels: number): ChannelView {
  if (chunk.length % channels !== 0)
    throw new RangeError(`chunk length ${chunk.length} is not a multiple of ${channels} channels`);
  const arrays = new Array<Float32Array | Float64Array>(channels).fill(chunk);
  const starts = Array.from({ length: channels }, (_, c) => c);
  return { arrays, starts, stride: channels, frames: chunk.length / channels };
}

/** View of planar channels (equal lengths, one per channel). */
export function planarView(planes: readonly (Float32Array | Float64Array)[], channels: number): ChannelView {
  if (planes.length !== channels) throw new RangeError(`expected ${channels} planes, got ${planes.length}`);
  const frames = channels > 0 ? planes[0].length : 0;
  if (planes.some((p) => p.length !== frames)) throw new RangeError('planes must have equal lengths');
  return { arrays: planes, starts: new Array<number>(channels).fill(0), stride: 1, frames };
}

/** The frames [from, from + count) of a view, as a view. */
export function sliceView(view: ChannelView, from: number, count: number): ChannelView {
  return {
    arrays: view.arrays,
    starts: view.starts.map((s) => s + from * view.stride),
    stride: view.stride,
    frames: count,
  };
}

/** Something that consumes multichannel audio in chunks. */
export interface StreamingAnalyzer {
  readonly channels: number;
  readonly sampleRate: number;
  /** Interleaved chunk. */
  push(chunk: Float32Array): void;
  /** One array per channel, equal lengths. */
  pushPlanar(planes: readonly Float32Array[]): void;
}

/** A StreamingAnalyzer fed through views: checks the format; push/pushPlanar wrap chunks for feed(). */
export abstract class ViewAnalyzer implements StreamingAnalyzer {
  constructor(
    readonly sampleRate: number,
    readonly channels: number,
  ) {
    checkSampleRate(sampleRate);
    checkChannelCount(channels);
  }

  push(chunk: Float32Array): void {
    this.feed(interleavedView(chunk, this.channels));
  }

  pushPlanar(planes: readonly Float32Array[]): void {
    this.feed(planarView(planes, this.channels));
  }

  abstract feed(view: ChannelView): void;
}

/** dB of a linear magnitude; null for 0 (JSON has no −Infinity). */
export function toDb(linear: number): number | null {
  return linear > 0 ? 20 * Math.log10(linear) : null;
}
