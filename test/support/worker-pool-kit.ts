/**
 * Scaffolding for specs of SeparationWorkerPool with real worker threads: pools built over one temp
 * directory (closed and removed by `cleanup`), jobs writing to fresh output folders, and the stems'
 * bytes for comparisons.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  SeparationWorkerPool,
  type SeparationWorkerPoolOptions,
} from '../../src/engine/workers/separation-worker-pool';
import type { SpleeterEngineOptions } from '../../src/engine/engine-options';
import type { SeparationResult } from '../../src/engine/types';

export interface WorkerPoolKit {
  /** `engine`: options of the workers' engines beyond the kit's (models dir, 1 thread, no ORT cache). */
  makePool(
    size: number,
    options: SeparationWorkerPoolOptions,
    engine?: Pick<SpleeterEngineOptions, 'crossJobBatching' | 'batchWindowMs' | 'maxBatchSegments'>,
  ): SeparationWorkerPool;
  separate(pool: SeparationWorkerPool, audioPath: string, modelName: string): Promise<SeparationResult>;
  cleanup(): Promise<void>;
}

export function workerPoolKit(dir: () => string): WorkerPoolKit {
  const pools: SeparationWorkerPool[] = [];
  let runs = 0;
  return {
    makePool(size, options, engine = {}) {
      const pool = new SeparationWorkerPool(
        size,
        { modelsDir: path.join(dir(), 'models'), intraOpThreads: 1, ortCacheDir: null, ...engine },
        undefined,
        options,
      );
      pools.push(pool);
      return pool;
    },
    separate(pool, audioPath, modelName) {
      return pool.separate({
        audioPath,
        modelName,
        outputDir: path.join(dir(), `out-${++runs}`),
        bitDepth: 32,
      });
    },
    async cleanup() {
      await Promise.all(pools.map((p) => p.close()));
      await fs.promises.rm(dir(), { recursive: true, force: true });
    },
  };
}

/** The bytes of every stem file of a result, by stem name. */
export async function stemFilesOf(result: SeparationResult): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const [stem, file] of Object.entries(result.outputs)) out[stem] = await fs.promises.readFile(file);
  return out;
}
