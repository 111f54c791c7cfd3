import * as path from 'path';
import type { SignalAnalysis } from '../core/analysis/signal-analysis';
import type { MdxOverlap } from '../core/mdx/mdx-options';
import type { SpleeterConfig } from '../infra/config/config.schema';
import { engineOptionsFromConfig } from '../engine/engine-options';
import { SpleeterEngine } from '../engine/spleeter-engine';
import type { OutputCodec, SeparationResult } from '../engine/types';
import { exitCodeFor, formatErrorWithHint } from './cli-output';
import { ProgressDisplay } from './progress-display';

export interface SeparateCliOptions {
  model?: string;
  output: string;
  codec: OutputCodec;
  bitrate?: number;
  bitDepth?: '16' | '24' | '32';
  sampleRate?: number;
  offset?: number;
  duration?: number;
  filenameFormat: string;
  stems?: string[];
  mwf: boolean;
  bandwidth?: 'model' | 'full';
  /** MDX-Net only; absent unless given, so other models are not refused for a default. */
  overlap?: MdxOverlap;
  denoise?: boolean;
  preprocess?: boolean;
  highpass?: number;
  noiseReduction?: boolean;
  normalizeLoudness?: boolean;
  targetLufs?: number;
  /** commander's --no-tags: true unless given. */
  tags?: boolean;
  /** commander's --no-analysis: true unless given. */
  analysis?: boolean;
  overwrite: boolean;
  gpu?: boolean;
  /** Fail with GPU_UNAVAILABLE (exit 6) instead of falling back to the CPU; implies --gpu. */
  requireGpu?: boolean;
  threads?: number;
  /** --dsp-threads: 'auto' or a count (engine option dspThreads). */
  dspThreads?: 'auto' | number;
  concurrency?: number;
  json: boolean;
  quiet: boolean;
}

export function engineFromConfig(
  config: SpleeterConfig,
  overrides: { gpu?: boolean; requireGpu?: boolean; threads?: number; dspThreads?: 'auto' | number } = {},
): SpleeterEngine {
  const options = engineOptionsFromConfig(config);
  return new SpleeterEngine({
    ...options,
    enableGpu: overrides.gpu ?? options.enableGpu,
    requireGpu: overrides.requireGpu || options.requireGpu,
    intraOpThreads: overrides.threads ?? options.intraOpThreads,
    dspThreads: overrides.dspThreads ?? options.dspThreads,
    logger: { warn: (m) => process.stderr.write(`warning: ${m}\n`) },
  });
}

export async function runSeparateCommand(
  files: string[],
  opts: SeparateCliOptions,
  config: SpleeterConfig,
): Promise<number> {
  const engine = engineFromConfig(config, {
    gpu: opts.gpu,
    requireGpu: opts.requireGpu,
    threads: opts.threads,
    dspThreads: opts.dspThreads,
  });
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const display = new ProgressDisplay({
    out: process.stdout,
    err: process.stderr,
    bars: !opts.quiet && !opts.json,
  });
  let failures = 0;
  let lastCode = 0;
  try {
    // A GPU that is required and missing fails the run once, before any file is opened.
    try {
      await engine.checkExecutionProvider();
    } catch (err) {
      display.error(formatErrorWithHint(err, { command: 'separate' }));
      if (opts.json) display.result(JSON.stringify({ error: describe(err) }));
      return exitCodeFor(err);
    }
    await engine.batchSeparate(files, {
      outputDir: opts.output,
      modelName: opts.model,
      codec: opts.codec,
      bitrateKbps: opts.bitrate,
      bitDepth: opts.bitDepth ? (Number(opts.bitDepth) as 16 | 24 | 32) : undefined,
      sampleRate: opts.sampleRate,
      offsetSec: opts.offset,
      durationSec: opts.duration,
      filenameFormat: opts.filenameFormat,
      stems: opts.stems,
      mwf: opts.mwf,
      bandwidth: opts.bandwidth,
      overlap: opts.overlap,
      denoise: opts.denoise,
      preprocess: opts.preprocess,
      highpassHz: opts.highpass,
      noiseReduction: opts.noiseReduction,
      normalizeLoudness: opts.normalizeLoudness,
      targetLufs: opts.targetLufs,
      tags: opts.tags ?? true,
      analysis: opts.analysis ?? true,
      overwrite: opts.overwrite,
      signal: controller.signal,
      concurrency: opts.concurrency ?? config.performance.batch_concurrency,
      onFileStart: (file) => {
        const bar = display.track(path.basename(file));
        // The total is for the bar only: a file the probe cannot read fails in separate().
        engine
          .probe(file)
          .then((info) => bar.setAudioSeconds(selectedSeconds(info.durationSec, opts)))
          .catch(() => undefined);
        return {
          onProgress: (fraction, stage) => bar.update(fraction, stage),
          onDone: ({ result, error }) => {
            if (result) {
              bar.setAudioSeconds(result.input.durationSec);
              bar.finish('done');
              for (const line of report(result, opts.json)) display.result(line);
              return;
            }
            failures++;
            lastCode = exitCodeFor(error);
            bar.finish('failed');
            display.error(formatErrorWithHint(error, { command: 'separate', prefix: `${file}: ` }));
            if (opts.json) display.result(JSON.stringify({ audioPath: file, error: describe(error) }));
          },
        };
      },
    });
  } finally {
    display.stop();
    process.removeListener('SIGINT', onSigint);
    await engine.dispose();
  }
  if (controller.signal.aborted) return 130;
  if (failures === 0) return 0;
  return files.length === 1 ? lastCode : failures === files.length ? lastCode : 5;
}

function report(result: SeparationResult, json: boolean): string[] {
  if (json) return [JSON.stringify(result)];
  const t = result.timings;
  return [
    `${result.audioPath}: ${result.model.stems.length} stems with ${result.model.name} on ${result.executionProvider}` +
      (result.executionDevice ? ` (${result.executionDevice})` : '') +
      ' ' +
      `in ${(t.totalMs / 1000).toFixed(2)} s (${result.realtimeFactor.toFixed(1)}x realtime)` +
      (result.mdx ? `, overlap ${result.mdx.overlap}, denoise ${result.mdx.denoise ? 'on' : 'off'}` : ''),
    ...(result.analysis ? [`  input: ${describeSignal(result.analysis.input)}`] : []),
    // The path keeps a line of its own (scripts read "  <stem>: <path>"); its analysis goes below.
    ...Object.entries(result.outputs).flatMap(([stem, file]) => {
      const a = result.analysis?.stems[stem];
      return [`  ${stem}: ${file}`, ...(a ? [`    ${describeSignal(a)}`] : [])];
    }),
  ];
}

/** "−14.2 LUFS, LRA 5.1 LU[, −0.8 dBTP], 2 silent ranges (3.5 s)" or "empty". */
function describeSignal(a: SignalAnalysis): string {
  if (a.empty) return 'empty';
  const l = a.loudness;
  const n = (v: number | null, unit: string) => (v === null ? `n/a ${unit}` : `${v.toFixed(1)} ${unit}`);
  const s = a.silence;
  return (
    `${n(l.integratedLufs, 'LUFS')}, LRA ${n(l.loudnessRangeLu, 'LU')}, ` +
    (l.truePeakDbtp !== null ? `${n(l.truePeakDbtp, 'dBTP')}, ` : '') +
    `${s.ranges.length} silent range${s.ranges.length === 1 ? '' : 's'} (${s.silentSec.toFixed(1)} s)`
  );
}

/** Seconds of audio the offset/duration options select from a file of `total` seconds. */
function selectedSeconds(
  total: number,
  opts: Pick<SeparateCliOptions, 'offset' | 'duration'>,
): number | null {
  if (!(total > 0)) return null;
  const remaining = Math.max(0, total - (opts.offset ?? 0));
  return opts.duration !== undefined ? Math.min(opts.duration, remaining) : remaining;
}

function describe(err: unknown): { code?: string; message: string } {
  const e = err as { code?: string; message?: string };
  return { code: typeof e.code === 'string' ? e.code : undefined, message: e.message ?? String(err) };
}
