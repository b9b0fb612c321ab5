// Reads the bytes of a users source wherever it lives (see source-url.ts) as a stream, with the
// store's version of them (S3 version id or ETag, an HTTP ETag, a file's size and mtime): the
// planner hashes and parses while it reads, so no worker holds a whole source in memory. Every way
// it can fail, when opening or while reading, becomes one ApplicationFailure naming the source
// without credentials: non-retryable, except an endpoint that does not answer (or stops answering),
// which is retried like any network fault. A file that changes while it is read is SourceChanged;
// an S3 or https read is one GET, so one version.
import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { ApplicationFailure } from '@temporalio/activity';
import type { S3Client } from '@aws-sdk/client-s3';
import { FailureType } from '../../core/failures';
import { parseSourceLocation, SourceLocationError, type SourceLocation } from './source-url';

export interface SourceRef {
  /** s3://bucket/key, https://…, file://… or a path. */
  location: string;
  /** https only: the environment variable (on the worker) holding the header to send, `Name: value` or a bare Authorization value. */
  authHeaderEnv?: string;
}

/** A source being read. */
export interface SourceStream {
  /** The store's version of the bytes read (S3 version id or ETag, HTTP ETag or Last-Modified, a file's size and mtime). */
  version: string;
  /** The bytes in order; a fault while reading fails like one when opening. */
  body: AsyncIterable<Buffer>;
  /** Once the body is read: fails with SourceChanged if the file changed while it was read. */
  settled(): Promise<void>;
}

/** A location the store can read, or the one clear error for it. */
export function resolveLocation(location: string): SourceLocation {
  try {
    return parseSourceLocation(location);
  } catch (err) {
    if (err instanceof SourceLocationError)
      throw ApplicationFailure.nonRetryable(err.message, FailureType.InvalidSourceUrl);
    throw err;
  }
}

/** Opens the source for one streaming read. */
export async function openSource(ref: SourceRef): Promise<SourceStream> {
  const location = resolveLocation(ref.location);
  if (location.kind === 'file') return openFile(location);
  if (location.kind === 's3') return openS3(location);
  return openHttps(location, ref.authHeaderEnv);
}

/** `body` as Buffers, its faults turned into `failure(err)`. */
async function* readThrough(
  body: AsyncIterable<Uint8Array | string>,
  failure: (err: unknown) => ApplicationFailure,
  counted?: { bytes: number },
): AsyncIterable<Buffer> {
  try {
    for await (const chunk of body) {
      const buffer =
        typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (counted) counted.bytes += buffer.byteLength;
      yield buffer;
    }
  } catch (err) {
    throw err instanceof ApplicationFailure ? err : failure(err);
  }
}

async function openFile(location: Extract<SourceLocation, { kind: 'file' }>): Promise<SourceStream> {
  // A local file keeps its one type, whatever the reason (missing, permissions): the message says which.
  const unreadable = (err: unknown) =>
    ApplicationFailure.nonRetryable(
      `cannot read the source file ${location.display}: ${(err as Error).message}`,
      FailureType.SourceUnreadable,
    );
  let handle: fs.FileHandle | undefined;
  let before: Stats;
  try {
    handle = await fs.open(location.file);
    before = await handle.stat();
    if (before.isDirectory()) throw new Error('it is a directory');
  } catch (err) {
    await handle?.close();
    throw unreadable(err);
  }
  const read = { bytes: 0 };
  return {
    version: `${before.size}:${before.mtimeMs}`,
    body: readThrough(handle.createReadStream(), unreadable, read),
    // Size and mtime after the read, by path (a replaced file is another inode), against the open file's.
    async settled() {
      const after = await fs.stat(location.file).catch(() => undefined);
      if (after && after.size === before.size && after.mtimeMs === before.mtimeMs && read.bytes === before.size) return;
      const now = after ? `${after.size} bytes, modified ${after.mtime.toISOString()}` : 'gone';
      throw ApplicationFailure.nonRetryable(
        `the source file ${location.display} changed while the plan read it (${before.size} bytes, modified ${before.mtime.toISOString()}; now ${now}): ` +
          'leave it alone until planning is done (the run then uses the version it planned) and start a new run',
        FailureType.SourceChanged,
      );
    },
  };
}

/** One client per process: endpoint and path style from the environment, region and credentials from the standard chain. */
let s3: Promise<S3Client> | undefined;

export function s3Client(env: NodeJS.ProcessEnv = process.env): Promise<S3Client> {
  s3 ??= import('@aws-sdk/client-s3').then(({ S3Client }) => {
    const endpoint = env.CXONE_SCIM_S3_ENDPOINT || undefined;
    return new S3Client({
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: /^(1|true|yes)$/i.test(env.CXONE_SCIM_S3_FORCE_PATH_STYLE ?? ''),
      // The SDK insists on a region; an S3-compatible store at a custom endpoint usually ignores it.
      ...(env.AWS_REGION || env.AWS_DEFAULT_REGION ? {} : endpoint ? { region: 'us-east-1' } : {}),
    });
  });
  return s3;
}

/** Forgets the S3 client (its settings are read from the environment once); for tests that change them. */
export function resetSourceStore(): void {
  const previous = s3;
  s3 = undefined;
  void previous?.then((client) => client.destroy());
}

async function openS3(location: Extract<SourceLocation, { kind: 's3' }>): Promise<SourceStream> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const client = await s3Client();
  try {
    // One GET is one version of the object, whatever happens to the key while it is read.
    const got = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    if (!got.Body) throw new Error('the answer has no body');
    const stopped = (err: unknown) =>
      ApplicationFailure.retryable(
        `the object store stopped sending the source object ${location.display}: ${(err as Error).message}`,
        FailureType.SourceUnreachable,
      );
    return {
      version: s3Version(got),
      body: readThrough(got.Body as AsyncIterable<Uint8Array>, stopped),
      settled: async () => undefined,
    };
  } catch (err) {
    throw s3Failure(location.display, err);
  }
}

function s3Version(answer: { VersionId?: string; ETag?: string; ContentLength?: number; LastModified?: Date }): string {
  return answer.VersionId
    ? `version ${answer.VersionId}`
    : answer.ETag
      ? `etag ${answer.ETag}`
      : `${answer.ContentLength}:${answer.LastModified?.getTime()}`;
}

const S3_NOT_FOUND = ['NoSuchKey', 'NoSuchBucket', 'NotFound'];
// XAdminUserNotFound: what S3-compatible gateways (versitygw) answer, with a 404, where AWS says InvalidAccessKeyId.
const S3_DENIED = [
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'Forbidden',
  'CredentialsProviderError',
  'ExpiredToken',
  'XAdminUserNotFound',
];

/** The one clear failure for an S3 error on `display`; `what` names the object in the message. */
export function s3Failure(display: string, err: unknown, what = `the source object ${display}`): ApplicationFailure {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode;
  const why = `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
  const denied = S3_DENIED.includes(e.name ?? '') || status === 401 || status === 403;
  if (!denied && (S3_NOT_FOUND.includes(e.name ?? '') || status === 404)) {
    return ApplicationFailure.nonRetryable(
      `${what} does not exist (or its bucket does not): ${why}`,
      FailureType.SourceNotFound,
    );
  }
  if (denied) {
    return ApplicationFailure.nonRetryable(
      `the worker's credentials may not use ${what}: ${why}. Check the AWS credential chain of the worker`,
      FailureType.SourceAccessDenied,
    );
  }
  if (status === undefined) {
    return ApplicationFailure.retryable(
      `the object store holding ${what} is unreachable: ${why}. Check CXONE_SCIM_S3_ENDPOINT (or the AWS region) and the network`,
      FailureType.SourceUnreachable,
    );
  }
  return ApplicationFailure.nonRetryable(`cannot use ${what}: ${why}`, FailureType.SourceUnreadable);
}

function authHeader(
  display: string,
  envName: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  if (!envName) return {};
  const value = env[envName];
  if (!value) {
    throw ApplicationFailure.nonRetryable(
      `the source ${display} needs the auth header in the environment variable ${envName}, which is not set on this worker`,
      FailureType.SourceAccessDenied,
    );
  }
  const named = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(value);
  return named ? { [named[1]]: named[2] } : { Authorization: value };
}

async function openHttps(
  location: Extract<SourceLocation, { kind: 'https' }>,
  authHeaderEnv: string | undefined,
): Promise<SourceStream> {
  const headers = authHeader(location.display, authHeaderEnv);
  let response: Response;
  try {
    // No redirects: a redirect could carry the auth header to another origin. The timeout covers the body too.
    response = await fetch(location.url, { headers, redirect: 'manual', signal: AbortSignal.timeout(10 * 60_000) });
  } catch (err) {
    throw unreachable(location.display, err);
  }
  const why = `HTTP ${response.status} ${response.statusText}`.trim();
  if (response.status === 404 || response.status === 410) {
    throw ApplicationFailure.nonRetryable(
      `the source ${location.display} does not exist: ${why}`,
      FailureType.SourceNotFound,
    );
  }
  if (response.status === 401 || response.status === 403) {
    const hint = authHeaderEnv
      ? `check the header in ${authHeaderEnv}`
      : 'give authHeaderEnv, the environment variable holding the auth header';
    throw ApplicationFailure.nonRetryable(
      `the server refused the source ${location.display}: ${why}; ${hint}`,
      FailureType.SourceAccessDenied,
    );
  }
  if (response.status >= 500) {
    throw ApplicationFailure.retryable(
      `the server of the source ${location.display} failed: ${why}`,
      FailureType.SourceUnreachable,
    );
  }
  if (response.status !== 200 || !response.body) {
    throw ApplicationFailure.nonRetryable(
      `cannot read the source ${location.display}: ${why} (redirects are not followed)`,
      FailureType.SourceUnreadable,
    );
  }
  const etag = response.headers.get('etag');
  const modified = response.headers.get('last-modified');
  return {
    version: etag ? `etag ${etag}` : modified ? `modified ${modified}` : 'unversioned',
    body: readThrough(Readable.fromWeb(response.body as ReadableStream<Uint8Array>), (err) =>
      unreachable(location.display, err),
    ),
    settled: async () => undefined,
  };
}

function unreachable(display: string, err: unknown): ApplicationFailure {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return ApplicationFailure.retryable(
    `the server of the source ${display} is unreachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
    FailureType.SourceUnreachable,
  );
}
