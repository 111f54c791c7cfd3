/**
 * The engine's DSP threads (`performance.dsp_threads`, library `dspThreads`): how many a
 * separation gets, and the one pool every Spleeter separation of the engine shares. `auto` gives
 * none when the model runs on the CPU (on few cores they would only compete with inference) and
 * min(cores − 1, 8) when a GPU provider runs it, where this thread's STFT/iSTFT is the bottleneck.
 */
import * as os from 'os';
import { ErrorCodes, ValidationError } from '../core/errors';
import type { DspThreadPool } from '../core/spleeter/dsp-pool';
import { DspWorkerPool } from '../infra/dsp/dsp-worker-pool';

export type DspThreadsSetting = 'auto' | number;

/** Most threads `auto` takes. */
export const MAX_AUTO_DSP_THREADS = 8;

/** DSP threads for a model running on `executionProvider` ('cpu', 'cuda', 'webgpu', …). */
export function resolveDspThreads(
  setting: DspThreadsSetting | undefined,
  executionProvider: string,
  cores = os.availableParallelism(),
): number {
  if (typeof setting === 'number') return setting;
  if (executionProvider === 'cpu') return 0;
  return Math.max(0, Math.min(cores - 1, MAX_AUTO_DSP_THREADS));
}

export class DspThreads {
  private pool: DspWorkerPool | null = null;

  constructor(private readonly setting: DspThreadsSetting | undefined) {}

  /** The pool for a separation on `executionProvider`, or null for the in-thread path (0 threads). */
  poolFor(executionProvider: string): DspThreadPool | null {
    const threads = resolveDspThreads(this.setting, executionProvider);
    if (threads === 0) return null;
    // One setting per engine, so every separation that gets threads gets the same number.
    if (this.pool?.threads !== threads) {
      void this.pool?.terminate();
      this.pool = new DspWorkerPool(threads);
    }
    return this.pool;
  }

  /** Ends the threads (started lazily by the first task). */
  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.terminate();
  }
}

/** The library option checked: 'auto' or an integer >= 0 (the config schema checks its own). */
export function validDspThreads(value: unknown): DspThreadsSetting | undefined {
  if (value === undefined || value === 'auto' || (Number.isInteger(value) && (value as number) >= 0)) {
    return value as DspThreadsSetting | undefined;
  }
  throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `dspThreads must be 'auto' or an integer >= 0`, {
    field: 'dspThreads',
    dspThreads: value,
  });
}
