import { createHash } from 'node:crypto';
import { canonicalJson } from '../scim/canonical';

/** SHA-256 (hex) of a document's canonical JSON: the payload hash in reports and audit lines. */
export function payloadSha256(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
