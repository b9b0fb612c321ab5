// Claim checks: what one activity of a run leaves for later activities (a chunk's normalized users,
// a sync plan) is written as an immutable object, and only its reference — location, SHA-256 and
// size — travels through workflow history. Any worker that can read the store can pick up any
// activity of the run, so a fleet on several hosts shares no local files.
//
// The store is CXONE_SCIM_CLAIM_STORE (s3://bucket/prefix or a directory); without it, claims of a
// run whose source is an s3:// object go to the same bucket under `cxone-scim-claims/`, and
// anything else to CXONE_SCIM_DATA_DIR (else the temp folder) — one host, as for a local file.
// Objects are named by their SHA-256, so writing one again (a retried activity) changes nothing.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { ClaimRef } from '../../core/claim-ref';
import { FailureType } from '../../core/failures';
import { parseUntrustedJson } from '../../core/json';
import { resolveLocation, s3Client, s3Failure } from '../sources/source-store';

export type { ClaimRef };

export type ClaimKind = 'chunks' | 'plans';

/** The store's base location for a run whose source is at `sourceLocation` (if any). */
export function claimStoreFor(sourceLocation?: string, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.CXONE_SCIM_CLAIM_STORE?.trim();
  if (configured) return configured;
  const bucket = sourceLocation && /^s3:\/\/([^/]+)\//i.exec(sourceLocation)?.[1];
  if (bucket) return `s3://${bucket}/cxone-scim-claims`;
  return env.CXONE_SCIM_DATA_DIR || path.join(os.tmpdir(), 'cxone-scim');
}

const sha256Of = (content: Buffer) => createHash('sha256').update(content).digest('hex');

function keyWithin(base: string, kind: ClaimKind, name: string): string {
  return `${base.replace(/\/+$/, '')}/${kind}/${name}`;
}

/** Stores `content` under its SHA-256 in the store `base`; returns the reference for history. */
export async function putClaim(
  base: string,
  kind: ClaimKind,
  content: Buffer,
  extension = 'ndjson',
): Promise<ClaimRef> {
  const sha256 = sha256Of(content);
  const name = `${sha256}.${extension}`;
  const store = resolveLocation(keyWithin(base, kind, name));
  if (store.kind === 'https') {
    throw ApplicationFailure.nonRetryable(
      `the claim store ${store.display} must be s3:// or a directory`,
      FailureType.InvalidSourceUrl,
    );
  }
  if (store.kind === 'file') {
    await fs.mkdir(path.dirname(store.file), { recursive: true });
    const partial = `${store.file}.${process.pid}.partial`;
    await fs.writeFile(partial, content);
    await fs.rename(partial, store.file);
    return { location: store.file, sha256, bytes: content.byteLength };
  }
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  try {
    const client = await s3Client();
    await client.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: store.key,
        Body: content,
        ContentType: 'application/x-ndjson',
      }),
    );
  } catch (err) {
    throw s3Failure(store.display, err, `the claim store ${store.display}`);
  }
  return { location: store.display, sha256, bytes: content.byteLength };
}

/** Reads a stored object back and checks it is the one referenced. */
export async function getClaim(ref: ClaimRef, what: string): Promise<Buffer> {
  const store = resolveLocation(ref.location);
  let content: Buffer;
  if (store.kind === 'file') {
    try {
      content = await fs.readFile(store.file);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(
        `cannot read ${what} at ${store.display} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): it is kept on the worker host that wrote it. ` +
          'Workers on several hosts need CXONE_SCIM_CLAIM_STORE set to an s3:// location they all can read',
        FailureType.PlanUnavailable,
      );
    }
  } else if (store.kind === 's3') {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const client = await s3Client();
      const got = await client.send(new GetObjectCommand({ Bucket: store.bucket, Key: store.key }));
      if (!got.Body) throw new Error('the answer has no body');
      content = Buffer.from(await got.Body.transformToByteArray());
    } catch (err) {
      const failure = s3Failure(store.display, err, `${what} at ${store.display}`);
      // A claim the run wrote and can no longer find is a lost plan, not a missing source.
      throw failure.type === FailureType.SourceNotFound
        ? ApplicationFailure.nonRetryable(failure.message, FailureType.PlanUnavailable)
        : failure;
    }
  } else {
    throw ApplicationFailure.nonRetryable(
      `${what} is at ${store.display}, which is not a claim store`,
      FailureType.PlanUnavailable,
    );
  }
  const sha256 = sha256Of(content);
  if (sha256 !== ref.sha256) {
    throw ApplicationFailure.nonRetryable(
      `${what} at ${store.display} is not the object the run stored (SHA-256 ${sha256.slice(0, 12)}…, expected ${ref.sha256.slice(0, 12)}…)`,
      FailureType.PlanUnavailable,
    );
  }
  return content;
}

/** Parses what a claim holds; the store is shared (a bucket, a directory), so it is read like any outside JSON. */
function claimJson(text: string, ref: ClaimRef, what: string): unknown {
  try {
    return parseUntrustedJson(text);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `${what} at ${ref.location} cannot be used: ${(err as Error).message}`,
      FailureType.PlanUnavailable,
    );
  }
}

/** A claim holding one JSON document, read back and checked by its hash. */
export async function getClaimJson(ref: ClaimRef, what: string): Promise<unknown> {
  return claimJson((await getClaim(ref, what)).toString('utf8'), ref, what);
}

/** A claim holding JSON lines (one value per line), read back and checked by its hash. */
export async function getClaimLines(ref: ClaimRef, what: string): Promise<unknown[]> {
  const text = (await getClaim(ref, what)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => claimJson(line, ref, what));
}
