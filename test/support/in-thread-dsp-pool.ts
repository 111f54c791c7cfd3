/**
 * A DspThreadPool that runs the tasks in this thread, last task first: specs check the task
 * split (ranges, warm-up, carried accumulators) without worker threads, and the reversed order
 * catches any dependence of one task on another's having run first.
 */
import type { DspTask, DspThreadPool } from '../../src/core/spleeter/dsp-pool';
import { runDspTask } from '../../src/core/spleeter/dsp-tasks';

export class InThreadDspPool implements DspThreadPool {
  /** Tasks run, per kind. */
  readonly counts = new Map<DspTask['kind'], number>();

  constructor(readonly threads: number) {}

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
