import { DependencyState } from './dependency-state';

describe(DependencyState.name, () => {
  function build() {
    let now = 0;
    const lines: string[] = [];
    const sut = new DependencyState({
      name: 'Redis',
      logger: { log: (m) => lines.push(`log ${m}`), warn: (m) => lines.push(`warn ${m}`) },
      summaryEveryMs: 60_000,
      now: () => now,
    });
    return { sut, lines, advance: (ms: number) => (now += ms) };
  }

  it('logs one line when going down, a summary a minute while down, one line when back', () => {
    const { sut, lines, advance } = build();
    sut.failed(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    for (let i = 0; i < 100; i++) {
      advance(500); // 50 s of reconnect errors
      sut.failed(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    }
    expect(lines).toEqual(['warn Redis unreachable: connect ECONNREFUSED 127.0.0.1:1']);
    expect(sut.available).toBe(false);
    advance(10_000);
    sut.failed(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      'warn Redis still unreachable after 60 s (101 errors suppressed; last: connect ECONNREFUSED 127.0.0.1:1)',
    );
    advance(5_000);
    sut.recovered();
    sut.recovered();
    expect(lines[2]).toBe('log Redis reachable again after 65 s');
    expect(lines).toHaveLength(3);
    expect(sut.available).toBe(true);
  });
});
