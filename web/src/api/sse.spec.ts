import { EventStreamParser, type StreamEvent } from './sse';

describe(EventStreamParser.name, () => {
  const parse = (chunks: string[]) => {
    const events: StreamEvent[] = [];
    const sut = new EventStreamParser((e) => events.push(e));
    for (const c of chunks) sut.push(c);
    sut.end();
    return events;
  };

  it('reads Nest-style events with an id, a type and JSON data', () => {
    const events = parse(['id: 1\nevent: progress\ndata: {"progress":42}\n\n', 'event: ping\ndata: {}\n\n']);
    expect(events).toEqual([
      { type: 'progress', data: '{"progress":42}' },
      { type: 'ping', data: '{}' },
    ]);
  });

  it('joins multi-line data, skips comments and defaults the type to message', () => {
    expect(parse([': keep-alive\n', 'data: a\ndata: b\n\n'])).toEqual([{ type: 'message', data: 'a\nb' }]);
  });

  it('handles events split anywhere, including a CRLF split between chunks', () => {
    const text = 'event: status\r\ndata: {"id":"x"}\r\n\r\nevent: succeeded\r\ndata: {"ok":true}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      expect(parse([text.slice(0, cut), text.slice(cut)])).toEqual([
        { type: 'status', data: '{"id":"x"}' },
        { type: 'succeeded', data: '{"ok":true}' },
      ]);
    }
  });

  it('drops an event whose blank line never came (the stream was cut)', () => {
    expect(parse(['event: progress\ndata: {"progress":1}\n\nevent: progress\ndata: {"pro'])).toEqual([
      { type: 'progress', data: '{"progress":1}' },
    ]);
  });
});
