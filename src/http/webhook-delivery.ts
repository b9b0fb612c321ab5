// Sends a signed delivery the way CXone does: for the load script, tests, and for checking a
// receiver by hand.
import { DEFAULT_SCHEME, signedHeaders, type SignatureScheme } from './webhook-signature';

export interface SignedDelivery {
  url: string;
  secret: string;
  /** Sent as JSON; or give `rawBody` to send exact bytes. */
  body?: unknown;
  rawBody?: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  /** How to sign (default: the cxone preset). */
  scheme?: SignatureScheme;
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
  const scheme = delivery.scheme ?? DEFAULT_SCHEME;
  const eventId = (delivery.body as { eventId?: unknown } | undefined)?.eventId;
  const signed = signedHeaders(
    scheme,
    delivery.secret,
    rawBody,
    timestamp,
    typeof eventId === 'string' ? eventId : undefined,
  );
  if (delivery.signature === null) delete signed[scheme.signatureHeader];
  else if (delivery.signature !== undefined) signed[scheme.signatureHeader] = delivery.signature;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...signed, ...delivery.headers };
  return sendRaw(delivery.url, rawBody, headers, delivery.timeoutMs);
}

/** POSTs exactly these bytes and headers (a replay). */
export async function sendRaw(
  url: string,
  rawBody: string,
  headers: Record<string, string>,
  timeoutMs = 30_000,
): Promise<DeliveryAnswer> {
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
