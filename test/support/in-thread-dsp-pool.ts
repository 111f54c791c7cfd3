/**
 * A DspThreadPool that runs the tasks in this thread, last task first: specs check the task
 * split (ranges, warm-up, carried accumulators) without worker threads, and the reversed order
 * catches any dependence of one task on another's having run first. It counts the shared buffers
 * not handed back yet.
 */
import type { DspTask, DspThreadPool } from '../../src/core/spleeter/dsp-pool';
import { runDspTask } from '../../src/core/spleeter/dsp-tasks';

export class InThreadDspPool implements DspThreadPool {
  /** Tasks run, per kind. */
  readonly counts = new Map<DspTask['kind'], number>();

  /** Shared buffers acquired and not released yet. */
  readonly outstanding = new Set<SharedArrayBuffer>();

  constructor(readonly threads: number) {}

  acquire(bytes: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(bytes);
    this.outstanding.add(buffer);
    return buffer;
  }

  release(buffers: readonly SharedArrayBuffer[]): void {
    for (const b of buffers) this.outstanding.delete(b);
  }

  async run(tasks: readonly DspTask[]): Promise<number[]> {
    await Promise.resolve();
    const results = new Array<number>(tasks.length);
    for (let i = tasks.length - 1; i >= 0; i--) {
      results[i] = runDspTask(tasks[i]);
      this.counts.set(tasks[i].kind, (this.counts.get(tasks[i].kind) ?? 0) + 1);
    }
    return results;
  }
}
