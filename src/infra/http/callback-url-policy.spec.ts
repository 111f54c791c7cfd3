import { AppConfig } from '../config/app-config';
import { configSchema } from '../config/config.schema';
import { CallbackUrlPolicy } from './callback-url-policy';
import type { DnsResolver, ResolvedAddress } from './dns-resolver';

function build(callbacks: Record<string, unknown>, dns: Record<string, ResolvedAddress[]> = {}) {
  const config = new AppConfig(configSchema.parse({ callbacks: { secret: 'x'.repeat(20), ...callbacks } }));
  const resolver = {
    lookupAll: jest.fn(async (host: string) => {
      if (!dns[host]) throw new Error('ENOTFOUND');
      return dns[host];
    }),
  } as unknown as DnsResolver;
  return new CallbackUrlPolicy(config, resolver);
}

describe(CallbackUrlPolicy.name, () => {
  const PUBLIC = { 'hooks.example.com': [{ address: '93.184.216.34', family: 4 as const }] };

  it('accepts a public host and pins the address it resolved to', async () => {
    const sut = build({}, PUBLIC);
    await expect(sut.check('https://hooks.example.com/x?y=1')).resolves.toMatchObject({
      target: { address: '93.184.216.34' },
    });
  });

  it('refuses hosts with any private answer (DNS can return several), literals, and odd schemes', async () => {
    const sut = build(
      {},
      {
        'mixed.example.com': [
          { address: '93.184.216.34', family: 4 },
          { address: '10.0.0.5', family: 4 },
        ],
        'v6.example.com': [{ address: 'fd00::1', family: 6 }],
      },
    );
    for (const url of [
      'http://mixed.example.com/',
      'http://v6.example.com/',
      'http://127.0.0.1/',
      'http://[::1]:8080/',
      'http://169.254.169.254/',
      'http://[2002:7f00:1::]/', // 6to4 wrapping 127.0.0.1
      'http://[::ffff:127.0.0.1]/',
      'http://[64:ff9b::a9fe:a9fe]/', // NAT64 wrapping 169.254.169.254
      'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', // Teredo, client 127.0.0.1
      'http://2130706433/', // 127.0.0.1 as one number: URL normalises it
      'http://0x7f.1/',
      'ftp://hooks.example.com/',
      'http://user:pw@hooks.example.com/',
      'http://nowhere.invalid/',
      'not a url',
    ]) {
      await expect(sut.check(url)).rejects.toMatchObject({ code: 'CALLBACK_URL_REJECTED' });
    }
  });

  it('allows private addresses when callbacks.allow_private is set', async () => {
    await expect(build({ allow_private: true }).check('http://127.0.0.1:9999/hook')).resolves.toMatchObject({
      target: { address: '127.0.0.1' },
    });
  });

  it('refuses every callback when no signing secret is configured', async () => {
    const sut = new CallbackUrlPolicy(new AppConfig(configSchema.parse({})), {
      lookupAll: jest.fn(),
    } as unknown as DnsResolver);
    await expect(sut.check('https://hooks.example.com/')).rejects.toMatchObject({
      code: 'CALLBACK_URL_REJECTED',
    });
  });
});
