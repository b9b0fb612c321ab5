// A tenant's adoption record: written by adoptUsers once every approved link is written, read by
// syncUsers' planner (a tenant never adopted has its orphans held back). It lives in the claim
// store beside the runs' claims, so a fleet on several hosts shares it.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../core/failures';
import { parseUntrustedJson } from '../../core/json';
import type { AdoptionCounts } from '../../scim/adoption';
import { resolveLocation, s3Client, s3Failure } from '../sources/source-store';
import { claimStoreFor } from './claim-store';

/** What adoptUsers records once a tenant's links are approved and written: read by syncUsers. */
export interface AdoptionRecord {
  tenant: string;
  planHash: string;
  linkAttribute: string;
  adoptedAt: string;
  workflowId: string;
  counts: AdoptionCounts;
}

/** Where a tenant's adoption record lives: the claim store's `adoptions/` (CXONE_SCIM_CLAIM_STORE, else the data dir). */
export function adoptionRecordLocation(tenant: string, env: NodeJS.ProcessEnv = process.env): string {
  return `${claimStoreFor(undefined, env).replace(/\/+$/, '')}/adoptions/${encodeURIComponent(tenant)}.json`;
}

/** Records that `record.tenant` was adopted (overwrites an earlier record); returns where. */
export async function recordAdoption(record: AdoptionRecord, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const location = adoptionRecordLocation(record.tenant, env);
  const store = resolveLocation(location);
  const content = `${JSON.stringify(record, null, 1)}\n`;
  if (store.kind === 'file') {
    await fsp.mkdir(path.dirname(store.file), { recursive: true });
    await fsp.writeFile(`${store.file}.${process.pid}.partial`, content);
    await fsp.rename(`${store.file}.${process.pid}.partial`, store.file);
    return store.file;
  }
  if (store.kind !== 's3')
    throw ApplicationFailure.nonRetryable(
      `the claim store ${store.display} must be s3:// or a directory`,
      FailureType.InvalidSourceUrl,
    );
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  try {
    await (await s3Client()).send(
      new PutObjectCommand({ Bucket: store.bucket, Key: store.key, Body: content, ContentType: 'application/json' }),
    );
  } catch (err) {
    throw s3Failure(store.display, err, `the adoption record ${store.display}`);
  }
  return store.display;
}

/**
 * The tenant's adoption record, or undefined when it has none (never adopted, or the record was
 * lost: then a first sync holds orphans back, the safe side). For syncUsers' planner.
 */
export async function readAdoption(
  tenant: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AdoptionRecord | undefined> {
  const location = adoptionRecordLocation(tenant, env);
  const store = resolveLocation(location);
  let text: string;
  if (store.kind === 'file') {
    try {
      text = await fsp.readFile(store.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  } else if (store.kind === 's3') {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const got = await (await s3Client()).send(new GetObjectCommand({ Bucket: store.bucket, Key: store.key }));
      text = (await got.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      const failure = s3Failure(store.display, err, `the adoption record ${store.display}`);
      if (failure.type === FailureType.SourceNotFound) return undefined;
      throw failure;
    }
  } else return undefined;
  const record = parseUntrustedJson(text) as Partial<AdoptionRecord>;
  return record?.tenant === tenant && typeof record.planHash === 'string' ? (record as AdoptionRecord) : undefined;
}
