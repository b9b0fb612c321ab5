// Activities of provisionUsers (job 2): plan a run (read, map, validate, size, chunk), submit one
// Bulk request, poll an asynchronous bulk job, and settle per-operation outcomes (a 409
// uniqueness is resolved by lookup and update-if-different). User data never leaves these
// activities for a file source: workflows see index ranges, counts and reasons.
import { filterString } from '../scim/filter';
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ScimHttpError, ScimNetworkError } from '../http';
import type { ScimClient } from '../http';
import {
  bulkPostOperation,
  bulkRequestBody,
  indicesOf,
  packChunks,
  type BulkOperationBody,
  type ChunkDescriptor,
  type ChunkLimits,
} from '../scim/bulk-plan';
import { BulkResponse, type BulkOperationResult } from '../scim/codecs';
import { decode, formatIssues } from '../scim/decode';
import { FailureType } from '../scim/failures';
import { mergedForPut, patchRequest, userPatchOperations } from '../scim/patch';
import type { RecordLimits } from '../scim/record-checks';
import { userNameOf, validateUser, type UserSchemaModel } from '../scim/user-validation';
import type { ActivityDeps } from './deps';
import { asActivity, scimClientFor } from './deps';
import { loadFileSource, mapRecords, type MappedRecord, type SourceFormat } from './user-source';

/** Where the users come from, as the workflow input says. */
export type PlanSource =
  | { kind: 'file'; path: string; format?: SourceFormat; mapping?: unknown }
  | { kind: 'inline'; users: unknown[] };

/** What a chunk activity needs to rebuild its operations: a file (checked by SHA-256) or the inline users of its batch. */
export type ChunkSource =
  | { kind: 'file'; path: string; format: SourceFormat; mapping?: unknown; sha256: string }
  | { kind: 'inline'; offset: number; users: unknown[] };

export interface InvalidRecord {
  /** 1-based position of the record in the source (data rows for CSV, lines for NDJSON). */
  record: number;
  /** The line the record starts on (CSV, NDJSON). */
  line?: number;
  userName?: string;
  reasons: string[];
}

export interface RecordFailure {
  record: number;
  userName?: string;
  status?: number;
  scimType?: string;
  detail: string;
}

export interface PlanInput {
  tenant: string;
  source: PlanSource;
  model: UserSchemaModel;
  limits: ChunkLimits;
  /** How many invalid records to describe (all are counted). */
  maxReported: number;
  /** Length limits of values (defaults: DEFAULT_RECORD_LIMITS). */
  recordLimits?: RecordLimits;
}

export interface ProvisionPlan {
  /** The file as planned (absolute path, format, SHA-256), for chunk activities; absent for inline users. */
  file?: Extract<ChunkSource, { kind: 'file' }>;
  records: number;
  valid: number;
  invalid: number;
  invalidRecords: InvalidRecord[];
  chunks: ChunkDescriptor[];
  /** Sum of the request body sizes. */
  bytes: number;
}

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
}

/** What happened to the operations of one chunk once the provider answered them. */
export interface ChunkTally {
  created: number;
  /** Existed (409) and already carried the source's values. */
  unchanged: number;
  /** Existed (409) and was updated to the source's values. */
  updated: number;
  failed: number;
  failures: RecordFailure[];
  /** Record indices to send again (per-operation 429/5xx, or a lookup that could not finish). */
  retry: number[];
  retryReasons: string[];
}

export type ChunkSubmission =
  | ({ state: 'completed'; mode: 'sync' | 'async'; httpStatus: number; durationMs: number } & ChunkTally)
  | { state: 'pending'; jobUrl: string; retryAfterMs?: number; httpStatus: number; jobStatus: string }
  /** The async job is gone (404) or failed without results: the chunk must be sent again. */
  | { state: 'lost'; httpStatus: number; detail: string };

interface Entry {
  index: number;
  userName: string;
  bulkId: string;
  user: Record<string, unknown>;
}

/** Deterministic bulkId of a user of a tenant: the same on every run and every retry. */
export function bulkIdFor(tenant: string, userName: string): string {
  return `u${createHash('sha256').update(`${tenant}\n${userName.toLowerCase()}`).digest('hex').slice(0, 32)}`;
}

export function operationBytes(endpoint: string, bulkId: string, user: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(bulkPostOperation(endpoint, bulkId, user)));
}

/** Heartbeats every second while `body` runs, so that a killed worker's activity is retried within the heartbeat timeout. */
async function heartbeating<T>(body: () => Promise<T>): Promise<T> {
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    return body(); // called outside an activity (benchmark baseline)
  }
  const timer = setInterval(() => context?.heartbeat(), 1000);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}

async function sourceRecords(source: PlanSource): Promise<{ records: MappedRecord[]; file?: ProvisionPlan['file'] }> {
  if (source.kind === 'inline') return { records: mapRecords(source.users, undefined) };
  const loaded = await loadFileSource(source);
  return {
    records: loaded.records,
    file: { kind: 'file', path: loaded.path, format: loaded.format, ...(source.mapping !== undefined ? { mapping: source.mapping } : {}), sha256: loaded.sha256 },
  };
}

/** Reads, maps, validates and chunks; returns descriptors, never user data. */
export async function planProvisioning(input: PlanInput): Promise<ProvisionPlan> {
  const { records, file } = await sourceRecords(input.source);
  const invalidRecords: InvalidRecord[] = [];
  let invalid = 0;
  const reject = (index: number, userName: string | undefined, reasons: string[]) => {
    invalid++;
    const line = records[index].line;
    if (invalidRecords.length < input.maxReported) invalidRecords.push({ record: index + 1, ...(line ? { line } : {}), ...(userName ? { userName } : {}), reasons });
  };
  const seen = new Map<string, number>();
  const sized: Array<{ index: number; bytes: number }> = [];
  records.forEach((record, index) => {
    if ('problems' in record) return reject(index, undefined, record.problems);
    const userName = userNameOf(record.user);
    const reasons = validateUser(input.model, record.user, input.recordLimits);
    if (reasons.length > 0) return reject(index, userName, reasons);
    const key = (userName as string).toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) return reject(index, userName, [`userName: duplicates record ${first + 1} (userName is unique, case-insensitively)`]);
    seen.set(key, index);
    sized.push({ index, bytes: operationBytes(input.model.endpoint, bulkIdFor(input.tenant, userName as string), record.user) });
  });
  const { chunks, tooLarge } = packChunks(sized, input.limits);
  for (const op of tooLarge) {
    const user = (records[op.index] as { user: Record<string, unknown> }).user;
    reject(op.index, userNameOf(user), [`$: ${op.bytes} bytes as a bulk operation, more than the provider's maxPayloadSize ${input.limits.maxPayloadSize}`]);
  }
  invalidRecords.sort((a, b) => a.record - b.record);
  const valid = chunks.reduce((n, c) => n + c.operations, 0);
  return {
    ...(file ? { file } : {}),
    records: records.length,
    valid,
    invalid,
    invalidRecords,
    chunks,
    bytes: chunks.reduce((n, c) => n + c.bytes, 0),
  };
}

async function chunkEntries(tenant: string, source: ChunkSource, chunk: ChunkDescriptor): Promise<Entry[]> {
  let userAt: (index: number) => unknown;
  if (source.kind === 'file') {
    const loaded = await loadFileSource(source);
    if (loaded.sha256 !== source.sha256) {
      throw ApplicationFailure.nonRetryable(
        `the source file ${source.path} changed during the run (SHA-256 ${loaded.sha256.slice(0, 12)}…, planned ${source.sha256.slice(0, 12)}…): start a new run`,
        FailureType.SourceChanged,
      );
    }
    userAt = (index) => {
      const record = loaded.records[index];
      return record && 'user' in record ? record.user : undefined;
    };
  } else {
    userAt = (index) => source.users[index - source.offset];
  }
  return indicesOf(chunk.ranges).map((index) => {
    const user = userAt(index) as Record<string, unknown> | undefined;
    const userName = userNameOf(user);
    if (!user || !userName) {
      throw ApplicationFailure.nonRetryable(`record ${index + 1} of the source is not the valid user it was when planned`, FailureType.SourceChanged);
    }
    return { index, userName, bulkId: bulkIdFor(tenant, userName), user };
  });
}

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

const isTransient = (status: number) => status === 429 || (status >= 500 && status !== 501);

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

type Resolution = { kind: 'unchanged' } | { kind: 'updated' } | { kind: 'retry'; reason: string } | { kind: 'failed'; failure: RecordFailure };

/** POST said 409 uniqueness: find the user by userName and update it only if it differs. */
async function resolveExisting(client: ScimClient, endpoint: string, entry: Entry, patchSupported: boolean): Promise<Resolution> {
  try {
    const found = await client.get<{ Resources?: Array<Record<string, unknown>> }>(endpoint, {
      query: { filter: `userName eq ${filterString(entry.userName)}` },
    });
    const current = found.body?.Resources?.find((r) => String(r.userName).toLowerCase() === entry.userName.toLowerCase());
    if (!current || typeof current.id !== 'string') {
      return { kind: 'retry', reason: `409 on POST but no user "${entry.userName}" found by filter` };
    }
    const changes = userPatchOperations(entry.user, current);
    if (changes.length === 0) return { kind: 'unchanged' };
    const ifMatch = typeof (current.meta as { version?: unknown } | undefined)?.version === 'string'
      ? ((current.meta as { version: string }).version)
      : undefined;
    const path = `${endpoint}/${encodeURIComponent(current.id)}`;
    if (patchSupported) await client.patch(path, patchRequest(changes), { ifMatch });
    else await client.put(path, mergedForPut(entry.user, current), { ifMatch });
    return { kind: 'updated' };
  } catch (err) {
    if (err instanceof ScimNetworkError) return { kind: 'retry', reason: err.message };
    if (err instanceof ScimHttpError) {
      // 412/404: changed or deleted since the lookup; 429/5xx: transient. A later attempt decides again.
      if (err.status === 412 || err.status === 404 || isTransient(err.status)) return { kind: 'retry', reason: err.message };
      return {
        kind: 'failed',
        failure: { record: entry.index + 1, userName: entry.userName, status: err.status, ...(err.scimType ? { scimType: err.scimType } : {}), detail: err.message },
      };
    }
    throw err;
  }
}

/** Per-operation outcomes of a BulkResponse → counts, failures, and the records to send again. */
async function settleOperations(
  client: ScimClient,
  input: Pick<ChunkInput, 'endpoint' | 'patchSupported' | 'maxReported'>,
  entries: Entry[],
  results: BulkOperationResult[],
): Promise<ChunkTally> {
  const tally: ChunkTally = { created: 0, unchanged: 0, updated: 0, failed: 0, failures: [], retry: [], retryReasons: [] };
  const fail = (failure: RecordFailure) => {
    tally.failed++;
    if (tally.failures.length < input.maxReported) tally.failures.push(failure);
  };
  const retry = (entry: Entry, reason: string) => {
    tally.retry.push(entry.index);
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
    if (status >= 200 && status < 300) tally.created++;
    else if (status === 409 && (scimType === undefined || scimType === 'uniqueness')) conflicts.push(entry);
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
  const resolutions = await mapLimit(conflicts, 8, (entry) => resolveExisting(client, input.endpoint, entry, input.patchSupported));
  resolutions.forEach((resolution, i) => {
    if (resolution.kind === 'unchanged') tally.unchanged++;
    else if (resolution.kind === 'updated') tally.updated++;
    else if (resolution.kind === 'retry') retry(conflicts[i], resolution.reason);
    else fail(resolution.failure);
  });
  return tally;
}

function decodeOperations(body: unknown, where: string): BulkOperationResult[] {
  const decoded = decode(BulkResponse, body);
  if (!decoded.ok) {
    throw ApplicationFailure.nonRetryable(`${where}: not a BulkResponse: ${formatIssues(decoded.errors)}`, FailureType.InvalidBulkResponse);
  }
  return decoded.value.Operations;
}

export function createProvisioningActivities(deps: ActivityDeps) {
  return {
    /** Reads the source, maps and validates every record against the discovered schemas, and packs Bulk requests. */
    async planProvisioning(input: PlanInput): Promise<ProvisionPlan> {
      return heartbeating(() => planProvisioning(input));
    },

    /** POST {scim}/Bulk with the chunk's operations; settles a synchronous answer, or returns the async job. */
    async submitBulkChunk(input: ChunkInput): Promise<ChunkSubmission> {
      return heartbeating(() =>
        asActivity(async () => {
          const entries = await chunkEntries(input.tenant, input.source, input.chunk);
          const operations: BulkOperationBody[] = entries.map((e) => bulkPostOperation(input.endpoint, e.bulkId, e.user));
          const body = bulkRequestBody(operations);
          const client = scimClientFor(deps, input.tenant);
          const response = await client.post('/Bulk', body, {
            headers: input.preferAsync ? { prefer: 'respond-async' } : {},
          });
          if (response.status === 202) {
            const job = response.body as { id?: unknown; status?: unknown } | undefined;
            const jobUrl = response.location ?? (typeof job?.id === 'string' ? `/Bulk/${encodeURIComponent(job.id)}` : undefined);
            if (!jobUrl) throw ApplicationFailure.nonRetryable('202 Accepted for a bulk request, without a Location or a job id', FailureType.InvalidBulkResponse);
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
          return { state: 'completed', mode: 'sync', httpStatus: response.status, durationMs: response.durationMs, ...tally };
        }),
      );
    },

    /** GET the async bulk job once; when it is done, settles its operations like a synchronous answer. */
    async pollBulkChunk(input: ChunkInput & { jobUrl: string }): Promise<ChunkSubmission> {
      return heartbeating(() =>
        asActivity(async () => {
          const client = scimClientFor(deps, input.tenant);
          let response;
          try {
            response = await client.requestUrl<{ status?: unknown; Operations?: unknown }>('GET', input.jobUrl);
          } catch (err) {
            if (err instanceof ScimHttpError && err.status === 404) return { state: 'lost', httpStatus: 404, detail: 'the bulk job is gone (404)' };
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
          return { state: 'completed', mode: 'async', httpStatus: response.status, durationMs: response.durationMs, ...tally };
        }),
      );
    },
  };
}
