// Sends a signed delivery the way CXone does: the configuration notification, the load script,
// tests, and checking a receiver by hand.
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signPayload, TIMESTAMP_HEADER } from './webhook-signature';

export interface SignedDelivery {
  url: string;
  secret: string;
  /** Sent as JSON; or give `rawBody` to send exact bytes. */
  body?: unknown;
  rawBody?: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  /** Replaces the computed signature (forgery tests); null leaves the header out. */
  signature?: string | null;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface DeliveryAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
  headers: Headers;
  /** Round trip, ms. */
  latencyMs: number;
  /** The request as sent, to replay it byte for byte. */
  sent: { rawBody: string; headers: Record<string, string> };
}

export async function sendSignedDelivery(delivery: SignedDelivery): Promise<DeliveryAnswer> {
  const rawBody = delivery.rawBody ?? JSON.stringify(delivery.body);
  const timestamp = delivery.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = delivery.signature === undefined ? signPayload({ secret: delivery.secret, timestamp, rawBody }) : delivery.signature;
  const eventId = (delivery.body as { eventId?: unknown } | undefined)?.eventId;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER]: String(timestamp),
    ...(signature !== null ? { [SIGNATURE_HEADER]: signature } : {}),
    ...(typeof eventId === 'string' ? { [EVENT_ID_HEADER]: eventId } : {}),
    ...delivery.headers,
  };
  return sendRaw(delivery.url, rawBody, headers, delivery.timeoutMs);
}

/** POSTs exactly these bytes and headers (a replay). */
export async function sendRaw(url: string, rawBody: string, headers: Record<string, string>, timeoutMs = 30_000): Promise<DeliveryAnswer> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers, body: rawBody, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  const latencyMs = performance.now() - started;
  let body: Record<string, unknown> | undefined;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    body = { text };
  }
  return { status: response.status, body, headers: response.headers, latencyMs, sent: { rawBody, headers } };
}
