import * as path from 'path';
import { MultiBar, Presets } from 'cli-progress';
import type { MdxOverlap } from '../core/mdx/mdx-options';
import type { SpleeterConfig } from '../infra/config/config.schema';
import { engineOptionsFromConfig } from '../engine/engine-options';
import { SpleeterEngine } from '../engine/spleeter-engine';
import type { OutputCodec, SeparationResult } from '../engine/types';
import { exitCodeFor, printError } from './cli-output';

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
  overwrite: boolean;
  gpu?: boolean;
  threads?: number;
  concurrency?: number;
  json: boolean;
  quiet: boolean;
}

export function engineFromConfig(
  config: SpleeterConfig,
  overrides: { gpu?: boolean; threads?: number } = {},
): SpleeterEngine {
  const options = engineOptionsFromConfig(config);
  return new SpleeterEngine({
    ...options,
    enableGpu: overrides.gpu ?? options.enableGpu,
    intraOpThreads: overrides.threads ?? options.intraOpThreads,
    logger: { warn: (m) => process.stderr.write(`warning: ${m}\n`) },
  });
}

export async function runSeparateCommand(
  files: string[],
  opts: SeparateCliOptions,
  config: SpleeterConfig,
): Promise<number> {
  const engine = engineFromConfig(config, { gpu: opts.gpu, threads: opts.threads });
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const showProgress = !opts.quiet && !opts.json && process.stderr.isTTY;
  const bars = showProgress
    ? new MultiBar(
        {
          format: ' {bar} {percentage}% | {file} | {stage}',
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
        },
        Presets.shades_classic,
      )
    : undefined;
  let failures = 0;
  let lastCode = 0;
  try {
    const concurrency = opts.concurrency ?? config.performance.batch_concurrency;
    const queue = [...files];
    const worker = async () => {
      while (queue.length) {
        const file = queue.shift()!;
        const bar = bars?.create(100, 0, { file: path.basename(file), stage: 'starting' });
        try {
          const result = await engine.separate({
            audioPath: file,
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
            overwrite: opts.overwrite,
            signal: controller.signal,
            onProgress: (fraction, stage) => bar?.update(Math.round(fraction * 100), { stage }),
          });
          bar?.update(100, { stage: 'done' });
          report(result, opts.json);
        } catch (err) {
          failures++;
          lastCode = exitCodeFor(err);
          bar?.update({ stage: 'failed' });
          bars?.stop();
          printError(err, `${file}: `);
          if (opts.json)
            process.stdout.write(`${JSON.stringify({ audioPath: file, error: describe(err) })}\n`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  } finally {
    bars?.stop();
    process.removeListener('SIGINT', onSigint);
    await engine.dispose();
  }
  if (controller.signal.aborted) return 130;
  if (failures === 0) return 0;
  return files.length === 1 ? lastCode : failures === files.length ? lastCode : 5;
}

function report(result: SeparationResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const t = result.timings;
  process.stdout.write(
    `${result.audioPath}: ${result.model.stems.length} stems with ${result.model.name} on ${result.executionProvider} ` +
      `in ${(t.totalMs / 1000).toFixed(2)} s (${result.realtimeFactor.toFixed(1)}x realtime)` +
      (result.mdx ? `, overlap ${result.mdx.overlap}, denoise ${result.mdx.denoise ? 'on' : 'off'}` : '') +
      '\n',
  );
  for (const [stem, file] of Object.entries(result.outputs)) process.stdout.write(`  ${stem}: ${file}\n`);
}

function describe(err: unknown): { code?: string; message: string } {
  const e = err as { code?: string; message?: string };
  return { code: typeof e.code === 'string' ? e.code : undefined, message: e.message ?? String(err) };
}
