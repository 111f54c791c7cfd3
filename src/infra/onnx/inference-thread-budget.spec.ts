import { Worker } from 'worker_threads';
import {
  InferenceThreadBudget,
  currentInferenceThreadBudget,
  inferenceThreadBudgetSize,
  installInferenceThreadBudget,
  withInferenceThreads,
} from './inference-thread-budget';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `calls` fake model calls of `threads` each, counting the threads really in flight. */
async function hammer(
  sut: InferenceThreadBudget,
  inFlight: Int32Array,
  threads: number,
  calls: number,
): Promise<void> {
  for (let i = 0; i < calls; i++) {
    await sut.run(threads, async () => {
      const now = Atomics.add(inFlight, 0, threads) + threads;
      if (now > Atomics.load(inFlight, 1)) Atomics.store(inFlight, 1, now);
      await sleep(2);
      Atomics.sub(inFlight, 0, threads);
    });
  }
}

describe(InferenceThreadBudget.name, () => {
  afterEach(() => installInferenceThreadBudget(null));

  it('never lets calls in flight hold more threads than the budget, and runs them all', async () => {
    const sut = InferenceThreadBudget.create(3);
    const inFlight = new Int32Array(new SharedArrayBuffer(8));
    // 2 + 2 > 3: two of these never run together; 1-thread calls fill the gap.
    await Promise.all([
      hammer(sut, inFlight, 2, 10),
      hammer(sut, inFlight, 2, 10),
      hammer(sut, inFlight, 1, 10),
    ]);
    expect(Atomics.load(inFlight, 1)).toBe(3);
    expect(sut.peakInUse).toBe(3);
    expect(sut.available).toBe(3);
  });

  it('clamps a request above the budget to the whole budget instead of waiting forever', async () => {
    const sut = InferenceThreadBudget.create(2);
    await expect(sut.acquire(16)).resolves.toBe(2);
    expect(sut.available).toBe(0);
    sut.release(2);
    expect(sut.available).toBe(2);
  });

  it('makes a second call wait until the first gives its threads back', async () => {
    const sut = InferenceThreadBudget.create(2);
    const order: string[] = [];
    const first = sut.run(2, async () => {
      order.push('first start');
      await sleep(30);
      order.push('first end');
    });
    const second = sut.run(1, async () => {
      order.push('second');
    });
    await Promise.all([first, second]);
    expect(order).toEqual(['first start', 'first end', 'second']);
  });

  it('is shared by worker threads that attach to its buffer (one budget per process)', async () => {
    const sut = InferenceThreadBudget.create(2);
    const inFlight = new Int32Array(new SharedArrayBuffer(8));
    const code = `
      require(${JSON.stringify(require.resolve('@swc-node/register'))});
      const { workerData, parentPort } = require('worker_threads');
      const { InferenceThreadBudget } = require(${JSON.stringify(require.resolve('./inference-thread-budget'))});
      const budget = InferenceThreadBudget.attach(workerData.budget);
      const inFlight = new Int32Array(workerData.inFlight);
      (async () => {
        for (let i = 0; i < 15; i++) {
          await budget.run(workerData.threads, async () => {
            const now = Atomics.add(inFlight, 0, workerData.threads) + workerData.threads;
            if (now > Atomics.load(inFlight, 1)) Atomics.store(inFlight, 1, now);
            await new Promise((r) => setTimeout(r, 2));
            Atomics.sub(inFlight, 0, workerData.threads);
          });
        }
        parentPort.postMessage('done');
      })();`;
    const run = (threads: number) =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(code, {
          eval: true,
          workerData: { budget: sut.shared, inFlight: inFlight.buffer, threads },
        });
        w.once('message', () => {
          resolve();
          void w.terminate();
        });
        w.once('error', reject);
        // Exiting before 'done' is the bug this guards against (a waiting thread whose loop emptied).
        w.once('exit', (code) => reject(new Error(`worker exited (${code}) before finishing`)));
      });
    // Two threads asking 2 and 1 against a budget of 2, plus this thread's own calls of 1.
    await Promise.all([run(2), run(1), hammer(sut, inFlight, 1, 15)]);
    expect(Atomics.load(inFlight, 1)).toBeLessThanOrEqual(2);
    expect(Atomics.load(inFlight, 1)).toBe(2);
    expect(sut.available).toBe(2);
  });

  it('exclusive() runs once no call is in flight, and calls made meanwhile wait until it ends', async () => {
    const sut = InferenceThreadBudget.create(3);
    const order: string[] = [];
    const inCall = sut.run(2, async () => {
      order.push('call start');
      await sleep(30);
      order.push('call end');
    });
    await sleep(5);
    const exclusive = sut.exclusive(async () => {
      order.push(`exclusive holds ${3 - sut.available}`);
      await sleep(30);
      order.push('exclusive end');
      return 'done';
    });
    // One thread is free, but an exclusive call is pending: this waits for it.
    const later = sut.run(1, async () => void order.push('later'));
    await expect(exclusive).resolves.toBe('done');
    await Promise.all([inCall, later]);
    expect(order).toEqual(['call start', 'call end', 'exclusive holds 3', 'exclusive end', 'later']);
    expect(sut.available).toBe(3);
    // Holding everything is not load: the peak stays what the calls used.
    expect(sut.peakInUse).toBe(2);
  });

  it('is not starved by a stream of small calls, and gives everything back when fn throws', async () => {
    const sut = InferenceThreadBudget.create(2);
    const other = InferenceThreadBudget.attach(sut.shared);
    let stop = false;
    let calls = 0;
    // Two overlapping 1-thread streams: without the pending flag one of them always holds a permit.
    const stream = async () => {
      while (!stop && calls < 2000) await other.run(1, async () => void (calls++, await sleep(1)));
    };
    const streams = [stream(), stream()];
    await sleep(10);
    const started = Date.now();
    await expect(sut.exclusive(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const waited = Date.now() - started;
    stop = true;
    await Promise.all(streams);
    expect(waited).toBeLessThan(1000);
    expect(sut.available).toBe(2);
  });

  it('reclaims what a thread held when it died inside a call (its ledger), and nothing twice', async () => {
    const sut = InferenceThreadBudget.create(3);
    const ledger = InferenceThreadBudget.createLedger();
    const worker = InferenceThreadBudget.attach(sut.shared, ledger);
    await worker.acquire(2);
    await worker.acquire(1);
    worker.release(1);
    expect(sut.available).toBe(1);
    // The thread is gone without releasing its 2: the owner returns them from the ledger.
    expect(sut.reclaim(ledger)).toBe(2);
    expect(sut.available).toBe(3);
    expect(sut.reclaim(ledger)).toBe(0);
    expect(sut.available).toBe(3);
  });

  it('gates withInferenceThreads only when a budget is installed in this thread', async () => {
    expect(currentInferenceThreadBudget()).toBeNull();
    await expect(withInferenceThreads(4, () => Promise.resolve('ungated'))).resolves.toBe('ungated');
    const sut = InferenceThreadBudget.create(4);
    installInferenceThreadBudget(sut);
    let seen = -1;
    await withInferenceThreads(3, () => {
      seen = sut.available;
      return Promise.resolve();
    });
    expect(seen).toBe(1);
    expect(sut.available).toBe(4);
  });

  it('sizes a default budget as the larger of intra-op threads and cores', () => {
    expect(inferenceThreadBudgetSize(5, 2)).toBe(5);
    expect(inferenceThreadBudgetSize(0, 4096)).toBe(4096);
    expect(inferenceThreadBudgetSize(0, 0)).toBeGreaterThanOrEqual(1);
  });
});
