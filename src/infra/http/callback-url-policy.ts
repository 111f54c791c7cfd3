import { isIP } from 'net';
import { Injectable } from '@nestjs/common';
import { ErrorCodes, ValidationError } from '../../core/errors';
import { AppConfig } from '../config/app-config';
import { DnsResolver, type ResolvedAddress } from './dns-resolver';
import { isNonPublicAddress } from './ip-ranges';

export interface CheckedCallbackUrl {
  url: URL;
  /** The address to connect to: validated once, then pinned (no second DNS answer can differ). */
  target: ResolvedAddress;
}

/**
 * Decides whether the server may POST to a client-supplied URL: http(s) only, no credentials in the
 * URL, and every address the host resolves to must be public unless `callbacks.allow_private`.
 * Checked when a job is created (to fail fast) and again before each delivery (DNS may change).
 */
@Injectable()
export class CallbackUrlPolicy {
  constructor(
    private readonly config: AppConfig,
    private readonly dns: DnsResolver,
  ) {}

  /** Syntax and configuration checks that need no network. */
  assertAcceptable(raw: string): URL {
    if (!this.config.callbacks.secret) {
      throw reject(
        'Callbacks are disabled: the server has no callbacks.secret (SPLEETER_CALLBACK_SECRET) to sign them',
      );
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw reject('callbackUrl is not a valid absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw reject('callbackUrl must use http or https');
    if (url.username || url.password) throw reject('callbackUrl must not contain credentials');
    if (raw.length > 2048) throw reject('callbackUrl is longer than 2048 characters');
    return url;
  }

  async check(raw: string): Promise<CheckedCallbackUrl> {
    const url = this.assertAcceptable(raw);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: ResolvedAddress[];
    if (isIP(host)) {
      addresses = [{ address: host, family: isIP(host) === 6 ? 6 : 4 }];
    } else {
      try {
        addresses = await this.dns.lookupAll(host);
      } catch {
        throw reject(`callbackUrl host '${host}' does not resolve`);
      }
    }
    if (addresses.length === 0) throw reject(`callbackUrl host '${host}' does not resolve`);
    if (!this.config.callbacks.allow_private) {
      const bad = addresses.find((a) => isNonPublicAddress(a.address));
      if (bad) {
        throw reject(
          'callbackUrl resolves to a loopback, private or link-local address; set callbacks.allow_private to allow it',
        );
      }
    }
    return { url, target: addresses[0] };
  }
}

function reject(message: string): ValidationError {
  return new ValidationError(ErrorCodes.CALLBACK_URL_REJECTED, message, { field: 'callbackUrl' });
}
