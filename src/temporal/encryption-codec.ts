import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
// Standard or URL-safe alphabet, padding optional.
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The environment variables that hold the keys, named in errors. */
export const PAYLOAD_KEY_ENV = 'CXONE_SCIM_PAYLOAD_KEY';
export const OLD_PAYLOAD_KEYS_ENV = 'CXONE_SCIM_PAYLOAD_KEYS_OLD';

/** The id that names a key in payload metadata without revealing it: the first 16 hex digits of its SHA-256. */
export function payloadKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** A base64 key checked to be 32 bytes; `name` says where it came from (never the key itself). */
function decodeKey(keyBase64: string, name: string): Buffer {
  const text = keyBase64.trim();
  const key = Buffer.from(text, 'base64');
  if (!BASE64.test(text) || key.length !== KEY_BYTES)
    throw new Error(`${name} must be base64 of 32 bytes (AES-256), e.g. from \`openssl rand -base64 32\``);
  return key;
}

/** `CXONE_SCIM_PAYLOAD_KEYS_OLD`: keys separated by commas (whitespace around them is ignored). */
export function parseOldPayloadKeys(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
}

/**
 * Encrypts every payload (workflow inputs, results, signals, activity arguments) at rest in
 * Temporal's history with AES-256-GCM, so that personal data in user records is protected.
 * Payloads written by clients without the codec (e.g. `temporal workflow start --input …`) are
 * left as they are on decode, so the Temporal CLI keeps working.
 *
 * Rotation: the current key encrypts; older keys only decrypt, chosen by the key id each payload
 * carries, so histories written before a rotation (and workflows still running) stay readable.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  /** The current key's id: what new payloads carry. */
  readonly keyId: string;
  private readonly key: Buffer;
  /** Every key this codec can decrypt with, current first, by id. */
  private readonly decryptKeys = new Map<string, Buffer>();

  constructor(key: Buffer, oldKeys: readonly Buffer[] = []) {
    if (key.length !== KEY_BYTES) throw new Error(`${PAYLOAD_KEY_ENV} must decode to 32 bytes (AES-256).`);
    this.key = key;
    this.keyId = payloadKeyId(key);
    for (const [index, old] of oldKeys.entries()) {
      if (old.length !== KEY_BYTES)
        throw new Error(`${OLD_PAYLOAD_KEYS_ENV} key ${index + 1} must decode to 32 bytes (AES-256).`);
    }
    for (const k of [key, ...oldKeys]) this.decryptKeys.set(payloadKeyId(k), k);
  }

  /** The current key and the old ones, base64 (the old ones as given in CXONE_SCIM_PAYLOAD_KEYS_OLD). */
  static fromBase64(keyBase64: string, oldKeysBase64: readonly string[] = []): AesGcmPayloadCodec {
    return new AesGcmPayloadCodec(
      decodeKey(keyBase64, PAYLOAD_KEY_ENV),
      oldKeysBase64.map((old, index) => decodeKey(old, `${OLD_PAYLOAD_KEYS_ENV} key ${index + 1}`)),
    );
  }

  /** Ids of the keys kept for decrypting only (safe to log). */
  get oldKeyIds(): string[] {
    return [...this.decryptKeys.keys()].filter((id) => id !== this.keyId);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(CIPHER, this.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: Buffer.from(ENCODING), 'encryption-key-id': Buffer.from(this.keyId) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding && Buffer.from(payload.metadata.encoding).toString();
      if (encoding !== ENCODING) return payload;
      const keyId = Buffer.from(payload.metadata?.['encryption-key-id'] ?? []).toString();
      const key = this.decryptKeys.get(keyId);
      if (!key) {
        const old = this.oldKeyIds;
        throw new Error(
          `payload was encrypted with key id ${keyId}, this process has key id ${this.keyId}` +
            `${old.length ? ` and old key ids ${old.join(', ')}` : ''}: ` +
            `add the key it was written with to ${OLD_PAYLOAD_KEYS_ENV}`,
        );
      }
      const sealed = Buffer.from(payload.data ?? []);
      const iv = sealed.subarray(0, IV_BYTES);
      const tag = sealed.subarray(sealed.length - TAG_BYTES);
      const decipher = createDecipheriv(CIPHER, key, iv);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
