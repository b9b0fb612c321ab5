// How the sandbox signs webhook deliveries: HMAC-SHA256(secret, `${timestamp}.${rawBody}`), sent
// as `X-CXone-Signature: sha256=<hex>` next to `X-CXone-Timestamp: <unix seconds>`. Written here on
// purpose, not imported from the product: the sandbox is an independent reference the product's
// verifier is tested against.
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-cxone-signature';
export const TIMESTAMP_HEADER = 'x-cxone-timestamp';
export const EVENT_ID_HEADER = 'x-cxone-event-id';

export function signPayload({ secret, timestamp, rawBody }: { secret: string; timestamp: number | string; rawBody: string | Buffer }): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}
