// CXone webhook signatures: HMAC-SHA256(secret, `${timestamp}.${rawBody}`), sent as
// `X-CXone-Signature: sha256=<hex>` next to `X-CXone-Timestamp: <unix seconds>`.
// Pure node:crypto: the sender signs with it, the receiver verifies with it.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-cxone-signature';
export const TIMESTAMP_HEADER = 'x-cxone-timestamp';
export const EVENT_ID_HEADER = 'x-cxone-event-id';

const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/i;
const TIMESTAMP_PATTERN = /^\d{1,12}$/;

export interface SignInput {
  secret: string;
  /** Unix time in seconds. */
  timestamp: number | string;
  rawBody: string | Buffer;
}

/** Returns the header value `sha256=<hex>`. */
export function signPayload({ secret, timestamp, rawBody }: SignInput): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(rawBody);
  return `sha256=${mac.digest('hex')}`;
}

export interface VerifyInput {
  secret: string;
  timestamp: number | string | undefined | null;
  rawBody: string | Buffer;
  signature: string | undefined | null;
  /** Maximum distance between `timestamp` and `now`, either way. */
  toleranceSeconds?: number;
  /** Current time: epoch milliseconds or a Date (default: Date.now()). */
  now?: number | Date;
}

export type VerifyResult = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

export function verifySignature({
  secret,
  timestamp,
  rawBody,
  signature,
  toleranceSeconds = 300,
  now = Date.now(),
}: VerifyInput): VerifyResult {
  if (signature == null || signature === '' || timestamp == null || timestamp === '') {
    return { ok: false, reason: 'missing' };
  }
  const ts = String(timestamp).trim();
  const match = SIGNATURE_PATTERN.exec(signature.trim());
  if (!match || !TIMESTAMP_PATTERN.test(ts)) return { ok: false, reason: 'malformed' };

  const nowSeconds = (now instanceof Date ? now.getTime() : now) / 1000;
  if (Math.abs(nowSeconds - Number(ts)) > toleranceSeconds) return { ok: false, reason: 'stale' };

  const expected = Buffer.from(signPayload({ secret, timestamp: ts, rawBody }).slice('sha256='.length), 'hex');
  const given = Buffer.from(match[1], 'hex');
  // Both are 32 bytes (the pattern fixes the length), as timingSafeEqual requires.
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
