/**
 * Address classification for outbound requests to client-supplied URLs (callbacks): anything that is
 * not a public unicast address is "private" and refused unless configuration allows it.
 *
 * ipaddr.js (a maintained table of the IANA special-purpose registries) names the ranges; `unicast`
 * is what is left. What it cannot decide is an IPv6 address that carries an IPv4 address, which a
 * host or a relay on the way turns back into an IPv4 destination: those are judged by the IPv4
 * address inside (all of them must be public):
 *   - IPv4-mapped `::ffff:a.b.c.d` and SIIT `::ffff:0:a.b.c.d` (RFC 6145)
 *   - NAT64 well-known prefix `64:ff9b::a.b.c.d` (RFC 6052); the local-use `64:ff9b:1::/48` is private
 *   - 6to4 `2002:AABB:CCDD::/48` (RFC 3056)
 *   - Teredo `2001:0:SSSS:SSSS:flags:port:CCCC:CCCC` (RFC 4380): server IPv4 in clear, the client's
 *     public IPv4 XOR 0xffffffff
 *   - IPv4-compatible `::a.b.c.d` (deprecated, RFC 4291)
 */
import { isIP } from 'net';
import ipaddr, { type IPv4, type IPv6 } from 'ipaddr.js';

/** IANA IPv6 special-purpose blocks that ipaddr.js 2.5 does not name yet. */
const EXTRA_V6_SPECIAL: ReadonlyArray<[IPv6, number]> = [
  ipaddr.IPv6.parseCIDR('100:0:0:1::/64'), // dummy IPv6 prefix (RFC 9780)
];

const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/** True for loopback, private, link-local, CGNAT, multicast, reserved and unparseable addresses. */
export function isNonPublicAddress(ip: string): boolean {
  const bare = ip.split('%')[0]; // a zone id (fe80::1%eth0) only names an interface
  // net.isIP accepts the canonical forms only; ipaddr.js alone would also take '0x7f.1' and the like.
  if (!isIP(bare)) return true;
  const addr = ipaddr.parse(bare);
  return addr.kind() === 'ipv4' ? !isPublicV4(addr as IPv4) : !isPublicV6(addr as IPv6);
}

function isPublicV4(a: IPv4): boolean {
  return a.range() === 'unicast';
}

function isPublicV6(a: IPv6): boolean {
  const inner = embeddedIPv4(a);
  if (inner !== undefined) return inner.length > 0 && inner.every(isPublicV4);
  if (EXTRA_V6_SPECIAL.some((cidr) => a.match(cidr))) return false;
  return a.range() === 'unicast';
}

/**
 * The IPv4 addresses an IPv6 address stands for, when it is one of the forms that wrap IPv4
 * (undefined otherwise). An empty list: a wrapping form without a usable IPv4 address.
 */
function embeddedIPv4(a: IPv6): IPv4[] | undefined {
  const p = a.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  switch (a.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
      return [v4(p[6], p[7])];
    case 'rfc6052':
      return a.match(NAT64_WELL_KNOWN) ? [v4(p[6], p[7])] : [];
    case '6to4':
      return [v4(p[1], p[2])];
    case 'teredo':
      return [v4(p[2], p[3]), v4(p[6] ^ 0xffff, p[7] ^ 0xffff)];
    case 'unspecified':
    case 'loopback':
      return undefined;
    default:
      // IPv4-compatible: the first 96 bits zero (:: and ::1 are named above).
      return p.slice(0, 6).every((x) => x === 0) ? [v4(p[6], p[7])] : undefined;
  }
}
