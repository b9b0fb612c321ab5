// Activities of provisionUsers' Bulk path: submit one Bulk request, poll an asynchronous bulk
// job, and settle per-operation outcomes (a 409 uniqueness is resolved by lookup and
// update-if-different, see existing-user.ts).
import { ApplicationFailure } from '@temporalio/activity';
import type { ScimClient, ScimResponse } from '../http';
import { ScimHttpError } from '../http';
import { bulkPostOperation, bulkRequestBody, type BulkOperationBody, type ChunkDescriptor } from '../scim/bulk-plan';
import { BulkResponse, type BulkOperationResult } from '../scim/codecs';
import { decode, formatIssues } from '../core/decode';
import { FailureType } from '../core/failures';
import { emptyCounts, type RecordCounts } from '../core/tally';
import { createdEntry, type JournalEntry } from '../scim/undo';
import { claimStoreFor, type ClaimRef } from './claims/claim-store';
import { storeJournal, storeOfClaim, type JournalLink } from './claims/journal';
import type { ActivityDeps } from './deps';
import { asActivity, scimClientFor } from './deps';
import { isTransient, resolveExisting } from './provider/existing-user';
import { chunkEntries, heartbeating, type ChunkSource, type Entry, type RecordFailure } from './provisioning';

export interface ChunkInput {
  tenant: string;
  source: ChunkSource;
  chunk: ChunkDescriptor;
  /** The User endpoint from /ResourceTypes, e.g. `/Users`. */
  endpoint: string;
  /** Send `Prefer: respond-async` (the provider may answer asynchronously anyway). */
  preferAsync?: boolean;
  /** ServiceProviderConfig patch.supported: update with PATCH, else PUT. */
  patchSupported: boolean;
  /** How many failures to describe (all are counted). */
  maxReported: number;
  /** Where the chunk's writes are journaled (absent in batches started before journals: nothing is). */
  journal?: JournalLink;
}

/**
 * What happened to the operations of one chunk once the provider answered them; `retried` counts
 * the records in `retry` (the workflow decides whether they are sent again).
 */
export interface ChunkTally extends RecordCounts {
  failures: RecordFailure[];
  /** The journal of what this answer wrote (it names the run's journals before it), when it wrote anything. */
  journal?: ClaimRef;
  /** Record indices to send again (per-operation 429/5xx, or a lookup that could not finish). */
  retry: number[];
  retryReasons: string[];
}

export type ChunkSubmission =
  | ({ state: 'completed'; mode: 'sync' | 'async'; httpStatus: number; durationMs: number } & ChunkTally)
  /** A slice written one resource at a time (no Bulk): every record settled, nothing left to resend. */
  | ({ state: 'completed'; mode: 'per-resource'; httpStatus?: undefined; durationMs: number } & ChunkTally)
  | { state: 'pending'; jobUrl: string; retryAfterMs?: number; httpStatus: number; jobStatus: string }
  /** The async job is gone (404) or failed without results: the chunk must be sent again. */
  | { state: 'lost'; httpStatus: number; detail: string };

function statusOf(value: unknown): number {
  const match = /\d{3}/.exec(String(value));
  return match ? Number(match[0]) : NaN;
}

function errorOf(response: unknown): { scimType?: string; detail?: string } {
  if (typeof response !== 'object' || response === null) return {};
  const { scimType, detail } = response as { scimType?: unknown; detail?: unknown };
  return {
    ...(typeof scimType === 'string' ? { scimType } : {}),
    ...(typeof detail === 'string' ? { detail } : {}),
  };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * Stores the journal of a chunk's writes next to its users (or the run's claims), naming the run's
 * journals before it; returns its reference, or the previous ones' when nothing was written.
 */
export async function storeChunkJournal(
  input: Pick<ChunkInput, 'tenant' | 'source' | 'chunk' | 'endpoint' | 'journal'>,
  entries: JournalEntry[],
): Promise<ClaimRef | undefined> {
  if (!input.journal || entries.length === 0) return undefined;
  const store = input.chunk.claim
    ? storeOfClaim(input.chunk.claim)
    : claimStoreFor(input.source.kind === 'file' ? input.source.path : undefined);
  return storeJournal(store, {
    journal: 1,
    workflowId: input.journal.workflowId,
    runId: input.journal.runId,
    tenant: input.tenant,
    endpoint: input.endpoint,
    planHash: '',
    phase: input.chunk.id,
    from: 0,
    entries,
    previous: input.journal.previous,
  });
}

/** The provider's id of a resource a Bulk operation created, from its `location`. */
function idOfLocation(location: string | undefined): string | undefined {
  const last = location
    ?.replace(/[?#].*$/, '')
    .replace(/\/+$/, '')
    .split('/')
    .pop();
  return last ? decodeURIComponent(last) : undefined;
}

/** Per-operation outcomes of a BulkResponse → counts, failures, the records to send again, and the journal. */
async function settleOperations(
  client: ScimClient,
  input: Pick<ChunkInput, 'tenant' | 'source' | 'chunk' | 'endpoint' | 'patchSupported' | 'maxReported' | 'journal'>,
  entries: Entry[],
  results: BulkOperationResult[],
): Promise<ChunkTally> {
  const tally: ChunkTally = { ...emptyCounts(), failures: [], retry: [], retryReasons: [] };
  const journal: JournalEntry[] = [];
  const fail = (failure: RecordFailure) => {
    tally.failed++;
    if (tally.failures.length < input.maxReported) tally.failures.push(failure);
  };
  const retry = (entry: Entry, reason: string) => {
    tally.retry.push(entry.index);
    tally.retried++;
    if (tally.retryReasons.length < 3 && !tally.retryReasons.includes(reason)) tally.retryReasons.push(reason);
  };
  const byBulkId = new Map(results.filter((r) => r.bulkId !== undefined).map((r) => [r.bulkId as string, r]));
  const conflicts: Entry[] = [];
  for (const entry of entries) {
    const result = byBulkId.get(entry.bulkId);
    if (!result) {
      retry(entry, 'no result for this operation in the BulkResponse');
      continue;
    }
    const status = statusOf(result.status);
    const { scimType, detail } = errorOf(result.response);
    if (status >= 200 && status < 300) {
      tally.created++;
      journal.push(createdEntry(entry.userName, idOfLocation(result.location), entry.user));
    } else if (status === 409 && (scimType === undefined || scimType === 'uniqueness')) conflicts.push(entry);
    else if (isTransient(status)) retry(entry, `HTTP ${status}${detail ? `: ${detail}` : ''}`);
    else {
      fail({
        record: entry.index + 1,
        userName: entry.userName,
        ...(Number.isFinite(status) ? { status } : {}),
        ...(scimType ? { scimType } : {}),
        detail: detail ?? `operation answered ${String(result.status)}`,
      });
    }
  }
  const resolutions = await mapLimit(conflicts, 8, (entry) =>
    resolveExisting(client, input.endpoint, entry, input.patchSupported),
  );
  resolutions.forEach((resolution, i) => {
    if (resolution.kind === 'unchanged') tally.unchanged++;
    else if (resolution.kind === 'updated') {
      tally.updated++;
      journal.push(resolution.journal);
    } else if (resolution.kind === 'retry') retry(conflicts[i], resolution.reason);
    else fail(resolution.failure);
  });
  const stored = await storeChunkJournal(input, journal);
  return stored ? { ...tally, journal: stored } : tally;
}

function decodeOperations(body: unknown, where: string): BulkOperationResult[] {
  const decoded = decode(BulkResponse, body);
  if (!decoded.ok) {
    throw ApplicationFailure.nonRetryable(
      `${where}: not a BulkResponse: ${formatIssues(decoded.errors)}`,
      FailureType.InvalidBulkResponse,
    );
  }
  return decoded.value.Operations;
}

export function createBulkChunkActivities(deps: ActivityDeps) {
  return {
    /** POST {scim}/Bulk with the chunk's operations; settles a synchronous answer, or returns the async job. */
    async submitBulkChunk(input: ChunkInput): Promise<ChunkSubmission> {
      return heartbeating(() =>
        asActivity(async () => {
          const entries = await chunkEntries(input.tenant, input.source, input.chunk);
          const operations: BulkOperationBody[] = entries.map((e) =>
            bulkPostOperation(input.endpoint, e.bulkId, e.user),
          );
          const body = bulkRequestBody(operations);
          const client = scimClientFor(deps, input.tenant);
          const response = await client.post('/Bulk', body, {
            headers: input.preferAsync ? { prefer: 'respond-async' } : {},
          });
          if (response.status === 202) {
            const job = response.body as { id?: unknown; status?: unknown } | undefined;
            const jobUrl =
              response.location ?? (typeof job?.id === 'string' ? `/Bulk/${encodeURIComponent(job.id)}` : undefined);
            if (!jobUrl)
              throw ApplicationFailure.nonRetryable(
                '202 Accepted for a bulk request, without a Location or a job id',
                FailureType.InvalidBulkResponse,
              );
            return {
              state: 'pending',
              jobUrl,
              httpStatus: 202,
              jobStatus: typeof job?.status === 'string' ? job.status : 'queued',
              ...(response.retryAfterMs !== undefined ? { retryAfterMs: response.retryAfterMs } : {}),
            };
          }
          const results = decodeOperations(response.body, 'POST /Bulk');
          const tally = await settleOperations(client, input, entries, results);
          return {
            state: 'completed',
            mode: 'sync',
            httpStatus: response.status,
            durationMs: response.durationMs,
            ...tally,
          };
        }),
      );
    },

    /** GET the async bulk job once; when it is done, settles its operations like a synchronous answer. */
    async pollBulkChunk(input: ChunkInput & { jobUrl: string }): Promise<ChunkSubmission> {
      return heartbeating(() =>
        asActivity(async () => {
          const client = scimClientFor(deps, input.tenant);
          let response: ScimResponse<{ status?: unknown; Operations?: unknown }>;
          try {
            response = await client.requestUrl<{ status?: unknown; Operations?: unknown }>('GET', input.jobUrl);
          } catch (err) {
            if (err instanceof ScimHttpError && err.status === 404)
              return { state: 'lost', httpStatus: 404, detail: 'the bulk job is gone (404)' };
            throw err;
          }
          const status = String(response.body?.status ?? '');
          if (status === 'queued' || status === 'running' || status === 'pending' || status === 'in_progress') {
            return {
              state: 'pending',
              jobUrl: input.jobUrl,
              httpStatus: response.status,
              jobStatus: status,
              ...(response.retryAfterMs !== undefined ? { retryAfterMs: response.retryAfterMs } : {}),
            };
          }
          if (!Array.isArray(response.body?.Operations)) {
            return { state: 'lost', httpStatus: response.status, detail: `bulk job ended "${status}" without results` };
          }
          const entries = await chunkEntries(input.tenant, input.source, input.chunk);
          const results = decodeOperations(response.body, `GET ${input.jobUrl}`);
          const tally = await settleOperations(client, input, entries, results);
          return {
            state: 'completed',
            mode: 'async',
            httpStatus: response.status,
            durationMs: response.durationMs,
            ...tally,
          };
        }),
      );
    },
  };
}
