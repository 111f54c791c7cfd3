/**
 * Silence detection, streaming: the ranges where every channel stays at or below a threshold
 * (dBFS) for at least a minimum duration, and an `empty` flag for a signal that never rises above
 * the threshold at all (e.g. the vocal stem of an instrumental).
 *
 * Level measure ('rms', default): the RMS of consecutive 10 ms blocks, per channel, the loudest
 * channel deciding. Ranges start and end on block edges, so they are within one block (10 ms) of
 * the true edges, and the noise floor of a recording or the bleed in a stem counts by its level,
 * not by its occasional peaks. 'peak' is sample-accurate like ffmpeg's silencedetect (a range
 * starts at the first sample at or under the threshold and ends at the first one above it) but a
 * single noise peak over the threshold splits a range.
 *
 * The result grows only with the number of ranges found (capped at `maxRanges`), not with the input.
 */
import { ChannelView, toDb, ViewAnalyzer } from './channel-view';

export const DEFAULT_SILENCE_THRESHOLD_DBFS = -60;
export const DEFAULT_SILENCE_MIN_DURATION_SEC = 0.5;

export interface SilenceOptions {
  sampleRate: number;
  channels: number;
  /** A sample is quiet when |x| ≤ 10^(threshold/20) in every channel. Default −60 dBFS. */
  thresholdDbfs?: number;
  /** Shorter quiet stretches are not reported. Default 0.5 s. */
  minDurationSec?: number;
  /** At most this many ranges are kept (then `truncated`). Default 10 000. */
  maxRanges?: number;
  /** 'rms' (default): 10 ms block RMS; 'peak': every sample's magnitude. */
  mode?: 'rms' | 'peak';
  /** Block length of the 'rms' mode (default 10 ms). */
  blockMs?: number;
}

export interface SilentRange {
  startSec: number;
  endSec: number;
  startFrame: number;
  /** Exclusive. */
  endFrame: number;
}

export interface SilenceResult {
  ranges: SilentRange[];
  /** More ranges than maxRanges were found; the list holds the first ones, the totals count all. */
  truncated: boolean;
  silentSec: number;
  /** silentSec / durationSec (0 for an empty input). */
  silentFraction: number;
  /** Nothing above the threshold ('rms': no block, 'peak': no sample; also true for an empty input). */
  empty: boolean;
  peakDbfs: number | null;
  durationSec: number;
  thresholdDbfs: number;
  minDurationSec: number;
  mode: 'rms' | 'peak';
}

export class SilenceDetector extends ViewAnalyzer {
  readonly thresholdDbfs: number;
  readonly minDurationSec: number;
  readonly mode: 'rms' | 'peak';
  private readonly threshold: number;
  private readonly minFrames: number;
  /** 'rms': frames per block, the current block's Σx² per channel and its frame count. */
  private readonly block: number;
  private readonly blockSums: Float64Array;
  private blockFill = 0;
  /** Loudest block mean square so far ('rms'). */
  private maxBlockPower = 0;
  private readonly maxRanges: number;
  private readonly ranges: SilentRange[] = [];
  private truncated = false;
  private silentFrames = 0;
  /** First frame of the current quiet run, or −1 inside sound. */
  private runStart = 0;
  private frames = 0;
  private peak = 0;

  constructor(options: SilenceOptions) {
    super(options.sampleRate, options.channels);
    const threshold = options.thresholdDbfs ?? DEFAULT_SILENCE_THRESHOLD_DBFS;
    const minDuration = options.minDurationSec ?? DEFAULT_SILENCE_MIN_DURATION_SEC;
    if (!Number.isFinite(threshold) || threshold > 0)
      throw new RangeError(`thresholdDbfs must be a number ≤ 0, got ${threshold}`);
    if (!Number.isFinite(minDuration) || minDuration < 0)
      throw new RangeError(`minDurationSec must be a number ≥ 0, got ${minDuration}`);
    this.thresholdDbfs = threshold;
    this.minDurationSec = minDuration;
    this.threshold = 10 ** (threshold / 20);
    this.minFrames = Math.max(1, Math.round(minDuration * options.sampleRate));
    this.maxRanges = options.maxRanges ?? 10_000;
    this.mode = options.mode ?? 'rms';
    if (this.mode !== 'rms' && this.mode !== 'peak')
      throw new RangeError(`unknown silence mode ${String(this.mode)}`);
    const blockMs = options.blockMs ?? 10;
    if (!(blockMs > 0) || blockMs > 1000)
      throw new RangeError(`blockMs must be in (0, 1000], got ${blockMs}`);
    this.block = Math.max(1, Math.round((blockMs * options.sampleRate) / 1000));
    this.blockSums = new Float64Array(options.channels);
  }

  override feed(view: ChannelView): void {
    if (this.mode === 'peak') this.feedPeak(view);
    else this.feedRms(view);
    this.frames += view.frames;
  }

  private feedPeak(view: ChannelView): void {
    const thr = this.threshold;
    const ch = this.channels;
    const { arrays, starts, stride } = view;
    let peak = this.peak;
    let runStart = this.runStart;
    const base = this.frames;
    for (let i = 0; i < view.frames; i++) {
      let loud = false;
      for (let c = 0; c < ch; c++) {
        const x = arrays[c][starts[c] + i * stride];
        const a = x < 0 ? -x : x;
        if (a > peak) peak = a;
        if (a > thr) loud = true;
      }
      if (loud) {
        if (runStart >= 0) this.closeRun(runStart, base + i);
        runStart = -1;
      } else if (runStart < 0) {
        runStart = base + i;
      }
    }
    this.peak = peak;
    this.runStart = runStart;
  }

  private feedRms(view: ChannelView): void {
    const ch = this.channels;
    const { arrays, starts, stride } = view;
    const sums = this.blockSums;
    let done = 0;
    while (done < view.frames) {
      const n = Math.min(view.frames - done, this.block - this.blockFill);
      // Per channel. With loudness on, LoudnessMeter.feedWithSilence computes these sums instead.
      for (let c = 0; c < ch; c++) {
        const a = arrays[c];
        let sum = sums[c];
        let peak = this.peak;
        for (let i = 0, k = starts[c] + done * stride; i < n; i++, k += stride) {
          const x = a[k];
          sum += x * x;
          const m = x < 0 ? -x : x;
          if (m > peak) peak = m;
        }
        sums[c] = sum;
        this.peak = peak;
      }
      this.blockFill += n;
      done += n;
      if (this.blockFill === this.block) {
        const blockStart = this.frames + done - this.block;
        this.endBlock(blockStart, this.blockPower(this.block));
        sums.fill(0);
        this.blockFill = 0;
      }
    }
  }

  /**
   * Whether the loudness meter may compute this detector's block sums in its own loop
   * (LoudnessMeter.feedWithSilence): 'rms' mode, stereo.
   */
  get acceptsStereoSums(): boolean {
    return this.mode === 'rms' && this.channels === 2;
  }

  /** Frames left in the current 'rms' block: a fused caller's run must not cross its end. */
  get blockFramesLeft(): number {
    return this.block - this.blockFill;
  }

  /** The current block's Σx² per channel, for a fused caller to add its run's squares to. */
  get blockSquares(): Float64Array {
    return this.blockSums;
  }

  /**
   * Counts `frames` frames (at most blockFramesLeft) whose squares a fused caller has added to
   * blockSquares, `peak` being the largest |x| seen so far: the same state feed() would leave.
   */
  addSummedFrames(frames: number, peak: number): void {
    if (peak > this.peak) this.peak = peak;
    this.blockFill += frames;
    this.frames += frames;
    if (this.blockFill === this.block) {
      this.endBlock(this.frames - this.block, this.blockPower(this.block));
      this.blockSums.fill(0);
      this.blockFill = 0;
    }
  }

  /** Mean square of the loudest channel in the current block of `frames` frames. */
  private blockPower(frames: number): number {
    let p = 0;
    for (let c = 0; c < this.channels; c++) p = Math.max(p, this.blockSums[c] / frames);
    return p;
  }

  private endBlock(blockStart: number, power: number): void {
    if (power > this.maxBlockPower) this.maxBlockPower = power;
    const loud = power > this.threshold * this.threshold;
    if (loud) {
      if (this.runStart >= 0) this.closeRun(this.runStart, blockStart);
      this.runStart = -1;
    } else if (this.runStart < 0) {
      this.runStart = blockStart;
    }
  }

  private closeRun(start: number, end: number): void {
    if (end - start < this.minFrames) return;
    this.silentFrames += end - start;
    if (this.ranges.length >= this.maxRanges) {
      this.truncated = true;
      return;
    }
    this.ranges.push(this.range(start, end));
  }

  private range(start: number, end: number): SilentRange {
    return {
      startSec: start / this.sampleRate,
      endSec: end / this.sampleRate,
      startFrame: start,
      endFrame: end,
    };
  }

  /** Ranges so far; a quiet run still open at the end counts if it is long enough. */
  result(): SilenceResult {
    let runStart = this.runStart;
    let maxPower = this.maxBlockPower;
    if (this.mode === 'rms' && this.blockFill > 0) {
      // The partial last block, judged on what it has (without disturbing the stream).
      const power = this.blockPower(this.blockFill);
      maxPower = Math.max(maxPower, power);
      if (power > this.threshold * this.threshold) runStart = -1;
      else if (runStart < 0) runStart = this.frames - this.blockFill;
    }
    const ranges = [...this.ranges];
    let silent = this.silentFrames;
    let truncated = this.truncated;
    if (runStart >= 0 && this.frames - runStart >= this.minFrames) {
      silent += this.frames - runStart;
      if (ranges.length < this.maxRanges) ranges.push(this.range(runStart, this.frames));
      else truncated = true;
    }
    const durationSec = this.frames / this.sampleRate;
    const empty =
      this.mode === 'peak' ? this.peak <= this.threshold : maxPower <= this.threshold * this.threshold;
    return {
      ranges,
      truncated,
      silentSec: silent / this.sampleRate,
      silentFraction: this.frames > 0 ? silent / this.frames : 0,
      empty,
      peakDbfs: toDb(this.peak),
      durationSec,
      thresholdDbfs: this.thresholdDbfs,
      minDurationSec: this.minDurationSec,
      mode: this.mode,
    };
  }
}

/** Silence of a whole interleaved signal (convenience for tests and small inputs). */
export function detectSilence(interleaved: Float32Array, options: SilenceOptions): SilenceResult {
  const sut = new SilenceDetector(options);
  sut.push(interleaved);
  return sut.result();
}
