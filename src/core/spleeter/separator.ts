/**
 * Streaming Spleeter separation (MODEL-FORMATS A3–A8): interleaved stereo 44.1 kHz in, one
 * interleaved stereo stream per requested stem out, exactly N sample frames each.
 *
 * Ratio masks: one pass (STFT → 512-frame segments → model → masks → iSTFT), emitting audio after
 * every batch of segments. MWF: three passes over the source (see mwf.ts). Model passes are
 * pipelined (segment-pipeline.ts): batch k+1 is in the model while batch k is synthesized and
 * written and batch k+2 analysed. Memory is bounded by `batchSegments`, not by the input length:
 * per segment of 512 frames (11.9 s) and batch buffer (two of them) ≈ 21 MB of mixture spectrum +
 * model input, plus 4.2 MB of model output per instrument for up to two batches and 4.2 MB of
 * emitted audio per stem. Results do not depend on how the source is chunked nor on
 * `batchSegments`: every output sample is the same float64 computation in the same order.
 */
import { ErrorCodes, AudioProcessingError, ValidationError } from '../errors';
import { OverlapAddSynthesizer, SPLEETER_FRAMING, stftFrameCount } from '../dsp/stft';
import { DspSession, type DspThreadPool } from './dsp-pool';
import { MultichannelWienerFilter } from './mwf';
import { accumulateMwfParallel, ParallelStemWriter, SharedModelOutputs } from './parallel-stem-writer';
import { RatioMasker } from './ratio-mask';
import { PassCounters, PassOptions, SegmentBatch, SegmentPipeline, STEREO } from './segment-pipeline';
import {
  SeparateOptions,
  SeparationStats,
  SegmentModel,
  SPLEETER_BINS,
  SpleeterSeparationOptions,
} from './types';
import type { StemSink } from '../separation/types';

export const DEFAULT_BATCH_SEGMENTS = 1;
/** Upper bound on batchSegments: 64 segments ≈ 12.7 min of audio, ≈ 3.5 GB of buffers with 4 stems. */
export const MAX_BATCH_SEGMENTS = 64;

export type SeparationStage = 'separate' | 'mwf-scan' | 'mwf-statistics' | 'mwf-apply';

/** Progress share of each MWF pass (scan is cheap: no model). */
const MWF_PROGRESS = { scanEnd: 0.1, statisticsEnd: 0.55 };

/** One OLA synthesizer per output stem, plus exact-size output allocation per batch. */
class StemWriter {
  private readonly synths: OverlapAddSynthesizer[];
  private lengthSet = false;
  private out: Float32Array[] = [];
  /** The last batch's arrays, refilled by the next batch when the sink consumes its chunks. */
  private spare: Float32Array[] = [];
  private written = 0;

  constructor(
    private readonly stems: readonly string[],
    private readonly sink: StemSink,
    private readonly counters: PassCounters,
  ) {
    this.synths = stems.map(() => new OverlapAddSynthesizer({ channels: STEREO, framing: SPLEETER_FRAMING }));
  }

  /** Allocates this batch's outputs (exact size) once the batch's frame count is known. */
  begin(frames: number, totalSamples: number | null): void {
    if (totalSamples !== null && !this.lengthSet) {
      for (const s of this.synths) s.setLength(totalSamples);
      this.lengthSet = true;
    }
    const size = this.synths[0].samplesFor(frames, false) * STEREO;
    const spare = this.spare;
    this.spare = [];
    this.out = this.stems.map((_, k) => (spare[k]?.length === size ? spare[k] : new Float32Array(size)));
    this.written = 0;
  }

  addSpectrum(stem: number, channel: number, re: Float64Array, im: Float64Array): void {
    this.synths[stem].addSpectrum(channel, re, im);
  }

  /** Adds gain × the mixture spectrum at `offset` (see OverlapAddSynthesizer.addScaledSpectrum). */
  addMasked(
    stem: number,
    channel: number,
    gain: Float64Array,
    gainBins: number,
    gainAbove: number,
    re: Float32Array,
    im: Float32Array,
    offset: number,
  ): void {
    this.synths[stem].addScaledSpectrum(channel, gain, gainBins, gainAbove, re, im, offset);
  }

  /** All stems and channels of the current frame were added. */
  endFrame(): void {
    let w = 0;
    for (let k = 0; k < this.synths.length; k++) w = this.synths[k].advance(this.out[k], this.written);
    this.written += w;
  }

  /** Writes the batch's samples; the arrays are handed to the sink before anything else runs. */
  async commit(): Promise<void> {
    const count = this.written * STEREO;
    const out = this.out;
    this.out = [];
    if (count === 0) return;
    await this.write(out.map((o) => (o.length === count ? o : o.subarray(0, count))));
    // The next batch writes from index 0 and hands over only what it wrote: nothing stale leaks.
    if (this.sink.consumesChunks) this.spare = out;
  }

  /** After the last frame: the overlap tail up to N samples. */
  async finish(totalSamples: number): Promise<void> {
    if (!this.lengthSet) {
      for (const s of this.synths) s.setLength(totalSamples);
      this.lengthSet = true;
    }
    const count = this.synths[0].pendingTail;
    if (count === 0) return;
    const out = this.synths.map((s) => {
      const o = new Float32Array(count * STEREO);
      s.flush(o, 0);
      return o;
    });
    await this.write(out);
  }

  private async write(arrays: Float32Array[]): Promise<void> {
    const map = new Map<string, Float32Array>();
    this.stems.forEach((name, k) => map.set(name, arrays[k]));
    const t0 = performance.now();
    await this.sink.write(map);
    this.counters.sinkMs += performance.now() - t0;
  }
}

export class SpleeterSeparator {
  /** Stems emitted, in sink map order. */
  readonly stems: readonly string[];
  private readonly stemIndices: number[];
  private readonly batchSegments: number;
  private readonly mwf: boolean;
  private readonly fullBandwidth: boolean;
  private readonly skipSilentSegments: boolean;

  /**
   * `pool`: DSP threads for the STFT, masks and iSTFT of each batch (dsp-pool.ts); the stems are
   * the same bit for bit. null: all DSP in the calling thread.
   */
  constructor(
    private readonly model: SegmentModel,
    options: SpleeterSeparationOptions = {},
    private readonly pool: DspThreadPool | null = null,
  ) {
    const instruments = model.instruments;
    if (instruments.length === 0) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'Model has no instruments');
    }
    if (!Number.isInteger(model.F) || model.F < 1 || model.F > SPLEETER_BINS) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `Model F must be an integer in 1..${SPLEETER_BINS}`,
        { F: model.F },
      );
    }
    const batch = options.batchSegments ?? DEFAULT_BATCH_SEGMENTS;
    if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH_SEGMENTS) {
      throw new ValidationError(
        ErrorCodes.VALIDATION_FAILED,
        `batchSegments must be an integer in 1..${MAX_BATCH_SEGMENTS}`,
        {
          batchSegments: options.batchSegments,
        },
      );
    }
    if (options.bandwidth !== undefined && options.bandwidth !== 'model' && options.bandwidth !== 'full') {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `bandwidth must be 'model' or 'full'`, {
        bandwidth: options.bandwidth,
      });
    }
    const requested = options.stems === undefined ? [...instruments] : [...new Set(options.stems)];
    if (requested.length === 0) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'stems must not be empty');
    }
    const unknown = requested.filter((s) => !instruments.includes(s));
    if (unknown.length > 0) {
      throw new ValidationError(
        ErrorCodes.UNKNOWN_STEM,
        `Unknown stem(s) ${unknown.join(', ')}; the model has ${instruments.join(', ')}`,
        {
          unknown,
          available: [...instruments],
        },
      );
    }
    this.stems = requested;
    this.stemIndices = requested.map((s) => instruments.indexOf(s));
    this.batchSegments = batch;
    this.mwf = options.mwf === true;
    this.fullBandwidth = options.bandwidth === 'full';
    this.skipSilentSegments = options.skipSilentSegments !== false;
  }

  async separate(
    openSource: () => AsyncIterable<Float32Array>,
    sink: StemSink,
    opts: SeparateOptions = {},
  ): Promise<SeparationStats> {
    const start = performance.now();
    const counters: PassCounters = {
      modelCalls: 0,
      inferenceMs: 0,
      inferenceWaitMs: 0,
      dspMs: 0,
      sinkMs: 0,
      skippedSegments: 0,
    };
    // With DSP threads: this separation's shared planes, handed back when it ends (every task of
    // it has settled by then: the pipeline awaits them even when failing).
    const session = this.pool ? new DspSession(this.pool) : null;
    const pipeline = new SegmentPipeline(
      this.model,
      this.batchSegments,
      counters,
      this.skipSilentSegments,
      session,
    );
    const expected =
      opts.totalSamples !== undefined && opts.totalSamples > 0 ? stftFrameCount(opts.totalSamples) : null;
    let result: { samples: number; frames: number; segments: number };
    try {
      result = this.mwf
        ? await this.separateMwf(openSource, sink, opts, pipeline, counters, expected, session)
        : await this.separateRatio(openSource, sink, opts, pipeline, counters, expected, session);
    } finally {
      session?.close();
    }
    opts.onProgress?.(1, this.mwf ? 'mwf-apply' : 'separate');
    return {
      samples: result.samples,
      frames: result.frames,
      segments: result.segments,
      modelCalls: counters.modelCalls,
      skippedSegments: counters.skippedSegments,
      inferenceMs: counters.inferenceMs,
      inferenceWaitMs: counters.inferenceWaitMs,
      dspMs: counters.dspMs,
      sinkMs: counters.sinkMs,
      wallMs: performance.now() - start,
      passes: this.mwf ? 3 : 1,
      stems: [...this.stems],
    };
  }

  private passOptions(
    opts: SeparateOptions,
    stage: SeparationStage,
    from: number,
    to: number,
    expectedFrames: number | null,
    withModel = true,
  ): PassOptions {
    return {
      withModel,
      // Masks/filters read bins < F only with 'model' bandwidth; the MWF scan needs max|x| over all.
      storedBins: this.fullBandwidth || !withModel ? SPLEETER_BINS : this.model.F,
      stage,
      progressFrom: from,
      progressTo: to,
      expectedFrames,
      signal: opts.signal,
      onProgress: opts.onProgress,
    };
  }

  private async separateRatio(
    openSource: () => AsyncIterable<Float32Array>,
    sink: StemSink,
    opts: SeparateOptions,
    pipeline: SegmentPipeline,
    counters: PassCounters,
    expected: number | null,
    session: DspSession | null,
  ): Promise<{ samples: number; frames: number; segments: number }> {
    const F = this.model.F;
    if (session) {
      const parallel = this.parallelWriter(session, sink, counters);
      const result = await pipeline.run(
        openSource(),
        this.passOptions(opts, 'separate', 0, 1, expected),
        (b) => parallel.batch(b, null),
      );
      if (result.samples > 0) await parallel.finish(result.samples);
      return result;
    }
    const masker = new RatioMasker(F, this.model.instruments.length, this.fullBandwidth);
    const writer = new StemWriter(this.stems, sink, counters);
    const gain = new Float64Array(F);
    const indices = this.stemIndices;
    const onBatch = async (b: SegmentBatch): Promise<void> => {
      const t0 = performance.now();
      const outputs = b.outputs as readonly Float32Array[];
      writer.begin(b.frames, b.totalSamples);
      for (let t = 0; t < b.frames; t++) {
        const specOffset = t * SPLEETER_BINS;
        for (let c = 0; c < STEREO; c++) {
          masker.prepare(outputs, b.segments, t, c);
          for (let k = 0; k < indices.length; k++) {
            // The mask goes to the synthesizer, which applies it on the way into the iSTFT.
            const above = masker.mask(outputs[indices[k]], b.segments, t, c, gain);
            writer.addMasked(k, c, gain, F, above, b.specRe[c], b.specIm[c], specOffset);
          }
        }
        writer.endFrame();
      }
      counters.dspMs += performance.now() - t0;
      await writer.commit();
    };
    const result = await pipeline.run(
      openSource(),
      this.passOptions(opts, 'separate', 0, 1, expected),
      onBatch,
    );
    await this.finishWriter(writer, result.samples, counters);
    return result;
  }

  private async separateMwf(
    openSource: () => AsyncIterable<Float32Array>,
    sink: StemSink,
    opts: SeparateOptions,
    pipeline: SegmentPipeline,
    counters: PassCounters,
    expected: number | null,
    session: DspSession | null,
  ): Promise<{ samples: number; frames: number; segments: number }> {
    const pool = session;
    const filter = new MultichannelWienerFilter(
      this.model.F,
      this.model.instruments.length,
      this.fullBandwidth,
      pool ? (length) => pool.float64(length) : undefined,
    );
    const timed = (fn: (b: SegmentBatch) => void) => (b: SegmentBatch) => {
      const t0 = performance.now();
      fn(b);
      counters.dspMs += performance.now() - t0;
    };
    // Pass 1: global max |x| (no model).
    const scan = await pipeline.run(
      openSource(),
      this.passOptions(opts, 'mwf-scan', 0, MWF_PROGRESS.scanEnd, expected, false),
      timed((b) => filter.observe(b)),
    );
    if (scan.samples === 0) return scan;
    // Pass 2: spatial covariance sums over all frames (with DSP threads: by ranges of bins).
    const shared = pool
      ? new SharedModelOutputs(pool, this.model.instruments.length, this.batchSegments, this.model.F)
      : null;
    const stats = await pipeline.run(
      openSource(),
      this.passOptions(opts, 'mwf-statistics', MWF_PROGRESS.scanEnd, MWF_PROGRESS.statisticsEnd, scan.frames),
      pool
        ? async (b) => {
            const t0 = performance.now();
            await accumulateMwfParallel(pool, filter, shared!, b, this.model.F, this.fullBandwidth);
            counters.dspMs += performance.now() - t0;
          }
        : timed((b) => filter.accumulate(b)),
    );
    this.checkSameLength(scan.samples, stats.samples);
    filter.finalizeCovariance();
    // Pass 3: filter and synthesize.
    if (pool) {
      const parallel = this.parallelWriter(pool, sink, counters);
      const apply = await pipeline.run(
        openSource(),
        this.passOptions(opts, 'mwf-apply', MWF_PROGRESS.statisticsEnd, 1, scan.frames),
        (b) => parallel.batch(b, filter),
      );
      this.checkSameLength(scan.samples, apply.samples);
      await parallel.finish(apply.samples);
      return apply;
    }
    const writer = new StemWriter(this.stems, sink, counters);
    const outRe = this.stems.map(() => [new Float64Array(SPLEETER_BINS), new Float64Array(SPLEETER_BINS)]);
    const outIm = this.stems.map(() => [new Float64Array(SPLEETER_BINS), new Float64Array(SPLEETER_BINS)]);
    const indices = this.stemIndices;
    const onBatch = async (b: SegmentBatch): Promise<void> => {
      const t0 = performance.now();
      writer.begin(b.frames, b.totalSamples);
      for (let t = 0; t < b.frames; t++) {
        filter.filterFrame(b, t, indices, outRe, outIm);
        for (let k = 0; k < indices.length; k++) {
          for (let c = 0; c < STEREO; c++) writer.addSpectrum(k, c, outRe[k][c], outIm[k][c]);
        }
        writer.endFrame();
      }
      counters.dspMs += performance.now() - t0;
      await writer.commit();
    };
    const apply = await pipeline.run(
      openSource(),
      this.passOptions(opts, 'mwf-apply', MWF_PROGRESS.statisticsEnd, 1, scan.frames),
      onBatch,
    );
    this.checkSameLength(scan.samples, apply.samples);
    await this.finishWriter(writer, apply.samples, counters);
    return apply;
  }

  private parallelWriter(pool: DspSession, sink: StemSink, counters: PassCounters): ParallelStemWriter {
    const model = {
      F: this.model.F,
      instruments: this.model.instruments.length,
      fullBandwidth: this.fullBandwidth,
    };
    return new ParallelStemWriter(
      pool,
      this.stems,
      this.stemIndices,
      sink,
      counters,
      model,
      this.batchSegments,
    );
  }

  private async finishWriter(writer: StemWriter, samples: number, counters: PassCounters): Promise<void> {
    if (samples === 0) return;
    const t0 = performance.now();
    const sinkBefore = counters.sinkMs;
    await writer.finish(samples);
    counters.dspMs += performance.now() - t0 - (counters.sinkMs - sinkBefore);
  }

  private checkSameLength(first: number, again: number): void {
    if (first !== again) {
      throw new AudioProcessingError(
        ErrorCodes.CORRUPT_AUDIO,
        `Audio source yielded ${again} samples on a later pass but ${first} on the first`,
        {
          first,
          again,
        },
      );
    }
  }
}
