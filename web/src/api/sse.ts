/**
 * Server-sent events over fetch: EventSource cannot send the X-API-KEY header, and the key must
 * never travel in a URL, so the page reads the event stream itself. Parsing follows the
 * WHATWG event-stream rules that matter here: `event:`/`data:` fields, multi-line data, comments,
 * and CR, LF or CRLF line ends split anywhere across chunks.
 */

export interface StreamEvent {
  type: string;
  data: string;
}

export class EventStreamParser {
  private buffer = '';
  private type = '';
  private data: string[] = [];
  private sawCr = false;

  constructor(private readonly onEvent: (event: StreamEvent) => void) {}

  push(chunk: string): void {
    let text = chunk;
    // A CR ending the previous chunk may be the first half of a CRLF.
    if (this.sawCr && text.startsWith('\n')) text = text.slice(1);
    this.sawCr = text.endsWith('\r');
    this.buffer += text;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  /** End of stream: a final event without its blank line is dropped, as the standard says. */
  end(): void {
    this.buffer = '';
    this.type = '';
    this.data = [];
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ type: this.type || 'message', data: this.data.join('\n') });
      this.type = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
  }
}

/** Reads a fetch Response body as an event stream until it ends or `signal` aborts. */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: StreamEvent) => void,
): Promise<void> {
  const parser = new EventStreamParser(onEvent);
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  } finally {
    reader.releaseLock();
  }
}
