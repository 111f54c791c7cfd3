/**
 * One inference thread budget per process, shared by every thread that runs a model.
 *
 * Why: each separation job runs in its own worker thread with its own onnxruntime sessions, and a
 * session's intra-op pool is sized for the whole machine (intra_op_threads, or one thread per core).
 * Four jobs at once therefore ran 4 × cores inference threads on `cores` cores: the threads evicted
 * each other's caches and (with onnxruntime's spin-waiting) burnt time waiting, so four jobs at once
 * finished later than the same four one after another.
 *
 * What: a counting semaphore of `total` thread permits in a SharedArrayBuffer, so the separation
 * worker threads (and the instrument session threads under them) of one process all draw from it.
 * A model call takes as many permits as its session has intra-op threads and gives them back when
 * it returns; calls beyond the budget wait, so concurrent jobs interleave their model calls instead
 * of oversubscribing the cores, and a job alone still gets the whole budget. The DSP around the
 * network (STFT, masks, decoding, encoding) is not counted: it overlaps with other jobs' inference.
 *
 * Waiting is Atomics.waitAsync (the waiting thread's event loop stays free); release notifies every
 * waiter, which re-checks. Not FIFO: a waiter that needs more permits than are free can be passed
 * by smaller ones, which is harmless here because every session of a process asks for its own,
 * fixed share (so requests are near-uniform). A request above `total` is clamped to `total`.
 */
import { availableParallelism } from 'os';

/** Int32 slots of the shared buffer. */
const AVAILABLE = 0;
const TOTAL = 1;
const IN_USE_PEAK = 2;
/** exclusive() calls pending or running: while above 0, acquire() leaves the permits to them. */
const EXCLUSIVE = 3;
const SLOTS = 4;
/** Atomics.waitAsync (Node ≥ 16); the TypeScript lib this project targets does not declare it yet. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeoutMs: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;
/** Re-check interval of a waiter: a safety net against a lost notification, not the wake-up path. */
const RECHECK_MS = 500;

export class InferenceThreadBudget {
  private readonly cells: Int32Array;
  /** Permits this thread holds, in a buffer its owner can read if the thread dies holding them. */
  private readonly held: Int32Array | null;

  private constructor(
    readonly shared: SharedArrayBuffer,
    ledger?: SharedArrayBuffer,
  ) {
    this.cells = new Int32Array(shared);
    this.held = ledger ? new Int32Array(ledger) : null;
  }

  /** A buffer for attach()'s ledger: what one thread holds, so reclaim() can return it. */
  static createLedger(): SharedArrayBuffer {
    return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  }

  /** A new budget of `total` threads (at least 1). */
  static create(total: number): InferenceThreadBudget {
    const n = Math.max(1, Math.floor(total));
    const budget = new InferenceThreadBudget(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
    Atomics.store(budget.cells, AVAILABLE, n);
    Atomics.store(budget.cells, TOTAL, n);
    return budget;
  }

  /**
   * The budget another thread created (its `shared` buffer, passed through workerData). With a
   * `ledger` (createLedger), this thread's holdings are recorded there, so that the owner can
   * reclaim() them if the thread ends while a call holds permits (a crash, a terminate()).
   */
  static attach(shared: SharedArrayBuffer, ledger?: SharedArrayBuffer): InferenceThreadBudget {
    if (!(shared instanceof SharedArrayBuffer) || shared.byteLength < SLOTS * Int32Array.BYTES_PER_ELEMENT)
      throw new TypeError('not an inference thread budget buffer');
    return new InferenceThreadBudget(shared, ledger);
  }

  /** Returns what a dead thread held according to its ledger; how many permits that was. */
  reclaim(ledger: SharedArrayBuffer): number {
    const taken = Atomics.exchange(new Int32Array(ledger), 0, 0);
    if (taken > 0) this.release(taken);
    return Math.max(0, taken);
  }

  get total(): number {
    return Atomics.load(this.cells, TOTAL);
  }

  get available(): number {
    return Atomics.load(this.cells, AVAILABLE);
  }

  /** Most permits held at once since creation (what the tests and the benchmark check). */
  get peakInUse(): number {
    return Atomics.load(this.cells, IN_USE_PEAK);
  }

  /** Takes `threads` permits (clamped to 1…total), waiting without blocking this thread's event loop. */
  acquire(threads: number): Promise<number> {
    return this.take(this.clamp(threads), false);
  }

  /**
   * Runs `fn` holding every permit: no model call of any thread sharing this budget runs meanwhile,
   * and none starts (acquire() waits while an exclusive call is pending, so a stream of small calls
   * cannot starve it). What it is for: a thread ended by terminate() while onnxruntime-node runs a
   * call in it takes the whole process down when the call returns (the binding throws a C++
   * exception into a JS environment that is gone: std::terminate, SIGABRT), and terminate() cannot
   * interrupt native code anyway. Every model call and session creation holds permits, so a thread
   * terminated inside `fn` is in none of them.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    Atomics.add(this.cells, EXCLUSIVE, 1);
    let taken = 0;
    try {
      taken = await this.take(this.total, true);
      return await fn();
    } finally {
      Atomics.sub(this.cells, EXCLUSIVE, 1);
      if (taken > 0) this.release(taken);
      else Atomics.notify(this.cells, AVAILABLE);
    }
  }

  private async take(n: number, exclusive: boolean): Promise<number> {
    for (;;) {
      const free = Atomics.load(this.cells, AVAILABLE);
      const yieldToExclusive = !exclusive && Atomics.load(this.cells, EXCLUSIVE) > 0;
      if (free >= n && !yieldToExclusive) {
        if (Atomics.compareExchange(this.cells, AVAILABLE, free, free - n) === free) {
          if (this.held) Atomics.add(this.held, 0, n);
          // An exclusive hold is not load: the peak stays what model calls used.
          if (!exclusive) this.notePeak(this.total - (free - n));
          return n;
        }
        continue;
      }
      const waited = waitAsync(this.cells, AVAILABLE, free, RECHECK_MS);
      if (!waited.async) continue;
      // A pending waitAsync does not keep a thread's event loop alive: without this timer a worker
      // thread with nothing else to do would exit while it waits.
      let keepAlive: NodeJS.Timeout | undefined;
      await Promise.race([waited.value, new Promise((r) => (keepAlive = setTimeout(r, RECHECK_MS)))]);
      clearTimeout(keepAlive);
    }
  }

  /** Gives back what acquire() returned. */
  release(taken: number): void {
    if (this.held) Atomics.sub(this.held, 0, taken);
    Atomics.add(this.cells, AVAILABLE, taken);
    Atomics.notify(this.cells, AVAILABLE);
  }

  /** Runs `fn` holding `threads` permits. */
  async run<T>(threads: number, fn: () => Promise<T>): Promise<T> {
    const taken = await this.acquire(threads);
    try {
      return await fn();
    } finally {
      this.release(taken);
    }
  }

  private clamp(threads: number): number {
    return Math.min(this.total, Math.max(1, Math.floor(threads) || 1));
  }

  private notePeak(inUse: number): void {
    for (let i = 0; i < 8; i++) {
      const peak = Atomics.load(this.cells, IN_USE_PEAK);
      if (inUse <= peak || Atomics.compareExchange(this.cells, IN_USE_PEAK, peak, inUse) === peak) return;
    }
  }
}

/**
 * Threads a session with `intraOpThreads` uses per call (0/undefined: onnxruntime's default, about
 * one per core).
 */
export function sessionThreads(intraOpThreads: number | undefined): number {
  return intraOpThreads && intraOpThreads > 0 ? intraOpThreads : availableParallelism();
}

/**
 * The budget of a process: `configured` threads, or (0) the larger of the sessions' intra-op
 * threads and the cores, so that a job alone always gets its whole session.
 */
export function inferenceThreadBudgetSize(configured: number, intraOpThreads: number | undefined): number {
  if (configured > 0) return configured;
  return Math.max(availableParallelism(), intraOpThreads ?? 0);
}

// The budget this thread's model calls draw from (each worker thread installs the process's one).
let installed: InferenceThreadBudget | null = null;

/** Makes `budget` the one this thread's model calls use; null: calls are not counted. */
export function installInferenceThreadBudget(budget: InferenceThreadBudget | null): void {
  installed = budget;
}

export function currentInferenceThreadBudget(): InferenceThreadBudget | null {
  return installed;
}

/** Runs a model call under this thread's budget (ungated when none is installed). */
export function withInferenceThreads<T>(threads: number, fn: () => Promise<T>): Promise<T> {
  return installed ? installed.run(threads, fn) : fn();
}
