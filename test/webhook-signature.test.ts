// The product's webhook signature scheme (src/http/webhook-signature.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signPayload, verifySignature } from '../src/http/webhook-signature';

describe('webhook signatures', () => {
  const secret = 's3cret';
  const rawBody = '{"eventId":"e1"}';
  const now = 1_700_000_000_000;
  const timestamp = now / 1000;
  const signature = signPayload({ secret, timestamp, rawBody });

  it('signs HMAC-SHA256 over "timestamp.rawBody" as sha256=<hex>', async () => {
    const { createHmac } = await import('node:crypto');
    assert.equal(signature, `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`);
    assert.equal(signPayload({ secret, timestamp: String(timestamp), rawBody: Buffer.from(rawBody) }), signature);
  });

  it('accepts a good signature and names why a bad one is refused', () => {
    const check = (over: Partial<Parameters<typeof verifySignature>[0]>) =>
      verifySignature({ secret, timestamp, rawBody, signature, now, ...over });
    assert.deepEqual(check({}), { ok: true });
    assert.deepEqual(check({ now: new Date(now + 299_000) }), { ok: true });
    assert.deepEqual(check({ signature: signature.toUpperCase().replace('SHA256', 'sha256') }), { ok: true });
    assert.deepEqual(check({ signature: undefined }), { ok: false, reason: 'missing' });
    assert.deepEqual(check({ timestamp: '' }), { ok: false, reason: 'missing' });
    assert.deepEqual(check({ signature: 'md5=abc' }), { ok: false, reason: 'malformed' });
    assert.deepEqual(check({ signature: signature.slice(0, -2) }), { ok: false, reason: 'malformed' });
    assert.deepEqual(check({ timestamp: '17e8' }), { ok: false, reason: 'malformed' });
    assert.deepEqual(check({ now: now + 301_000 }), { ok: false, reason: 'stale' });
    assert.deepEqual(check({ now: now - 301_000 }), { ok: false, reason: 'stale' });
    assert.deepEqual(check({ now: now + 3_000, toleranceSeconds: 2 }), { ok: false, reason: 'stale' });
    assert.deepEqual(check({ rawBody: '{"eventId":"e2"}' }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(check({ secret: 'other' }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(check({ timestamp: timestamp + 1 }), { ok: false, reason: 'mismatch' });
  });
});
