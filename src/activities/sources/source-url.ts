// Where a users source lives: a local file (a plain path or file://), an object in an S3 bucket
// (s3://bucket/key) or a document on a web server (https://). Pure parsing, no I/O and no SDK, so
// the CLI can reject a bad location before it starts a run. Credentials never sit in the location
// (they would travel in workflow history): S3 uses the standard AWS credential chain, https an
// auth header taken from an environment variable of the worker.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type SourceLocation =
  | { kind: 'file'; file: string; display: string }
  | { kind: 's3'; bucket: string; key: string; display: string }
  | { kind: 'https'; url: string; display: string };

export const SOURCE_URL_SCHEMES = ['s3:', 'https:', 'http:', 'file:'] as const;

/** Thrown for a location that cannot name a source; the message names it (without credentials) and says why. */
export class SourceLocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceLocationError';
  }
}

/** `scheme:` followed by anything; a Windows drive letter (C:\…) is a path, not a scheme. */
export function looksLikeUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]+:/i.test(location);
}

/** The URL as it may be shown: no user name or password, and no query (a pre-signed URL's signature is a credential). */
export function redactedUrl(location: string): string {
  try {
    const url = new URL(location);
    const query = url.search ? '?…' : '';
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return `${url.toString()}${query}`;
  } catch {
    // Not parseable: show the scheme and host part only, cut before anything that may be a credential.
    return location.replace(/\/\/[^/@]*@/, '//').replace(/\?.*$/, '?…');
  }
}

/** Parses `s3://bucket/key`, `https://…`, `file://…` or a plain path (resolved against the worker's working directory). */
export function parseSourceLocation(location: string): SourceLocation {
  if (!looksLikeUrl(location)) {
    const file = path.resolve(location);
    return { kind: 'file', file, display: file };
  }
  const display = redactedUrl(location);
  let url: URL;
  try {
    url = new URL(location);
  } catch (err) {
    throw new SourceLocationError(`the source URL ${display} is not a valid URL: ${(err as Error).message}`);
  }
  if (!(SOURCE_URL_SCHEMES as readonly string[]).includes(url.protocol)) {
    throw new SourceLocationError(
      `the source URL ${display} has the unsupported scheme "${url.protocol.slice(0, -1)}": use s3://bucket/key, https://…, file://… or a path`,
    );
  }
  if (url.username || url.password) {
    throw new SourceLocationError(
      `the source URL ${display} carries credentials: remove them (they would be stored in workflow history); ` +
        'S3 uses the standard AWS credential chain, https an auth header from the environment variable named by authHeaderEnv',
    );
  }
  if (url.protocol === 'file:') {
    const file = fileURLToPath(url);
    return { kind: 'file', file, display: file };
  }
  if (url.protocol === 's3:') {
    const bucket = url.hostname;
    const key = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!bucket || !key || key.endsWith('/')) {
      throw new SourceLocationError(
        `the source URL ${display} does not name an object: use s3://bucket/path/to/users.csv`,
      );
    }
    if (url.search)
      throw new SourceLocationError(`the source URL ${display} has a query: an s3:// URL is s3://bucket/key only`);
    return { kind: 's3', bucket, key, display: `s3://${bucket}/${key}` };
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new SourceLocationError(
      `the source URL ${display} is plain http: use https:// (http:// is accepted on loopback only)`,
    );
  }
  return { kind: 'https', url: url.toString(), display };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The path part of a location, for telling the format from its extension. */
export function locationPathname(location: SourceLocation): string {
  if (location.kind === 'file') return location.file;
  if (location.kind === 's3') return location.key;
  return new URL(location.url).pathname;
}
