import { isNonPublicAddress } from './ip-ranges';

/**
 * Every block of the IANA IPv4 Special-Purpose Address Registry (plus multicast, 224.0.0.0/4, from
 * the multicast registry), with addresses at the start, inside and at the end of the block. A
 * callback must never reach any of them, "globally reachable" ones included (anycast services,
 * AS112, AMT): none of them is a webhook receiver.
 */
const IANA_IPV4: Array<[block: string, name: string, addresses: string[]]> = [
  ['0.0.0.0/8', '"This network"', ['0.0.0.0', '0.1.2.3', '0.255.255.255']],
  ['0.0.0.0/32', '"This host on this network"', ['0.0.0.0']],
  ['10.0.0.0/8', 'Private-Use', ['10.0.0.0', '10.1.2.3', '10.255.255.255']],
  ['100.64.0.0/10', 'Shared Address Space', ['100.64.0.0', '100.100.100.100', '100.127.255.255']],
  ['127.0.0.0/8', 'Loopback', ['127.0.0.1', '127.255.0.9', '127.255.255.255']],
  ['169.254.0.0/16', 'Link Local', ['169.254.0.0', '169.254.169.254', '169.254.255.255']],
  ['172.16.0.0/12', 'Private-Use', ['172.16.0.0', '172.20.1.1', '172.31.255.255']],
  ['192.0.0.0/24', 'IETF Protocol Assignments', ['192.0.0.0', '192.0.0.100', '192.0.0.255']],
  ['192.0.0.0/29', 'IPv4 Service Continuity Prefix', ['192.0.0.1', '192.0.0.7']],
  ['192.0.0.8/32', 'IPv4 dummy address', ['192.0.0.8']],
  ['192.0.0.9/32', 'Port Control Protocol Anycast', ['192.0.0.9']],
  ['192.0.0.10/32', 'Traversal Using Relays around NAT Anycast', ['192.0.0.10']],
  ['192.0.0.170/32', 'NAT64/DNS64 Discovery', ['192.0.0.170']],
  ['192.0.0.171/32', 'NAT64/DNS64 Discovery', ['192.0.0.171']],
  ['192.0.2.0/24', 'Documentation (TEST-NET-1)', ['192.0.2.0', '192.0.2.1', '192.0.2.255']],
  ['192.31.196.0/24', 'AS112-v4', ['192.31.196.0', '192.31.196.255']],
  ['192.52.193.0/24', 'AMT', ['192.52.193.0', '192.52.193.255']],
  ['192.88.99.0/24', 'Deprecated (6to4 Relay Anycast)', ['192.88.99.0', '192.88.99.1', '192.88.99.255']],
  ['192.168.0.0/16', 'Private-Use', ['192.168.0.0', '192.168.1.1', '192.168.255.255']],
  ['192.175.48.0/24', 'Direct Delegation AS112 Service', ['192.175.48.0', '192.175.48.255']],
  ['198.18.0.0/15', 'Benchmarking', ['198.18.0.0', '198.19.255.255']],
  ['198.51.100.0/24', 'Documentation (TEST-NET-2)', ['198.51.100.0', '198.51.100.255']],
  ['203.0.113.0/24', 'Documentation (TEST-NET-3)', ['203.0.113.0', '203.0.113.255']],
  ['240.0.0.0/4', 'Reserved', ['240.0.0.0', '250.1.2.3', '255.255.255.254']],
  ['255.255.255.255/32', 'Limited Broadcast', ['255.255.255.255']],
  ['224.0.0.0/4', 'Multicast', ['224.0.0.0', '224.0.0.1', '239.255.255.255']],
];

/** Every block of the IANA IPv6 Special-Purpose Address Registry, plus multicast and site-local. */
const IANA_IPV6: Array<[block: string, name: string, addresses: string[]]> = [
  ['::1/128', 'Loopback Address', ['::1', '0:0:0:0:0:0:0:1']],
  ['::/128', 'Unspecified Address', ['::']],
  [
    '::ffff:0:0/96',
    'IPv4-mapped Address (private IPv4 inside)',
    ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254'],
  ],
  [
    '64:ff9b::/96',
    'IPv4-IPv6 Translat. (private IPv4 inside)',
    ['64:ff9b::7f00:1', '64:ff9b::a00:1', '64:ff9b::192.168.0.1'],
  ],
  [
    '64:ff9b:1::/48',
    'IPv4-IPv6 Translat. (local use)',
    ['64:ff9b:1::', '64:ff9b:1::808:808', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff'],
  ],
  ['100::/64', 'Discard-Only Address Block', ['100::', '100::1', '100::ffff:ffff:ffff:ffff']],
  ['100:0:0:1::/64', 'Dummy IPv6 Prefix', ['100:0:0:1::', '100:0:0:1::1', '100::1:ffff:ffff:ffff:ffff']],
  ['2001::/23', 'IETF Protocol Assignments', ['2001:100::', '2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff']],
  [
    '2001::/32',
    'TEREDO (private IPv4 inside)',
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', '2001:0:a00:1:0:0:f5ff:fffe'],
  ],
  ['2001:1::1/128', 'Port Control Protocol Anycast', ['2001:1::1']],
  ['2001:1::2/128', 'Traversal Using Relays around NAT Anycast', ['2001:1::2']],
  ['2001:1::3/128', 'DNS-SD Service Registration Protocol Anycast', ['2001:1::3']],
  ['2001:2::/48', 'Benchmarking', ['2001:2::', '2001:2:0:ffff::1']],
  ['2001:3::/32', 'AMT', ['2001:3::', '2001:3:ffff::1']],
  ['2001:4:112::/48', 'AS112-v6', ['2001:4:112::', '2001:4:112:ffff::1']],
  ['2001:10::/28', 'Deprecated (previously ORCHID)', ['2001:10::', '2001:1f:ffff::1']],
  ['2001:20::/28', 'ORCHIDv2', ['2001:20::', '2001:2f:ffff::1']],
  ['2001:30::/28', 'Drone Remote ID Protocol Entity Tags', ['2001:30::', '2001:3f:ffff::1']],
  ['2001:db8::/32', 'Documentation', ['2001:db8::', '2001:db8::1', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff']],
  [
    '2002::/16',
    '6to4 (private IPv4 inside)',
    ['2002:7f00:1::', '2002:7f00:0001::1', '2002:a00:1::', '2002:c0a8:101::1', '2002:a9fe:a9fe::'],
  ],
  ['2620:4f:8000::/48', 'Direct Delegation AS112 Service', ['2620:4f:8000::', '2620:4f:8000:ffff::1']],
  ['3fff::/20', 'Documentation', ['3fff::', '3fff:fff:ffff::1']],
  ['5f00::/16', 'Segment Routing (SRv6) SIDs', ['5f00::', '5f00:ffff::1']],
  ['fc00::/7', 'Unique-Local', ['fc00::', 'fd12:3456::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  [
    'fe80::/10',
    'Link-Local Unicast',
    ['fe80::', 'fe80::1', 'fe80::1%eth0', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ],
  ['fec0::/10', 'Site-local (deprecated)', ['fec0::1', 'feff::1']],
  ['ff00::/8', 'Multicast', ['ff02::1', 'ff05::2', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  [
    '::/96',
    'IPv4-compatible (deprecated; private IPv4 inside)',
    ['::127.0.0.1', '::7f00:1', '::10.0.0.1', '::0.0.0.2'],
  ],
];

const rows = (table: typeof IANA_IPV4) =>
  table.flatMap(([block, name, addresses]) => addresses.map((a) => [a, block, name] as const));

describe('isNonPublicAddress', () => {
  it.each(rows(IANA_IPV4))('IPv4 %s (%s, %s) is not public', (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each(rows(IANA_IPV6))('IPv6 %s (%s, %s) is not public', (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each(['not-an-ip', '', '127.1', '0x7f.0.0.1', '2130706433', '::ffff:127.0.0.1:80', '1.2.3.4.5'])(
    '%j (no canonical address) is refused',
    (address) => {
      expect(isNonPublicAddress(address)).toBe(true);
    },
  );

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.32.0.1', // just past 172.16.0.0/12
    '192.169.0.1',
    '100.128.0.1', // just past 100.64.0.0/10
    '198.20.0.1', // just past 198.18.0.0/15
    '223.255.255.255',
    '2606:4700::1111',
    '2001:4860:4860::8888',
    '2001:200::1', // just past 2001::/23
    '2400:cb00::1',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808', // NAT64 of 8.8.8.8
    '2002:808:808::1', // 6to4 of 8.8.8.8
    // Teredo: server 65.54.227.120, client 8.8.8.8 (stored as its complement, f7f7:f7f7)
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
  ])('%s is public', (address) => {
    expect(isNonPublicAddress(address)).toBe(false);
  });

  it('decodes Teredo’s obfuscated client address: the same server with a loopback client is refused', () => {
    // 127.0.0.1 xor 0xffffffff = 80ff:fffe
    expect(isNonPublicAddress('2001:0:4136:e378:8000:63bf:80ff:fffe')).toBe(true);
    // A private Teredo server with a public client is refused too.
    expect(isNonPublicAddress('2001:0:a00:1:8000:63bf:f7f7:f7f7')).toBe(true);
  });
});
