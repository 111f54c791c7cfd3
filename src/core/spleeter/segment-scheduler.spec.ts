import { ErrorCodes } from '../errors';
import { SegmentScheduler } from './segment-scheduler';
import { SegmentModel, SPLEETER_T } from './types';

const F = 2;
const BLOCK = SPLEETER_T * F;

/** CSTF input of S segments filled with `v` (channel 1: −v). */
function input(S: number, v: number): Float32Array {
  const x = new Float32Array(2 * S * BLOCK);
  x.fill(v, 0, S * BLOCK);
  x.fill(-v, S * BLOCK);
  return x;
}

interface Call {
  S: number;
  input: Float32Array;
  signal?: AbortSignal;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * A model whose calls end when the test says so. Instrument k returns (k + 1) × input, so a
 * caller given another caller's slice, or the channels swapped, sees the wrong values.
 */
class HeldModel implements SegmentModel {
  readonly instruments = ['a', 'b'];
  readonly F = F;
  readonly executionProvider = 'held';
  readonly calls: Call[] = [];

  run(x: Float32Array, S: number, signal?: AbortSignal): Promise<Float32Array[]> {
    return new Promise((resolve, reject) => {
      this.calls.push({
        S,
        input: x,
        signal,
        reject,
        resolve: () => resolve(this.instruments.map((_, k) => x.map((v) => v * (k + 1)))),
      });
    });
  }

  async dispose(): Promise<void> {}
}

const flush = () => new Promise<void>((r) => setImmediate(r));

function expectOutputsOf(outputs: Float32Array[], x: Float32Array): void {
  expect(outputs).toHaveLength(2);
  outputs.forEach((o, k) => expect(Array.from(o)).toEqual(Array.from(x, (v) => v * (k + 1))));
}

describe(SegmentScheduler.name, () => {
  it('passes a call alone to an idle model through unchanged, on the next turn of the event loop', async () => {
    const model = new HeldModel();
    const sut = new SegmentScheduler(model);
    const x = input(2, 1);
    const signal = new AbortController().signal;
    const p = sut.client().run(x, 2, signal);
    expect(model.calls).toHaveLength(0);
    await flush();
    expect(model.calls).toHaveLength(1);
    expect(model.calls[0].input).toBe(x);
    expect(model.calls[0].signal).toBe(signal);
    model.calls[0].resolve();
    expectOutputsOf(await p, x);
    expect(sut.stats).toEqual({ requests: 1, modelCalls: 1, sharedCalls: 0 });
  });

  it('queues calls while one is in flight and merges them into one call, results split per caller', async () => {
    const model = new HeldModel();
    const sut = new SegmentScheduler(model, { maxBatchSegments: 16 });
    const [a, b, c] = [sut.client(), sut.client(), sut.client()];
    const xa = input(1, 1);
    const xb = input(2, 2);
    const xc = input(1, 3);
    const xd = input(1, 4);
    const pa = a.run(xa, 1);
    await flush();
    const pb = b.run(xb, 2);
    const pc = c.run(xc, 1);
    const pd = a.run(xd, 1);
    expect(model.calls.map((k) => k.S)).toEqual([1]);
    model.calls[0].resolve();
    expectOutputsOf(await pa, xa);
    expect(model.calls.map((k) => k.S)).toEqual([1, 4]);
    // The merged input: b's 2 segments, c's, a's second, per channel.
    const merged = model.calls[1].input;
    expect([0, 1, 2, 3].map((s) => merged[s * BLOCK])).toEqual([2, 2, 3, 4]);
    expect([4, 5, 6, 7].map((s) => merged[s * BLOCK])).toEqual([-2, -2, -3, -4]);
    model.calls[1].resolve();
    expectOutputsOf(await pb, xb);
    expectOutputsOf(await pc, xc);
    expectOutputsOf(await pd, xd);
    expect(sut.stats).toEqual({ requests: 4, modelCalls: 2, sharedCalls: 1 });
    expect([a.calls, a.sharedCalls, b.sharedCalls, c.sharedCalls]).toEqual([2, 1, 1, 1]);
  });

  it('merges the calls that reach an idle model in the same turn of the event loop', async () => {
    const model = new HeldModel();
    const sut = new SegmentScheduler(model);
    const xa = input(1, 1);
    const xb = input(1, 2);
    const pa = sut.client().run(xa, 1);
    const pb = sut.client().run(xb, 1);
    await flush();
    expect(model.calls.map((k) => k.S)).toEqual([2]);
    model.calls[0].resolve();
    expectOutputsOf(await pa, xa);
    expectOutputsOf(await pb, xb);
    expect(sut.stats).toEqual({ requests: 2, modelCalls: 1, sharedCalls: 1 });
  });

  it('never exceeds maxBatchSegments, never splits a request, keeps arrival order', async () => {
    const model = new HeldModel();
    const sut = new SegmentScheduler(model, { maxBatchSegments: 4 });
    const client = sut.client();
    const first = client.run(input(1, 1), 1);
    await flush();
    const rest = [3, 2, 1, 1, 6].map((S, i) => client.run(input(S, i + 2), S));
    for (let i = 0; i < 4; i++) {
      model.calls[i].resolve();
      await flush();
    }
    // 3 | 2+1+1 | 6 (alone: larger than the limit, not split)
    expect(model.calls.map((k) => k.S)).toEqual([1, 3, 4, 6]);
    await Promise.all([first, ...rest]);
    expect(sut.stats.sharedCalls).toBe(0); // one client: nothing shared with another job
  });

  it('removes a caller whose signal aborts while queued; the others are unaffected', async () => {
    const model = new HeldModel();
    const sut = new SegmentScheduler(model);
    const ctl = new AbortController();
    const first = sut.client().run(input(1, 1), 1);
    await flush();
    const gone = sut.client().run(input(1, 2), 1, ctl.signal);
    const kept = sut.client().run(input(1, 3), 1);
    ctl.abort();
    await expect(gone).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED });
    model.calls[0].resolve();
    await first;
    expect(model.calls.map((k) => k.S)).toEqual([1, 1]);
    expect(model.calls[1].input[0]).toBe(3);
    model.calls[1].resolve();
    expectOutputsOf(await kept, input(1, 3));
  });

  it('drops the result of a merged caller that aborted, and delivers the others', async () => {
    const model = new HeldModel();
    const sut = new SegmentScheduler(model);
    const ctl = new AbortController();
    const first = sut.client().run(input(1, 1), 1);
    await flush();
    const dropped = sut.client().run(input(1, 2), 1, ctl.signal);
    const other = sut.client().run(input(1, 3), 1);
    model.calls[0].resolve();
    await first;
    expect(model.calls[1].S).toBe(2);
    expect(model.calls[1].signal).toBeUndefined(); // no one caller's signal aborts a merged call
    ctl.abort();
    model.calls[1].resolve();
    await expect(dropped).rejects.toMatchObject({ code: ErrorCodes.JOB_CANCELED });
    expectOutputsOf(await other, input(1, 3));
  });

  it('rejects every caller of a failed merged call with its error, then goes on', async () => {
    const model = new HeldModel();
    const sut = new SegmentScheduler(model);
    const first = sut.client().run(input(1, 1), 1);
    await flush();
    const b = sut.client().run(input(1, 2), 1);
    const c = sut.client().run(input(1, 3), 1);
    model.calls[0].resolve();
    await first;
    const boom = new Error('device lost');
    model.calls[1].reject(boom);
    await expect(b).rejects.toBe(boom);
    await expect(c).rejects.toBe(boom);
    const later = sut.client().run(input(1, 4), 1);
    await flush();
    model.calls[2].resolve();
    expectOutputsOf(await later, input(1, 4));
  });

  it('with batchWindowMs waits for others before calling an idle model', async () => {
    jest.useFakeTimers();
    try {
      const model = new HeldModel();
      const sut = new SegmentScheduler(model, { batchWindowMs: 5, maxBatchSegments: 3 });
      const a = sut.client().run(input(1, 1), 1);
      const b = sut.client().run(input(1, 2), 1);
      expect(model.calls).toHaveLength(0);
      jest.advanceTimersByTime(5);
      expect(model.calls.map((k) => k.S)).toEqual([2]);
      model.calls[0].resolve();
      await Promise.all([a, b]);
      // A full window's worth of segments goes at once.
      const c = sut.client().run(input(3, 3), 3);
      expect(model.calls.map((k) => k.S)).toEqual([2, 3]);
      model.calls[1].resolve();
      await c;
    } finally {
      jest.useRealTimers();
    }
  });
});
