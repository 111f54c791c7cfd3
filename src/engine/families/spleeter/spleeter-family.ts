/**
 * Spleeter U-Net models (one ONNX network per instrument, sherpa-onnx layout). Networks are loaded
 * once per directory and precision and kept until dispose(); the separations of one engine share
 * them. With cross-job batching on (crossJobBatching, see crossJobBatchingFor), their model calls
 * go through one SegmentScheduler per loaded model, which merges calls made at the same time.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { StemSeparator } from '../../../core/separation/types';
import type { ModelPrecision } from '../../../core/models/model-catalog';
import { SegmentScheduler } from '../../../core/spleeter/segment-scheduler';
import type { SegmentModel } from '../../../core/spleeter/types';
import type { FamilyOptions, FamilySeparatorOptions, ModelFamily } from '../model-family';
import { createSpleeterSeparator } from './spleeter-separator-adapter';
import { loadSpleeterModel, spleeterInstrumentsOf, type LoadedSpleeterModel } from './spleeter-onnx-model';

export class SpleeterFamily implements ModelFamily {
  private readonly loaded = new Map<string, Promise<LoadedSpleeterModel>>();
  /** Per loaded model: its scheduler, or null when cross-job batching is off for it. */
  private readonly schedulers = new WeakMap<SegmentModel, SegmentScheduler | null>();

  constructor(private readonly options: FamilyOptions) {}

  /**
   * The instruments, without creating a session unless this family already holds the model: the
   * main thread describes path models for request validation (ModelRegistry.describe), and loading
   * them there kept every network and its instrument thread for the life of the process, next to
   * the separation worker's own copy (about 200 MiB of weights for a 4-stem model, `npm run
   * bench:idle`).
   */
  async stems(dir: string): Promise<string[]> {
    const loaded = this.loaded.get(`${dir}|${this.options.precision}`);
    if (loaded) return [...(await loaded).instruments];
    return spleeterInstrumentsOf(dir, this.options.precision);
  }

  async separator(dir: string, opts: FamilySeparatorOptions): Promise<StemSeparator> {
    const model = await this.load(dir, opts.precision);
    return createSpleeterSeparator(
      model,
      {
        mwf: opts.mwf,
        bandwidth: opts.bandwidth,
        stems: opts.stems,
        batchSegments: this.options.batchSegments,
      },
      this.schedulerFor(model),
      this.options.dspPool?.(model.executionProvider) ?? null,
    );
  }

  /** Decided once per loaded model, from the execution provider it actually runs on. */
  private schedulerFor(model: SegmentModel): SegmentScheduler | null {
    let scheduler = this.schedulers.get(model);
    if (scheduler === undefined) {
      scheduler = crossJobBatchingFor(this.options.crossJobBatching ?? 'auto', model.executionProvider)
        ? new SegmentScheduler(model, {
            maxBatchSegments: this.options.maxBatchSegments,
            batchWindowMs: this.options.batchWindowMs,
          })
        : null;
      this.schedulers.set(model, scheduler);
    }
    return scheduler;
  }

  async dispose(): Promise<void> {
    const models = await Promise.allSettled([...this.loaded.values()]);
    this.loaded.clear();
    await Promise.all(models.map((m) => (m.status === 'fulfilled' ? m.value.dispose() : undefined)));
  }

  private load(dir: string, precisionOverride?: ModelPrecision): Promise<LoadedSpleeterModel> {
    const precision = precisionOverride ?? this.options.precision;
    const key = `${dir}|${precision}`;
    let p = this.loaded.get(key);
    if (!p) {
      p = (async () => {
        const budget = this.options.intraOpThreads || os.availableParallelism();
        const parallel =
          (this.options.parallelInstruments ?? false) && this.options.executionProviders[0] === 'cpu';
        const instruments = parallel ? await countInstruments(dir) : 1;
        return loadSpleeterModel(dir, {
          precision,
          executionProviders: this.options.executionProviders,
          intraOpThreads: parallel ? Math.max(1, Math.floor(budget / instruments)) : budget,
          interOpThreads: this.options.interOpThreads,
          logger: this.options.logger,
          runtime: this.options.runtime,
          parallelism: parallel && instruments > 1 ? 'worker-threads' : 'sequential',
          optimizedModelCacheDir: this.options.optimizedModelCacheDir,
        });
      })();
      this.loaded.set(key, p);
      p.catch(() => this.loaded.delete(key));
    }
    return p;
  }
}

/**
 * Whether the separations sharing a model merge their calls. 'auto': only on GPU providers, where
 * one call of n segments costs much less than n calls; on the CPU the cost is linear in the
 * segments, so the default there stays exactly today's path (no scheduler at all).
 */
export function crossJobBatchingFor(mode: 'auto' | 'on' | 'off', executionProvider: string): boolean {
  if (mode !== 'auto') return mode === 'on';
  const eps = executionProvider.split(',');
  return eps.every((ep) => ep === 'cuda' || ep === 'webgpu');
}

/** Instruments of a Spleeter model directory, from its manifest, else its ONNX files (sherpa layout). */
async function countInstruments(dir: string): Promise<number> {
  try {
    const manifest = JSON.parse(await fs.promises.readFile(path.join(dir, 'spleeter.json'), 'utf8')) as {
      instruments?: unknown[];
    };
    if (Array.isArray(manifest.instruments) && manifest.instruments.length > 0)
      return manifest.instruments.length;
  } catch {
    // no manifest: count the fp32 files
  }
  const files = await fs.promises.readdir(dir).catch(() => [] as string[]);
  return Math.max(1, files.filter((f) => /^[^.]+\.onnx$/.test(f)).length);
}
