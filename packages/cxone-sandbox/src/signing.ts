// How the sandbox signs webhook deliveries. Written here on purpose, not imported from the product:
// the sandbox is an independent reference the product's verifier is tested against.
//   cxone (default): X-CXone-Signature: sha256=<hex of HMAC-SHA256(secret, `${timestamp}.${rawBody}`)>,
//                    X-CXone-Timestamp: <unix seconds>, X-CXone-Event-Id: <eventId>
//   nexus:           the same MAC as X-Nexus-Signature-256, X-Nexus-Timestamp, X-Nexus-Delivery-Id
// or any custom scheme: header names, prefix, signed-content template, hex or base64.
import { createHmac } from 'node:crypto';

export interface SigningScheme {
  signatureHeader: string;
  timestampHeader: string;
  deliveryIdHeader?: string;
  prefix: string;
  /** Signed content: `{timestamp}` and `{body}` with literal text around them. */
  content: string;
  encoding: 'hex' | 'base64';
}

export const SIGNING_PRESETS: Record<'cxone' | 'nexus', SigningScheme> = {
  cxone: {
    signatureHeader: 'x-cxone-signature',
    timestampHeader: 'x-cxone-timestamp',
    deliveryIdHeader: 'x-cxone-event-id',
    prefix: 'sha256=',
    content: '{timestamp}.{body}',
    encoding: 'hex',
  },
  nexus: {
    signatureHeader: 'x-nexus-signature-256',
    timestampHeader: 'x-nexus-timestamp',
    deliveryIdHeader: 'x-nexus-delivery-id',
    prefix: 'sha256=',
    content: '{timestamp}.{body}',
    encoding: 'hex',
  },
};

export type SigningSetting = keyof typeof SIGNING_PRESETS | SigningScheme;

export const SIGNATURE_HEADER = SIGNING_PRESETS.cxone.signatureHeader;
export const TIMESTAMP_HEADER = SIGNING_PRESETS.cxone.timestampHeader;
export const EVENT_ID_HEADER = SIGNING_PRESETS.cxone.deliveryIdHeader as string;

export function resolveSigningScheme(setting: SigningSetting | undefined): SigningScheme {
  if (setting === undefined) return SIGNING_PRESETS.cxone;
  if (typeof setting === 'string') {
    const preset = SIGNING_PRESETS[setting];
    if (!preset)
      throw new Error(
        `webhook signature: unknown preset ${JSON.stringify(setting)} (known: ${Object.keys(SIGNING_PRESETS).join(', ')})`,
      );
    return preset;
  }
  if (!setting.content.includes('{body}')) throw new Error('webhook signature: content must contain {body}');
  return setting;
}

/** The signature header's value. */
export function signWith(
  scheme: SigningScheme,
  secret: string,
  timestamp: number | string,
  rawBody: string | Buffer,
): string {
  const content = Buffer.concat(
    scheme.content
      .split(/(\{timestamp\}|\{body\})/)
      .map((part) =>
        part === '{body}'
          ? Buffer.from(rawBody)
          : Buffer.from(part === '{timestamp}' ? String(timestamp) : part, 'utf8'),
      ),
  );
  return `${scheme.prefix}${createHmac('sha256', secret).update(content).digest(scheme.encoding)}`;
}

/** The default (cxone) scheme's `sha256=<hex>`. */
export function signPayload({
  secret,
  timestamp,
  rawBody,
}: {
  secret: string;
  timestamp: number | string;
  rawBody: string | Buffer;
}): string {
  return signWith(SIGNING_PRESETS.cxone, secret, timestamp, rawBody);
}
