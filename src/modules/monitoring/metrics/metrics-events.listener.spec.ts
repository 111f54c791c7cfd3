import type { Counter, Histogram } from 'prom-client';
import { MetricsEventsListener } from './metrics-events.listener';

function counter() {
  return { inc: jest.fn() };
}
function histogram() {
  return { observe: jest.fn() };
}

describe(MetricsEventsListener.name, () => {
  it('counts a succeeded run’s model calls, shared ones (cross-job batching) apart', () => {
    const calls = counter();
    const sut = new MetricsEventsListener(
      counter() as unknown as Counter<string>,
      histogram() as unknown as Histogram<string>,
      histogram() as unknown as Histogram<string>,
      counter() as unknown as Counter<string>,
      calls as unknown as Counter<string>,
      histogram() as unknown as Histogram<string>,
      counter() as unknown as Counter<string>,
      counter() as unknown as Counter<string>,
      counter() as unknown as Counter<string>,
    );
    sut.onSucceeded({
      jobId: 'j',
      model: 'm',
      executionProvider: 'cuda',
      modelCalls: 7,
      sharedModelCalls: 5,
    } as never);
    expect(calls.inc.mock.calls).toEqual([
      [{ model: 'm', shared: 'true' }, 5],
      [{ model: 'm', shared: 'false' }, 2],
    ]);
    calls.inc.mockClear();
    sut.onSucceeded({ jobId: 'k', model: 'builtin:center', modelCalls: 0, cached: false } as never);
    sut.onSucceeded({ jobId: 'l', model: 'm', modelCalls: 3, cached: true } as never);
    expect(calls.inc).not.toHaveBeenCalled();
  });
});
