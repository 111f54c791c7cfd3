import { canonicalJson, chainHash, GENESIS_HASH, scrubDetails, type AuditHashedContent } from './audit-hash';

const row: AuditHashedContent = {
  occurredAt: '2030-01-02T03:04:05.678Z',
  requestId: 'r1',
  principalId: 'apikey:0123456789abcdef',
  principalRole: 'user',
  authMethod: 'api-key',
  action: 'separation.create',
  resourceType: 'job',
  resourceId: 'j1',
  outcome: 'success',
  httpStatus: 202,
  clientIp: '127.0.0.1',
  userAgent: 'curl/8',
  durationMs: 12,
  details: '{"a":1}',
};

describe('audit-hash', () => {
  it('serialises canonically: sorted keys at every depth, undefined dropped', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined, x: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"x":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });

  it('changes the hash when any field or the previous hash changes', () => {
    const base = chainHash(GENESIS_HASH, row);
    expect(chainHash(GENESIS_HASH, { ...row })).toBe(base);
    for (const [k, v] of Object.entries({
      ...row,
      httpStatus: 203,
      durationMs: 13,
      details: '{"a":2}',
      outcome: 'failure',
      principalId: null,
    })) {
      if ((row as unknown as Record<string, unknown>)[k] === v) continue;
      expect(chainHash(GENESIS_HASH, { ...row, [k]: v } as AuditHashedContent)).not.toBe(base);
    }
    expect(chainHash('1'.repeat(64), row)).not.toBe(base);
  });

  it('hashes numbers the same whether the driver returns them as numbers or strings', () => {
    const fromPg = { ...row, httpStatus: '202' as unknown as number, durationMs: '12' as unknown as number };
    expect(chainHash(GENESIS_HASH, fromPg)).toBe(chainHash(GENESIS_HASH, row));
  });

  it('redacts credential-looking keys at any depth and bounds sizes', () => {
    const sut = scrubDetails({
      reason: 'ok',
      apiKey: 'spl_x',
      nested: { Authorization: 'Bearer x', password: 'p', keyId: 'k1', list: [{ token: 't' }] },
      long: 'x'.repeat(5000),
    }) as { [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(sut.apiKey).toBe('[redacted]');
    expect(sut.nested.Authorization).toBe('[redacted]');
    expect(sut.nested.password).toBe('[redacted]');
    expect(sut.nested.list[0].token).toBe('[redacted]');
    expect(sut.nested.keyId).toBe('k1');
    expect(sut.reason).toBe('ok');
    expect(sut.long.length).toBeLessThan(2100);
  });
});
