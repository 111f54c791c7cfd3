import { createHmac } from 'crypto';
import { signCallback, verifyCallbackSignature } from './callback-signature';

describe('callback signatures', () => {
  const body = JSON.stringify({ id: 'j1', status: 'succeeded' });
  const now = 1_800_000_000;

  it('signs "<t>.<body>" with HMAC-SHA256 and verifies it', () => {
    const header = signCallback('s3cret', now, body);
    const expected = createHmac('sha256', 's3cret').update(`${now}.${body}`).digest('hex');
    expect(header).toBe(`t=${now},v1=${expected}`);
    expect(verifyCallbackSignature('s3cret', header, body, 300, now + 10)).toBe(true);
  });

  it('rejects a changed body, a wrong secret, a stale timestamp and garbage', () => {
    const header = signCallback('s3cret', now, body);
    expect(verifyCallbackSignature('s3cret', header, body.replace('succeeded', 'failed'), 300, now)).toBe(
      false,
    );
    expect(verifyCallbackSignature('other', header, body, 300, now)).toBe(false);
    expect(verifyCallbackSignature('s3cret', header, body, 300, now + 301)).toBe(false);
    expect(verifyCallbackSignature('s3cret', 't=1,v1=zz', body, 300, 1)).toBe(false);
    expect(verifyCallbackSignature('s3cret', undefined, body)).toBe(false);
  });
});
