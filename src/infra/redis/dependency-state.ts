/**
 * Log discipline for a dependency that can go away (Redis, for the queue and the shared client).
 * ioredis reports every failed reconnect as an 'error' event, BullMQ re-emits each one on its
 * Queue and Worker: logged one by one, a Redis outage of five minutes printed ~500 stack traces.
 * This tracker turns that stream into one warn line when the dependency goes down, one log line
 * when it comes back, and while it stays down one summary every `summaryEveryMs` saying how many
 * errors were suppressed.
 */
export interface DependencyLogger {
  log(message: string): void;
  warn(message: string): void;
}

export interface DependencyStateOptions {
  /** Shown in every line: "Redis (queue)". */
  name: string;
  logger: DependencyLogger;
  /** While down, one summary line this often (default 60 s). */
  summaryEveryMs?: number;
  now?: () => number;
}

export class DependencyState {
  private up = true;
  private downSince = 0;
  private lastError = '';
  private suppressed = 0;
  private lastSummaryAt = 0;
  private readonly summaryEveryMs: number;
  private readonly now: () => number;

  constructor(private readonly options: DependencyStateOptions) {
    this.summaryEveryMs = options.summaryEveryMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  get available(): boolean {
    return this.up;
  }

  /** The last error message seen while down (for readiness and problem details in logs). */
  get reason(): string {
    return this.lastError;
  }

  /** An error from the client: logs on the up→down change, then only the periodic summary. */
  failed(err: unknown): void {
    const message = (err instanceof Error ? err.message || err.name : String(err)).replace(/^Error: /, '');
    this.lastError = message;
    const now = this.now();
    if (this.up) {
      this.up = false;
      this.downSince = now;
      this.lastSummaryAt = now;
      this.suppressed = 0;
      this.options.logger.warn(`${this.options.name} unreachable: ${message}`);
      return;
    }
    this.suppressed++;
    if (now - this.lastSummaryAt >= this.summaryEveryMs) {
      this.lastSummaryAt = now;
      this.options.logger.warn(
        `${this.options.name} still unreachable after ${Math.round((now - this.downSince) / 1000)} s ` +
          `(${this.suppressed} errors suppressed; last: ${message})`,
      );
      this.suppressed = 0;
    }
  }

  /** The client is ready again: logs the down→up change once. */
  recovered(): void {
    if (this.up) return;
    this.up = true;
    const seconds = Math.round((this.now() - this.downSince) / 1000);
    this.options.logger.log(`${this.options.name} reachable again after ${seconds} s`);
    this.suppressed = 0;
  }
}
