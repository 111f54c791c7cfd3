import { promises as dns } from 'dns';
import { Injectable } from '@nestjs/common';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** DNS lookups for outbound requests (behind a class so tests can replace them). */
@Injectable()
export class DnsResolver {
  async lookupAll(host: string): Promise<ResolvedAddress[]> {
    const result = await dns.lookup(host, { all: true, verbatim: true });
    return result.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
  }
}
