// Planning a provisionUsers run (job 2): read the source once, streaming, map, validate every
// record against the discovered schemas, size and pack Bulk requests; as each request fills, its
// normalized users are stored as a claim check (claim-store.ts) that the chunk activities read
// back, on whichever worker they run. User data never leaves the activities for a file source:
// workflows see index ranges, counts, reasons and claim references; and no worker holds more
// than one chunk of users (plus the userNames seen, to find duplicates).
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { bulkPostOperation, ChunkPacker, indicesOf, type ChunkDescriptor, type ChunkLimits } from '../scim/bulk-plan';
import { FailureType } from '../scim/failures';
import type { RecordLimits } from '../scim/record-checks';
import { userNameOf, validateUser, type UserSchemaModel } from '../scim/user-validation';
import { claimStoreFor, getClaim, putClaim } from './claim-store';
import type { ActivityDeps } from './deps';
import { mapRecord, readFileSource, sourceLocationOf, type FileSourceSpec, type MappedRecord, type RecordSink, type SourceFormat } from './user-source';

/** Where the users come from, as the workflow input says. */
export type PlanSource = ({ kind: 'file' } & FileSourceSpec & { path: string }) | { kind: 'inline'; users: unknown[] };

/**
 * The version of a file or object the run planned: chunk activities read their users from each
 * chunk's claim, never from here (`mapping` only in plans of earlier versions, which reloaded the file).
 */
export interface PlannedSource {
  kind: 'file';
  path: string;
  format: SourceFormat;
  sha256: string;
  /** The store's version of the bytes planned (S3 version id or ETag, HTTP ETag, file size and mtime). */
  version?: string;
  bytes?: number;
  mapping?: unknown;
}

/** What a chunk activity needs besides its chunk: the planned source (users in the chunk's claim) or the inline users of its batch. */
export type ChunkSource = PlannedSource | { kind: 'inline'; offset: number; users: unknown[] };

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
  /** The file or object as planned (location, format, SHA-256, version); absent for inline users. */
  file?: PlannedSource;
  records: number;
  valid: number;
  invalid: number;
  invalidRecords: InvalidRecord[];
  chunks: ChunkDescriptor[];
  /** Sum of the request body sizes. */
  bytes: number;
}


/** One record of a chunk, rebuilt from the source. */
export interface Entry {
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
export async function heartbeating<T>(body: () => Promise<T>): Promise<T> {
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

/** A chunk's users as its claim stores them: one `{"index":…,"user":…}` line per record. */
interface ClaimLine {
  index: number;
  user: Record<string, unknown>;
}

/** Reads, maps, validates and chunks; returns descriptors and claim references, never user data. */
export async function planProvisioning(input: PlanInput): Promise<ProvisionPlan> {
  const invalidRecords: InvalidRecord[] = [];
  let invalid = 0;
  let records = 0;
  const reject = (index: number, record: MappedRecord, userName: string | undefined, reasons: string[]) => {
    invalid++;
    const { line } = record;
    if (invalidRecords.length < input.maxReported) invalidRecords.push({ record: index + 1, ...(line ? { line } : {}), ...(userName ? { userName } : {}), reasons });
  };
  const seen = new Map<string, number>();
  const packer = new ChunkPacker(input.limits);
  const chunks: ChunkDescriptor[] = [];
  // The chunk being filled: its claim lines (file sources only; inline users stay in the input).
  const store = input.source.kind === 'file' ? claimStoreFor(sourceLocationOf(input.source)) : undefined;
  let filling: string[] = [];
  const close = async (chunk: ChunkDescriptor) => {
    const claim = store !== undefined ? await putClaim(store, 'chunks', Buffer.from(filling.join(''))) : undefined;
    chunks.push(claim ? { ...chunk, claim } : chunk);
    filling = [];
  };
  const sink: RecordSink = async (record, index) => {
    records++;
    if ('problems' in record) return reject(index, record, undefined, record.problems);
    const userName = userNameOf(record.user);
    const reasons = validateUser(input.model, record.user, input.recordLimits);
    if (reasons.length > 0) return reject(index, record, userName, reasons);
    const key = (userName as string).toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) return reject(index, record, userName, [`userName: duplicates record ${first + 1} (userName is unique, case-insensitively)`]);
    seen.set(key, index);
    const bytes = operationBytes(input.model.endpoint, bulkIdFor(input.tenant, userName as string), record.user);
    const added = packer.add({ index, bytes });
    if (added.tooLarge) return reject(index, record, userName, [`$: ${bytes} bytes as a bulk operation, more than the provider's maxPayloadSize ${input.limits.maxPayloadSize}`]);
    if (added.closed) await close(added.closed);
    if (store !== undefined) filling.push(`${JSON.stringify({ index, user: record.user } satisfies ClaimLine)}\n`);
  };
  let file: PlannedSource | undefined;
  if (input.source.kind === 'inline') {
    for (let index = 0; index < input.source.users.length; index++) await sink(mapRecord(input.source.users[index], undefined), index);
  } else {
    const snapshot = await readFileSource(input.source, sink);
    file = { kind: 'file', path: snapshot.path, format: snapshot.format, sha256: snapshot.sha256, version: snapshot.version, bytes: snapshot.bytes };
  }
  const last = packer.finish();
  if (last) await close(last);
  invalidRecords.sort((a, b) => a.record - b.record);
  return {
    ...(file ? { file } : {}),
    records,
    valid: chunks.reduce((n, c) => n + c.operations, 0),
    invalid,
    invalidRecords,
    chunks,
    bytes: chunks.reduce((n, c) => n + c.bytes, 0),
  };
}

/** The users a chunk's claim holds, checked by SHA-256; a split or a resend keeps only its own ranges. */
async function claimedUsers(chunk: ChunkDescriptor): Promise<Map<number, unknown>> {
  if (!chunk.claim) {
    throw ApplicationFailure.nonRetryable(
      `chunk ${chunk.id} has no stored users: it was planned by an earlier version, which read the source again in every chunk; start a new run`,
      FailureType.PlanUnavailable,
    );
  }
  const wanted = new Set(indicesOf(chunk.ranges));
  const users = new Map<number, unknown>();
  for (const line of (await getClaim(chunk.claim, `the users of chunk ${chunk.id}`)).toString('utf8').split('\n')) {
    if (line === '') continue;
    const { index, user } = JSON.parse(line) as ClaimLine;
    if (wanted.has(index)) users.set(index, user);
  }
  return users;
}

/** The records of a chunk, from its claim (file sources) or the inline users. */
export async function chunkEntries(tenant: string, source: ChunkSource, chunk: ChunkDescriptor): Promise<Entry[]> {
  let userAt: (index: number) => unknown;
  if (source.kind === 'file') {
    const users = await claimedUsers(chunk);
    userAt = (index) => users.get(index);
  } else {
    userAt = (index) => source.users[index - source.offset];
  }
  return indicesOf(chunk.ranges).map((index) => {
    const user = userAt(index) as Record<string, unknown> | undefined;
    const userName = userNameOf(user);
    if (!user || !userName) {
      throw source.kind === 'file'
        ? ApplicationFailure.nonRetryable(`record ${index + 1} is not among the users stored for chunk ${chunk.id}`, FailureType.PlanUnavailable)
        : ApplicationFailure.nonRetryable(`record ${index + 1} of the source is not the valid user it was when planned`, FailureType.SourceChanged);
    }
    return { index, userName, bulkId: bulkIdFor(tenant, userName), user };
  });
}


export function createProvisioningActivities(_deps: ActivityDeps) {
  return {
    /** Reads the source, maps and validates every record against the discovered schemas, and packs Bulk requests. */
    async planProvisioning(input: PlanInput): Promise<ProvisionPlan> {
      return heartbeating(() => planProvisioning(input));
    },
  };
}
