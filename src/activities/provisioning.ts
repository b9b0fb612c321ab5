// Planning a provisionUsers run (job 2): read the source once, streaming, map, validate every
// record against the discovered schemas, size and pack Bulk requests; as each request fills, its
// normalized users are stored as a claim check (claim-store.ts) that the chunk activities read
// back, on whichever worker they run. User data never leaves the activities for a file source:
// workflows see index ranges, counts, reasons and claim references; and no worker holds more
// than one chunk of users (plus a digest of each userName seen, to find duplicates).
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { bulkPostOperation, ChunkPacker, indicesOf, type ChunkDescriptor, type ChunkLimits } from '../scim/bulk-plan';
import { FailureType } from '../core/failures';
import type { RecordLimits } from '../scim/record-checks';
import type { AttributeWrites } from '../scim/patch';
import { type CompiledMapping, compileMapping, matchValuesOf } from '../mapping/mapping';
import { targetProblem, userNameOf, validateUser, type UserSchemaModel } from '../scim/user-validation';
import { ChunkPager, readChunkPage, type ChunkPages } from './claims/chunk-pages';
import { claimStoreFor, getClaim, putClaim, type ClaimRef } from './claims/claim-store';
import { TenantFitter, type FittedRecord } from './cxone-directory';
import { asActivity, scimClientFor, type ActivityDeps } from './deps';
import { ManagerReferences, managerPlanOf, type ManagerPlan } from './manager-refs';
import { providerFinder, type AttributeFinder } from './provider/attribute-finder';
import { UniqueValueChooser } from './unique-values';
import { UserNameIndex } from './name-index';
import {
  mapRecord,
  readFileSource,
  sourceLocationOf,
  type FileSourceSpec,
  type MappedRecord,
  type Planning,
  type RecordSink,
  type SourceFormat,
} from './sources/user-source';

/** Where the users come from, as the workflow input says. */
export type PlanSource = ({ kind: 'file' } & FileSourceSpec & { path: string }) | { kind: 'inline'; users: unknown[] };

/**
 * The version of a file or object the run planned: chunk activities read their users from each
 * chunk's claim, never from here (`mapping` only in plans of earlier versions, which reloaded the file:
 * history-compat: chunk-without-claim).
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

import type { Entry } from './records';

export type { Entry, RecordFailure } from './records';

export interface PlanInput {
  tenant: string;
  source: PlanSource;
  model: UserSchemaModel;
  limits: ChunkLimits;
  /** How many invalid records to describe (all are counted). */
  maxReported: number;
  /** Length limits of values (defaults: DEFAULT_RECORD_LIMITS). */
  recordLimits?: RecordLimits;
  /**
   * File sources: chunk descriptors per page; the first page comes with the plan, the others are
   * stored (chunk-pages.ts). Absent: every descriptor comes with the plan, as runs started before
   * plan pages ask for it (history-compat: provision-plan-pages).
   */
  chunksPerPage?: number;
}

export interface ProvisionPlan {
  /** The file or object as planned (location, format, SHA-256, version); absent for inline users. */
  file?: PlannedSource;
  records: number;
  valid: number;
  invalid: number;
  invalidRecords: InvalidRecord[];
  /** The chunks of the first page (all of them when the plan has no `pages`). */
  chunks: ChunkDescriptor[];
  /** The plan's other chunks, in stored pages (absent when every chunk is in `chunks`). */
  pages?: ChunkPages;
  /** Sum of the request body sizes. */
  bytes: number;
  /** The mapping's manager references: resolved when planned, pending until the run created them, or warned about. */
  managers?: ManagerPlan;
}

/** Deterministic bulkId of a user of a tenant: the same on every run and every retry. */
export function bulkIdFor(tenant: string, userName: string): string {
  return `u${createHash('sha256').update(`${tenant}\n${userName.toLowerCase()}`).digest('hex').slice(0, 32)}`;
}

export function operationBytes(endpoint: string, bulkId: string, user: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(bulkPostOperation(endpoint, bulkId, user)));
}

/**
 * The planning activity's instant and the run's id: what Now(), Guid() and RandomString() in a
 * mapping see. The same on every retry of the activity (its first scheduled time), so a retried
 * plan maps each record as the first attempt did; chunk activities send what the plan stored.
 */
export function planningOfRun(): Planning {
  try {
    const { info } = Context.current();
    return { now: info.scheduledTimestampMs, planId: info.workflowExecution?.runId ?? info.activityId };
  } catch {
    const now = Date.now(); // called outside an activity (benchmark baseline)
    return { now, planId: `local-${now}` };
  }
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
  writes?: AttributeWrites;
  /** The mapping's matchOn pairs with this record's values: how a write finds its existing user. */
  match?: Array<[string, string]>;
}

/**
 * The claim of the chunk being filled, in one off-heap buffer reused for every chunk: a chunk's
 * users never become one large string, which V8 would keep until a full collection.
 */
class ClaimBuffer {
  private buffer = Buffer.allocUnsafe(1 << 20);
  private length = 0;

  append(text: string): void {
    const most = text.length * 3; // UTF-8 bytes of a UTF-16 string, at most
    if (this.length + most > this.buffer.length) {
      const larger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + most));
      this.buffer.copy(larger, 0, 0, this.length);
      this.buffer = larger;
    }
    this.length += this.buffer.write(text, this.length);
  }

  /** The bytes so far (a view: valid until the next append or clear). */
  content(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}

/**
 * A mapping whose target the tenant's /Schemas does not declare (or declares read-only) would fail
 * every record that has a value for it: one clear error naming each such target, before any record
 * is read. (An invalid mapping is reported by the source reader.)
 */
export function checkMappingTargets(mapping: unknown, model: UserSchemaModel): void {
  if (mapping === undefined || mapping === null) return;
  const compiled = compileMapping(mapping);
  if (!compiled.ok) return;
  const problems = compiled.mapping.rules.flatMap((rule) => {
    const problem = targetProblem(model, rule.path);
    return problem === undefined ? [] : [`${rule.target}: ${problem}`];
  });
  if (problems.length > 0)
    throw ApplicationFailure.nonRetryable(
      `the mapping writes attributes this tenant does not accept: ${problems.join('; ')}`,
      FailureType.InvalidMapping,
    );
}

/**
 * Reads, maps, fits each record to the tenant (`fitter`: CXone names resolved to ids, attribute
 * names as /Schemas spells them), validates and chunks; returns descriptors and claim references,
 * never user data.
 */
export async function planProvisioning(
  input: PlanInput,
  fitter?: TenantFitter,
  find?: AttributeFinder,
): Promise<ProvisionPlan> {
  if (input.source.kind === 'file') checkMappingTargets(input.source.mapping, input.model);
  const mapping = input.source.kind === 'file' ? compiledOrUndefined(input.source.mapping) : undefined;
  // SelectUniqueValue's choices and the managers' ids, from the provider and this run's own records.
  const chooser = find ? new UniqueValueChooser(find, mapping?.matchOn) : undefined;
  const managerBy = mapping?.rules.find((rule) => rule.reference)?.reference?.by;
  const managers = find && managerBy ? new ManagerReferences(find, input.maxReported) : undefined;
  const invalidRecords: InvalidRecord[] = [];
  let invalid = 0;
  let records = 0;
  const reject = (index: number, record: MappedRecord, userName: string | undefined, reasons: string[]) => {
    invalid++;
    const { line } = record;
    if (invalidRecords.length < input.maxReported)
      invalidRecords.push({ record: index + 1, ...(line ? { line } : {}), ...(userName ? { userName } : {}), reasons });
  };
  const seen = new UserNameIndex();
  const packer = new ChunkPacker(input.limits);
  // An operation's size is its envelope's (a bulkId has the same length for every user) plus its user's.
  const envelopeBytes = operationBytes(input.model.endpoint, bulkIdFor(input.tenant, ''), {}) - '{}'.length;
  // The chunk being filled: its claim lines (file sources only; inline users stay in the input).
  const store = input.source.kind === 'file' ? claimStoreFor(sourceLocationOf(input.source)) : undefined;
  // File sources: descriptors in pages (the first one returned, the others stored); else all returned.
  const pager = store !== undefined && input.chunksPerPage ? new ChunkPager(store, input.chunksPerPage) : undefined;
  const chunks: ChunkDescriptor[] = [];
  let valid = 0;
  let bytes = 0;
  const filling = new ClaimBuffer();
  const close = async (chunk: ChunkDescriptor) => {
    const claim = store !== undefined ? await putClaim(store, 'chunks', filling.content()) : undefined;
    const described = claim ? { ...chunk, claim } : chunk;
    if (pager) await pager.add(described);
    else chunks.push(described);
    valid += chunk.operations;
    bytes += chunk.bytes;
    filling.clear();
  };
  const sink: RecordSink = async (mapped, index) => {
    records++;
    if ('user' in mapped && mapped.choices) {
      const problems = chooser
        ? await chooser.choose(mapped.user, mapped.choices)
        : ['SelectUniqueValue: chosen only where the provider can be asked'];
      if (problems.length > 0) return reject(index, mapped, userNameOf(mapped.user), problems);
    }
    const record: FittedRecord = fitter ? await fitter.fit(mapped) : mapped;
    if ('problems' in record) return reject(index, record, record.userName, record.problems);
    const userName = userNameOf(record.user);
    const reasons = validateUser(input.model, record.user, input.recordLimits);
    if (reasons.length > 0) return reject(index, record, userName, reasons);
    const first = seen.firstOrAdd(userName as string, index);
    if (first !== undefined)
      return reject(index, record, userName, [
        `userName: duplicates record ${first + 1} (userName is unique, case-insensitively)`,
      ]);
    if (mapped.manager && managers) await managers.resolve(index, userName as string, record.user, mapped.manager);
    // One serialization per record, for both its size as an operation and its claim line.
    const userJson = JSON.stringify(record.user);
    const bytes = envelopeBytes + Buffer.byteLength(userJson);
    const added = packer.add({ index, bytes });
    if (added.tooLarge) {
      managers?.forget(index);
      return reject(index, record, userName, [
        `$: ${bytes} bytes as a bulk operation, more than the provider's maxPayloadSize ${input.limits.maxPayloadSize}`,
      ]);
    }
    if (added.closed) await close(added.closed);
    if (mapped.choices) chooser?.take(record.user, mapped.choices);
    if (managerBy) managers?.noteRecord(record.user, managerBy);
    const writes = mapped.writes ? `,"writes":${JSON.stringify(mapped.writes)}` : '';
    const pairs = mapping?.matchOn ? matchValuesOf(mapping.matchOn, record.user) : [];
    const match = pairs.length > 0 ? `,"match":${JSON.stringify(pairs)}` : '';
    if (store !== undefined) filling.append(`{"index":${index},"user":${userJson}${writes}${match}}\n`);
  };
  let file: PlannedSource | undefined;
  const planning = { ...planningOfRun(), deferUnique: true };
  if (input.source.kind === 'inline') {
    for (let index = 0; index < input.source.users.length; index++)
      await sink(mapRecord(input.source.users[index], undefined), index);
  } else {
    const snapshot = await readFileSource(input.source, sink, planning);
    file = {
      kind: 'file',
      path: snapshot.path,
      format: snapshot.format,
      sha256: snapshot.sha256,
      version: snapshot.version,
      bytes: snapshot.bytes,
    };
  }
  const last = packer.finish();
  if (last) await close(last);
  const pages = await pager?.finish();
  invalidRecords.sort((a, b) => a.record - b.record);
  const managerPlan = managers && store !== undefined ? await managerPlanOf(managers, store) : undefined;
  return {
    ...(file ? { file } : {}),
    records,
    valid,
    invalid,
    invalidRecords,
    chunks: pager ? pager.first : chunks,
    ...(pages ? { pages } : {}),
    bytes,
    ...(managerPlan ? { managers: managerPlan } : {}),
  };
}

/** A file source's mapping, compiled (an invalid one is reported by the source reader). */
/** The mapping, compiled; undefined without one or when it does not compile (the source reader reports that). */
export function compiledOrUndefined(document: unknown): CompiledMapping | undefined {
  if (document === undefined || document === null) return undefined;
  const compiled = compileMapping(document);
  return compiled.ok ? compiled.mapping : undefined;
}

/**
 * The users a chunk's claim holds, checked by SHA-256; a split or a resend keeps only its own ranges.
 * A chunk planned by an earlier version has no claim: its users are read from the source again, as
 * that version did, so a run in flight during an upgrade still finishes (history-compat: chunk-without-claim).
 */
async function claimedUsers(
  chunk: ChunkDescriptor,
  source: PlannedSource,
): Promise<Map<number, Omit<ClaimLine, 'index'>>> {
  if (!chunk.claim) return sourceUsers(chunk, source);
  const wanted = new Set(indicesOf(chunk.ranges));
  const users = new Map<number, Omit<ClaimLine, 'index'>>();
  const content = await getClaim(chunk.claim, `the users of chunk ${chunk.id}`);
  // Line by line from the buffer, so that the chunk is never one large string.
  for (let start = 0; start < content.length; ) {
    const end = content.indexOf(0x0a, start);
    const stop = end === -1 ? content.length : end;
    if (stop > start) {
      const { index, ...line } = JSON.parse(content.toString('utf8', start, stop)) as ClaimLine;
      if (wanted.has(index)) users.set(index, line);
    }
    start = stop + 1;
  }
  return users;
}

/**
 * A chunk's users read from the whole source (plans of earlier versions), refused when the source changed since planning (history-compat: chunk-without-claim).
 * Mapped without a planning context, as those versions planned: a record whose mapping uses Now(), Guid() or RandomString() was invalid then, so no such chunk holds one.
 */
async function sourceUsers(
  chunk: ChunkDescriptor,
  source: PlannedSource,
): Promise<Map<number, Omit<ClaimLine, 'index'>>> {
  const wanted = new Set(indicesOf(chunk.ranges));
  const users = new Map<number, Omit<ClaimLine, 'index'>>();
  const read = await readFileSource(
    { path: source.path, format: source.format, mapping: source.mapping },
    (record, index) => {
      if (wanted.has(index) && 'user' in record) users.set(index, { user: record.user });
    },
  );
  if (read.sha256 !== source.sha256) {
    throw ApplicationFailure.nonRetryable(
      `the source ${source.path} changed during the run (SHA-256 ${read.sha256.slice(0, 12)}…, planned ${source.sha256.slice(0, 12)}…): start a new run`,
      FailureType.SourceChanged,
    );
  }
  return users;
}

/** The records of a chunk, from its claim (file sources) or the inline users. */
export async function chunkEntries(tenant: string, source: ChunkSource, chunk: ChunkDescriptor): Promise<Entry[]> {
  let lineAt: (index: number) => Partial<Omit<ClaimLine, 'index'>> | undefined;
  if (source.kind === 'file') {
    const users = await claimedUsers(chunk, source);
    lineAt = (index) => users.get(index);
  } else {
    lineAt = (index) => ({ user: source.users[index - source.offset] as Record<string, unknown> | undefined });
  }
  return indicesOf(chunk.ranges).map((index) => {
    const { user, writes, match } = lineAt(index) ?? {};
    const userName = userNameOf(user);
    if (!user || !userName) {
      throw source.kind === 'file'
        ? ApplicationFailure.nonRetryable(
            `record ${index + 1} is not among the users stored for chunk ${chunk.id}`,
            FailureType.PlanUnavailable,
          )
        : ApplicationFailure.nonRetryable(
            `record ${index + 1} of the source is not the valid user it was when planned`,
            FailureType.SourceChanged,
          );
    }
    return {
      index,
      userName,
      bulkId: bulkIdFor(tenant, userName),
      user,
      ...(writes ? { writes } : {}),
      ...(match ? { match } : {}),
    };
  });
}

export function createProvisioningActivities(deps: ActivityDeps) {
  return {
    /**
     * Reads the source, maps every record, resolves CXone names to ids (reading the tenant's lists
     * once, as needed), validates against the discovered schemas, and packs Bulk requests.
     */
    async planProvisioning(input: PlanInput): Promise<ProvisionPlan> {
      return asActivity(() =>
        heartbeating(() =>
          planProvisioning(
            input,
            new TenantFitter(deps, input.tenant, input.model),
            providerFinder(scimClientFor(deps, input.tenant), input.model.endpoint),
          ),
        ),
      );
    },

    /** Page `page` (1-based) of a plan's stored chunk descriptors. */
    async readChunkPage(input: { index: ClaimRef; page: number }): Promise<ChunkDescriptor[]> {
      return asActivity(() => readChunkPage(input.index, input.page));
    },
  };
}
