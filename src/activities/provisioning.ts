// Planning a provisionUsers run (job 2): read the source, map, validate every record against the
// discovered schemas, size and pack Bulk requests; and rebuilding a chunk's records from the
// source for the activities that send them. User data never leaves the activities for a file
// source: workflows see index ranges, counts and reasons.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { bulkPostOperation, indicesOf, packChunks, type ChunkDescriptor, type ChunkLimits } from '../scim/bulk-plan';
import { FailureType } from '../scim/failures';
import type { RecordLimits } from '../scim/record-checks';
import { userNameOf, validateUser, type UserSchemaModel } from '../scim/user-validation';
import type { ActivityDeps } from './deps';
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

/** The records of a chunk, from the file (refused when it changed since planning) or the inline users. */
export async function chunkEntries(tenant: string, source: ChunkSource, chunk: ChunkDescriptor): Promise<Entry[]> {
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


export function createProvisioningActivities(_deps: ActivityDeps) {
  return {
    /** Reads the source, maps and validates every record against the discovered schemas, and packs Bulk requests. */
    async planProvisioning(input: PlanInput): Promise<ProvisionPlan> {
      return heartbeating(() => planProvisioning(input));
    },
  };
}
