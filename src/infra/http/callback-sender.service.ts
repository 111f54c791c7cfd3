import { randomUUID } from 'crypto';
import * as http from 'http';
import * as https from 'https';
import type { LookupFunction } from 'net';
import { Inject, Injectable, Logger, Optional, type BeforeApplicationShutdown } from '@nestjs/common';
import { SpleeterError } from '../../core/errors';
import { AppConfig } from '../config/app-config';
import { CALLBACK_SIGNATURE_HEADER, signCallback } from './callback-signature';
import { CallbackUrlPolicy, type CheckedCallbackUrl } from './callback-url-policy';

export const CALLBACK_SENDER_OPTIONS = Symbol('CALLBACK_SENDER_OPTIONS');

export interface CallbackSenderOptions {
  /** First retry delay; doubles per attempt (with ±20 % jitter), capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

const DEFAULT_OPTIONS: CallbackSenderOptions = { baseDelayMs: 1000, maxDelayMs: 5 * 60_000 };

export interface CallbackDelivery {
  url: string;
  /** Event name sent in X-Spleeter-Event, e.g. 'separation.succeeded'. */
  event: string;
  body: unknown;
  /** Called after every attempt (to persist the attempt count). */
  onAttempt?: (attempt: number) => Promise<void> | void;
}

export interface CallbackOutcome {
  /** true: a 2xx arrived; false: gave up (permanent refusal or attempts exhausted). */
  delivered: boolean;
  attempts: number;
  lastStatus?: number;
  lastError?: string;
  /** Shutdown interrupted the retries: the delivery should be resumed later. */
  interrupted: boolean;
}

/**
 * POSTs signed JSON to client URLs with retries and exponential backoff. Retries network errors,
 * timeouts, 408, 429 and 5xx; any other status is final. Redirects are not followed (a redirect
 * could point at a private address). Connects to the address the policy validated.
 */
@Injectable()
export class CallbackSender implements BeforeApplicationShutdown {
  private readonly logger = new Logger(CallbackSender.name);
  private readonly stopping = new AbortController();
  private readonly options: CallbackSenderOptions;

  constructor(
    private readonly config: AppConfig,
    private readonly policy: CallbackUrlPolicy,
    @Optional() @Inject(CALLBACK_SENDER_OPTIONS) options?: Partial<CallbackSenderOptions>,
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
  }

  beforeApplicationShutdown(): void {
    this.stopping.abort();
  }

  async deliver(delivery: CallbackDelivery): Promise<CallbackOutcome> {
    const rawBody = JSON.stringify(delivery.body);
    const deliveryId = randomUUID();
    const maxAttempts = this.config.callbacks.max_attempts;
    let lastStatus: number | undefined;
    let lastError: string | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.stopping.signal.aborted)
        return { delivered: false, attempts: attempt - 1, lastStatus, lastError, interrupted: true };
      let retryable = true;
      try {
        const target = await this.policy.check(delivery.url);
        lastStatus = await this.post(target, rawBody, delivery.event, deliveryId, attempt);
        lastError = undefined;
        if (lastStatus >= 200 && lastStatus < 300) {
          await delivery.onAttempt?.(attempt);
          return { delivered: true, attempts: attempt, lastStatus, interrupted: false };
        }
        retryable = lastStatus === 408 || lastStatus === 429 || lastStatus >= 500;
        lastError = `HTTP ${lastStatus}`;
      } catch (err) {
        lastError = (err as Error).message;
        // A URL the policy now refuses (DNS changed to a private address) will not get better.
        retryable = !(err instanceof SpleeterError);
      }
      await delivery.onAttempt?.(attempt);
      this.logger.warn(
        `Callback to ${redact(delivery.url)} attempt ${attempt}/${maxAttempts} failed: ${lastError}`,
      );
      if (!retryable || attempt === maxAttempts) break;
      if (!(await this.sleep(this.delayFor(attempt)))) {
        return { delivered: false, attempts: attempt, lastStatus, lastError, interrupted: true };
      }
    }
    return { delivered: false, attempts: maxAttempts, lastStatus, lastError, interrupted: false };
  }

  private delayFor(attempt: number): number {
    const base = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  /** False when shutdown interrupted the wait. */
  private sleep(ms: number): Promise<boolean> {
    const signal = this.stopping.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private post(
    target: CheckedCallbackUrl,
    rawBody: string,
    event: string,
    deliveryId: string,
    attempt: number,
  ): Promise<number> {
    const { url } = target;
    const timestamp = Math.floor(Date.now() / 1000);
    const pinnedLookup: LookupFunction = (_host, options, cb) => {
      if ((options as { all?: boolean }).all) {
        (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
          { address: target.target.address, family: target.target.family },
        ]);
      } else {
        cb(null, target.target.address, target.target.family);
      }
    };
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<number>((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: 'POST',
          lookup: pinnedLookup,
          timeout: this.config.callbacks.timeout_s * 1000,
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(rawBody),
            'User-Agent': 'spleeter-server-callbacks/1',
            'X-Spleeter-Event': event,
            'X-Spleeter-Delivery': deliveryId,
            'X-Spleeter-Attempt': String(attempt),
            [CALLBACK_SIGNATURE_HEADER]: signCallback(this.config.callbacks.secret ?? '', timestamp, rawBody),
          },
        },
        (res) => {
          // Drain (bounded) so the socket is released; the body is ignored.
          let seen = 0;
          res.on('data', (chunk: Buffer) => {
            seen += chunk.length;
            if (seen > 64 * 1024) res.destroy();
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('close', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.config.callbacks.timeout_s}s`)));
      req.on('error', reject);
      req.end(rawBody);
    });
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
