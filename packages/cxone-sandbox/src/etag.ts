// Weak ETags from a per-resource counter, and the If-Match / If-None-Match checks of RFC 7644 §3.14.
import { ScimHttpError } from './errors';

export const etagOf = (version: number): string => `W/"${version}"`;

const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

function matches(header: string, etag: string): boolean {
  const current = opaque(etag);
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === current);
}

/** Throws 412 when an If-Match header (or a bulk operation's `version`) names another version. */
export function checkIfMatch(header: string | undefined, version: number): void {
  if (header === undefined || header === '') return;
  if (!matches(header, etagOf(version))) {
    throw new ScimHttpError(412, `Precondition failed: the resource is at version ${etagOf(version)}, not ${header}`);
  }
}

/** True when a GET's If-None-Match names the current ETag (→ 304). */
export function notModified(header: string | undefined, etag: string): boolean {
  return header !== undefined && header !== '' && matches(header, etag);
}
