import { Injectable, Logger, type LoggerService } from '@nestjs/common';

const PREFIX = 'Health Check has failed!';
/** While the same checks keep failing, one reminder this often. */
const REPEAT_EVERY_MS = 60_000;

/**
 * Terminus logs every failed probe (Kubernetes probes every few seconds): during a Redis outage
 * that is one error line per probe. This logger keeps the first failure of each set of failing
 * checks and then one reminder a minute with the number of failures left out.
 */
@Injectable()
export class HealthCheckLogger implements LoggerService {
  private readonly logger = new Logger('Health');
  private lastKey = '';
  private lastAt = 0;
  private suppressed = 0;

  error(message: unknown): void {
    const text = String(message);
    const key = failingChecks(text);
    const now = Date.now();
    if (key === this.lastKey && now - this.lastAt < REPEAT_EVERY_MS) {
      this.suppressed++;
      return;
    }
    const note =
      key === this.lastKey && this.suppressed > 0
        ? ` (${this.suppressed} failed probes since the last line)`
        : '';
    this.lastKey = key;
    this.lastAt = now;
    this.suppressed = 0;
    this.logger.error(`${text}${note}`);
  }

  log(message: unknown): void {
    this.logger.log(String(message));
  }

  warn(message: unknown): void {
    this.logger.warn(String(message));
  }
}

/** "database,redis": the names of the failing checks in terminus' JSON message, else the text. */
function failingChecks(text: string): string {
  if (!text.startsWith(PREFIX)) return text;
  try {
    const details = JSON.parse(text.slice(PREFIX.length)) as Record<string, { status?: string }>;
    return Object.entries(details)
      .filter(([, v]) => v?.status === 'down')
      .map(([k]) => k)
      .sort()
      .join(',');
  } catch {
    return text;
  }
}
