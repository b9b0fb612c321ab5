// Fetches the bytes of a users source wherever it lives (see source-url.ts), with a version
// (S3 version id or ETag, an HTTP ETag, a file's size and mtime) so a worker that already parsed
// the source can skip the download when nothing changed. Every way it can fail becomes one
// non-retryable ApplicationFailure naming the source without credentials, except an endpoint
// that does not answer, which is retried like any network fault.
import fs from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { S3Client } from '@aws-sdk/client-s3';
import { FailureType } from '../scim/failures';
import { parseSourceLocation, SourceLocationError, type SourceLocation } from './source-url';

export interface SourceRef {
  /** s3://bucket/key, https://…, file://… or a path. */
  location: string;
  /** https only: the environment variable (on the worker) holding the header to send, `Name: value` or a bare Authorization value. */
  authHeaderEnv?: string;
}

export type FetchResult = { unchanged: true } | { unchanged: false; content: Buffer; version: string };

/** A location the store can read, or the one clear error for it. */
export function resolveLocation(location: string): SourceLocation {
  try {
    return parseSourceLocation(location);
  } catch (err) {
    if (err instanceof SourceLocationError) throw ApplicationFailure.nonRetryable(err.message, FailureType.InvalidSourceUrl);
    throw err;
  }
}

/** Reads the source unless its version is still `knownVersion`. */
export async function fetchSource(ref: SourceRef, knownVersion?: string): Promise<FetchResult> {
  const location = resolveLocation(ref.location);
  if (location.kind === 'file') return fetchFile(location, knownVersion);
  if (location.kind === 's3') return fetchS3(location, knownVersion);
  return fetchHttps(location, ref.authHeaderEnv, knownVersion);
}

async function fetchFile(location: Extract<SourceLocation, { kind: 'file' }>, knownVersion?: string): Promise<FetchResult> {
  try {
    const stat = await fs.stat(location.file);
    const version = `${stat.size}:${stat.mtimeMs}`;
    if (version === knownVersion) return { unchanged: true };
    return { unchanged: false, content: await fs.readFile(location.file), version };
  } catch (err) {
    // A local file keeps its one type, whatever the reason (missing, permissions): the message says which.
    throw ApplicationFailure.nonRetryable(`cannot read the source file ${location.display}: ${(err as Error).message}`, FailureType.SourceUnreadable);
  }
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

async function fetchS3(location: Extract<SourceLocation, { kind: 's3' }>, knownVersion?: string): Promise<FetchResult> {
  const { GetObjectCommand, HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const client = await s3Client();
  const object = { Bucket: location.bucket, Key: location.key };
  try {
    if (knownVersion !== undefined) {
      const head = await client.send(new HeadObjectCommand(object));
      if (s3Version(head) === knownVersion) return { unchanged: true };
    }
    const got = await client.send(new GetObjectCommand(object));
    if (!got.Body) throw new Error('the answer has no body');
    const content = Buffer.from(await got.Body.transformToByteArray());
    return { unchanged: false, content, version: s3Version(got) };
  } catch (err) {
    throw s3Failure(location.display, err);
  }
}

function s3Version(answer: { VersionId?: string; ETag?: string; ContentLength?: number; LastModified?: Date }): string {
  return answer.VersionId ? `version ${answer.VersionId}` : answer.ETag ? `etag ${answer.ETag}` : `${answer.ContentLength}:${answer.LastModified?.getTime()}`;
}

const S3_NOT_FOUND = ['NoSuchKey', 'NoSuchBucket', 'NotFound'];
// XAdminUserNotFound: what S3-compatible gateways (versitygw) answer, with a 404, where AWS says InvalidAccessKeyId.
const S3_DENIED = ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden', 'CredentialsProviderError', 'ExpiredToken', 'XAdminUserNotFound'];

/** The one clear failure for an S3 error on `display`; `what` names the object in the message. */
export function s3Failure(display: string, err: unknown, what = `the source object ${display}`): ApplicationFailure {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode;
  const why = `${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
  const denied = S3_DENIED.includes(e.name ?? '') || status === 401 || status === 403;
  if (!denied && (S3_NOT_FOUND.includes(e.name ?? '') || status === 404)) {
    return ApplicationFailure.nonRetryable(`${what} does not exist (or its bucket does not): ${why}`, FailureType.SourceNotFound);
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

function authHeader(display: string, envName: string | undefined, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
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

async function fetchHttps(location: Extract<SourceLocation, { kind: 'https' }>, authHeaderEnv: string | undefined, knownVersion?: string): Promise<FetchResult> {
  const headers = authHeader(location.display, authHeaderEnv);
  if (knownVersion?.startsWith('etag ')) headers['If-None-Match'] = knownVersion.slice('etag '.length);
  let response: Response;
  try {
    // No redirects: a redirect could carry the auth header to another origin.
    response = await fetch(location.url, { headers, redirect: 'manual', signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw ApplicationFailure.retryable(
      `the server of the source ${location.display} is unreachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      FailureType.SourceUnreachable,
    );
  }
  if (response.status === 304) return { unchanged: true };
  const why = `HTTP ${response.status} ${response.statusText}`.trim();
  if (response.status === 404 || response.status === 410) {
    throw ApplicationFailure.nonRetryable(`the source ${location.display} does not exist: ${why}`, FailureType.SourceNotFound);
  }
  if (response.status === 401 || response.status === 403) {
    const hint = authHeaderEnv ? `check the header in ${authHeaderEnv}` : 'give authHeaderEnv, the environment variable holding the auth header';
    throw ApplicationFailure.nonRetryable(`the server refused the source ${location.display}: ${why}; ${hint}`, FailureType.SourceAccessDenied);
  }
  if (response.status >= 500) {
    throw ApplicationFailure.retryable(`the server of the source ${location.display} failed: ${why}`, FailureType.SourceUnreachable);
  }
  if (response.status !== 200) {
    throw ApplicationFailure.nonRetryable(`cannot read the source ${location.display}: ${why} (redirects are not followed)`, FailureType.SourceUnreadable);
  }
  const content = Buffer.from(await response.arrayBuffer());
  const etag = response.headers.get('etag');
  const modified = response.headers.get('last-modified');
  return { unchanged: false, content, version: etag ? `etag ${etag}` : modified ? `modified ${modified}` : 'unversioned' };
}
