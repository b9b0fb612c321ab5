// Webhook signatures, configurable per tenant, because CXone's scheme for user events is not
// publicly documented. A scheme names its headers (signature, timestamp, delivery id), the signed
// content (a template such as `{timestamp}.{body}`), the signature's prefix and encoding, and the
// accepted clock distance. The MAC is always HMAC-SHA256 with the tenant's shared secret.
// Pure node:crypto and io-ts.
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as t from 'io-ts';
import { decode, formatIssues } from '../core/decode';

export interface SignatureScheme {
  /** Header names, lower case. */
  signatureHeader: string;
  timestampHeader: string;
  /** Optional header carrying the event id; when present it must equal the body's `eventId`. */
  deliveryIdHeader?: string;
  /** Text before the encoded MAC, e.g. `sha256=`; may be empty. */
  prefix: string;
  /** What is signed: `{timestamp}` and `{body}` (the raw body bytes) with literal text around them. */
  content: string;
  encoding: 'hex' | 'base64';
  /** Maximum distance between the timestamp and the receiver's clock, either way. */
  toleranceSeconds: number;
}

export const DEFAULT_TOLERANCE_SECONDS = 300;

export const SIGNATURE_PRESETS = {
  /** The scheme this project assumes for CXone (and the sandbox's default). */
  cxone: {
    signatureHeader: 'x-cxone-signature',
    timestampHeader: 'x-cxone-timestamp',
    deliveryIdHeader: 'x-cxone-event-id',
    prefix: 'sha256=',
    content: '{timestamp}.{body}',
    encoding: 'hex',
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
  },
  nexus: {
    signatureHeader: 'x-nexus-signature-256',
    timestampHeader: 'x-nexus-timestamp',
    deliveryIdHeader: 'x-nexus-delivery-id',
    prefix: 'sha256=',
    content: '{timestamp}.{body}',
    encoding: 'hex',
    toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
  },
} as const satisfies Record<string, SignatureScheme>;
export type SignaturePreset = keyof typeof SIGNATURE_PRESETS;
export const DEFAULT_SCHEME: SignatureScheme = SIGNATURE_PRESETS.cxone;

// The default scheme's header names, for callers that sign or send by hand.
export const SIGNATURE_HEADER = DEFAULT_SCHEME.signatureHeader;
export const TIMESTAMP_HEADER = DEFAULT_SCHEME.timestampHeader;
export const EVENT_ID_HEADER = DEFAULT_SCHEME.deliveryIdHeader as string;

const HeaderName = t.refinement(t.string, (s) => /^[A-Za-z0-9-]{1,100}$/.test(s), 'HTTP header name');
const Template = t.refinement(
  t.string,
  (s) => s.includes('{body}') && s.replace(/\{timestamp\}|\{body\}/g, '').indexOf('{') < 0,
  'template with {body} and optionally {timestamp}',
);
const Tolerance = t.refinement(
  t.number,
  (n) => Number.isInteger(n) && n > 0 && n <= 86_400,
  'whole seconds, 1 to 86400',
);
const SchemeSetting = t.partial({
  preset: t.keyof({ cxone: null, nexus: null }),
  signatureHeader: HeaderName,
  timestampHeader: HeaderName,
  deliveryIdHeader: t.union([HeaderName, t.null]),
  prefix: t.string,
  content: Template,
  encoding: t.keyof({ hex: null, base64: null }),
  toleranceSeconds: Tolerance,
});

/** A tenant's `webhookSignature` setting: a preset name, or a preset (default cxone) with overrides. */
export type SignatureSetting = string | Record<string, unknown>;

/** Resolves a tenant's setting; throws an error naming `where`, the field and the reason. */
export function parseSignatureScheme(
  setting: SignatureSetting | undefined,
  where = 'webhookSignature',
): SignatureScheme {
  if (setting === undefined) return DEFAULT_SCHEME;
  const object = typeof setting === 'string' ? { preset: setting } : setting;
  const decoded = decode(t.exact(SchemeSetting), object);
  if (!decoded.ok)
    throw new Error(
      `${where} is invalid (presets: ${Object.keys(SIGNATURE_PRESETS).join(', ')}):\n${formatIssues(decoded.errors)}`,
    );
  const unknown = Object.keys(object).filter((key) => !(key in SchemeSetting.props));
  if (unknown.length > 0) throw new Error(`${where}: unknown member(s) ${unknown.join(', ')}`);
  const { preset = 'cxone', deliveryIdHeader, ...overrides } = decoded.value;
  const scheme: SignatureScheme = { ...SIGNATURE_PRESETS[preset], ...overrides };
  if (deliveryIdHeader === null) delete scheme.deliveryIdHeader;
  else if (deliveryIdHeader !== undefined) scheme.deliveryIdHeader = deliveryIdHeader;
  for (const key of ['signatureHeader', 'timestampHeader', 'deliveryIdHeader'] as const) {
    if (scheme[key]) scheme[key] = scheme[key]!.toLowerCase();
  }
  return scheme;
}

function mac(scheme: SignatureScheme, secret: string, timestamp: string, rawBody: string | Buffer): Buffer {
  const hmac = createHmac('sha256', secret);
  // Literal parts and the timestamp as UTF-8, the body as its exact bytes.
  for (const part of scheme.content.split(/(\{timestamp\}|\{body\})/)) {
    if (part === '{body}') hmac.update(rawBody);
    else if (part === '{timestamp}') hmac.update(timestamp);
    else if (part !== '') hmac.update(part);
  }
  return hmac.digest();
}

/** The signature header's value for this body and timestamp. */
export function signWithScheme(
  scheme: SignatureScheme,
  secret: string,
  timestamp: number | string,
  rawBody: string | Buffer,
): string {
  return `${scheme.prefix}${mac(scheme, secret, String(timestamp), rawBody).toString(scheme.encoding)}`;
}

/** Every header a delivery signed with this scheme carries. */
export function signedHeaders(
  scheme: SignatureScheme,
  secret: string,
  rawBody: string | Buffer,
  timestamp: number,
  deliveryId?: string,
): Record<string, string> {
  return {
    [scheme.timestampHeader]: String(timestamp),
    [scheme.signatureHeader]: signWithScheme(scheme, secret, timestamp, rawBody),
    ...(deliveryId !== undefined && scheme.deliveryIdHeader ? { [scheme.deliveryIdHeader]: deliveryId } : {}),
  };
}

export type SignatureProblem = 'missing' | 'malformed' | 'stale' | 'mismatch';
export type VerifyResult = { ok: true; secretIndex: number } | { ok: false; reason: SignatureProblem };

const TIMESTAMP_PATTERN = /^\d{1,12}$/;
const ENCODED_MAC = { hex: /^[0-9a-f]{64}$/i, base64: /^[A-Za-z0-9+/]{43}=$/ } as const;

export interface SchemeVerifyInput {
  scheme: SignatureScheme;
  /** The current secret first; during a rotation also the previous one. */
  secrets: readonly string[];
  header(name: string): string | undefined;
  rawBody: string | Buffer;
  /** Epoch ms. */
  now: number;
}

/** Constant-time check against every secret (all are tried, so timing does not tell which matched). */
export function verifyWithScheme({ scheme, secrets, header, rawBody, now }: SchemeVerifyInput): VerifyResult {
  const signature = header(scheme.signatureHeader)?.trim();
  const timestamp = header(scheme.timestampHeader)?.trim();
  if (!signature || !timestamp) return { ok: false, reason: 'missing' };
  const encoded = signature.startsWith(scheme.prefix) ? signature.slice(scheme.prefix.length) : undefined;
  if (encoded === undefined || !ENCODED_MAC[scheme.encoding].test(encoded) || !TIMESTAMP_PATTERN.test(timestamp)) {
    return { ok: false, reason: 'malformed' };
  }
  if (Math.abs(now / 1000 - Number(timestamp)) > scheme.toleranceSeconds) return { ok: false, reason: 'stale' };
  const given = Buffer.from(encoded, scheme.encoding);
  let matched = -1;
  secrets.forEach((secret, index) => {
    // Both are 32 bytes (the pattern fixes the length), as timingSafeEqual requires.
    if (timingSafeEqual(mac(scheme, secret, timestamp, rawBody), given) && matched < 0) matched = index;
  });
  return matched >= 0 ? { ok: true, secretIndex: matched } : { ok: false, reason: 'mismatch' };
}

// The default scheme as plain functions (tests, the load script, checking a receiver by hand).

export interface SignInput {
  secret: string;
  /** Unix time in seconds. */
  timestamp: number | string;
  rawBody: string | Buffer;
}

/** The default scheme's header value `sha256=<hex>`. */
export function signPayload({ secret, timestamp, rawBody }: SignInput): string {
  return signWithScheme(DEFAULT_SCHEME, secret, timestamp, rawBody);
}

export interface VerifyInput {
  secret: string;
  timestamp: number | string | undefined | null;
  rawBody: string | Buffer;
  signature: string | undefined | null;
  toleranceSeconds?: number;
  /** Current time: epoch milliseconds or a Date (default: Date.now()). */
  now?: number | Date;
}

/** Checks a default-scheme signature given as values rather than headers. */
export function verifySignature({
  secret,
  timestamp,
  rawBody,
  signature,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  now = Date.now(),
}: VerifyInput): { ok: true } | { ok: false; reason: SignatureProblem } {
  const scheme = { ...DEFAULT_SCHEME, toleranceSeconds };
  const values: Record<string, string | undefined> = {
    [scheme.signatureHeader]: signature ?? undefined,
    [scheme.timestampHeader]: timestamp == null ? undefined : String(timestamp),
  };
  const result = verifyWithScheme({
    scheme,
    secrets: [secret],
    header: (name) => values[name],
    rawBody,
    now: now instanceof Date ? now.getTime() : now,
  });
  return result.ok ? { ok: true } : result;
}
