// Activities of undoRun: plan the compensation of a finished run from the journal its writes left
// in the claim store (claims/journal.ts), and apply one slice of that plan. The plan, like a sync's,
// is stored in slices; history carries counts, the hash, the skipped users and references only.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { FailureType } from '../core/failures';
import { ScimHttpError, type ScimClient } from '../http';
import { canonicalJson } from '../scim/canonical';
import { filterString } from '../scim/filter';
import { mergedForPut, patchRequest } from '../scim/patch';
import {
  planUndo,
  stillAsWritten,
  type JournalEntry,
  type UndoAction,
  type UndoChange,
  type UndoCounts,
  type UndoSkip,
} from '../scim/undo';
import type { ClaimRef } from './claims/claim-store';
import { readJournal, storeOfClaim } from './claims/journal';
import { readPlanSlice, storePlanSlices } from './claims/plan-claims';
import type { ActivityDeps } from './deps';
import { asActivity, dialectFor, scimClientFor } from './deps';
import { patchOrPut } from './provider/patch-or-put';
import { isTransientFailure } from './provider/existing-user';

/** The workflow types whose runs journal their writes, and so can be undone. */
export const UNDOABLE_TYPES = ['syncUsers'] as const;

export interface UndoPlanInput {
  tenant: string;
  workflowId: string;
  runId?: string;
  includeCreated: boolean;
  /** Changes per apply activity. */
  sliceSize: number;
  /** Skipped users named in the summary (all are counted). */
  maxReported: number;
}

export interface UndoPlanSummary {
  /** SHA-256 of the compensation (target run and every change): what an approval names. */
  planHash: string;
  target: { workflowId: string; runId: string; type: string };
  /** The endpoint the run wrote (e.g. `/Users`). */
  endpoint: string;
  /** Writes the run's journal records. */
  journalEntries: number;
  counts: UndoCounts;
  skipped: UndoSkip[];
  slices: ClaimRef[];
  /** Why there is nothing to undo, when there is not. */
  note?: string;
}

export interface UndoSliceInput {
  tenant: string;
  planHash: string;
  from: number;
  slice: ClaimRef;
  endpoint: string;
  patchSupported: boolean;
  maxReported: number;
}

export interface UndoTally {
  done: Record<UndoAction, number>;
  /** Changed again between planning and writing: left alone and named. */
  skipped: UndoSkip[];
  skippedCount: number;
  failed: number;
  failures: Array<{ userName?: string; id?: string; status?: number; detail: string }>;
  alreadyApplied: number;
  requests: number;
}

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, FailureType.InvalidSyncInput);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The finished run `workflowId` (its latest run, or `runId`): its type, run id and result. */
async function finishedRun(deps: ActivityDeps, tenant: string, workflowId: string, runId?: string) {
  const client = deps.temporal?.client;
  if (!client) throw new Error('this worker has no Temporal client: undoRun needs one to read the run it undoes');
  const handle = client.workflow.getHandle(workflowId, runId);
  let described: Awaited<ReturnType<typeof handle.describe>>;
  try {
    described = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw invalid(`no run ${workflowId}${runId ? ` (run ${runId})` : ''} is known to Temporal`);
    throw err;
  }
  if (!(UNDOABLE_TYPES as readonly string[]).includes(described.type))
    throw invalid(`${workflowId} is a ${described.type} run: only ${UNDOABLE_TYPES.join(', ')} runs can be undone`);
  if (described.status.name !== 'COMPLETED')
    throw invalid(`${workflowId} is ${described.status.name}: only a run that completed can be undone`);
  const result = (await client.workflow.getHandle(workflowId, described.runId).result()) as {
    tenant?: unknown;
    journals?: ClaimRef[];
  };
  // Never write to a tenant the run did not write to.
  if (result?.tenant !== tenant) throw invalid(`${workflowId} ran for tenant ${String(result?.tenant)}, not ${tenant}`);
  return { type: described.type, runId: described.runId, journals: result.journals ?? [] };
}

/** The provider's user now: by id, or (a create recorded without its id) by userName; undefined when gone. */
async function currentUser(
  client: ScimClient,
  endpoint: string,
  entry: Pick<JournalEntry, 'id' | 'userName'>,
): Promise<Record<string, unknown> | undefined> {
  if (entry.id) {
    try {
      return (await client.get<Record<string, unknown>>(`${endpoint}/${encodeURIComponent(entry.id)}`)).body;
    } catch (err) {
      if (err instanceof ScimHttpError && err.status === 404) return undefined;
      throw err;
    }
  }
  if (!entry.userName) return undefined;
  const found = await client.get<{ Resources?: Array<Record<string, unknown>> }>(endpoint, {
    query: { filter: `userName eq ${filterString(entry.userName)}` },
  });
  const wanted = entry.userName.toLowerCase();
  const matches = (found.body?.Resources ?? []).filter((r) => String(r.userName ?? '').toLowerCase() === wanted);
  return matches.length === 1 ? matches[0] : undefined;
}

/** Users read at once while planning. */
const PARALLEL_READS = 8;

/** Reads the run's journal and the provider's users now; stores the compensating plan's slices. */
export async function planUndoRun(deps: ActivityDeps, input: UndoPlanInput): Promise<UndoPlanSummary> {
  const run = await finishedRun(deps, input.tenant, input.workflowId, input.runId);
  const target = { workflowId: input.workflowId, runId: run.runId, type: run.type };
  const entries: JournalEntry[] = [];
  let endpoint = '/Users';
  for (const ref of run.journals) {
    const journal = await readJournal(ref);
    if (journal.workflowId !== input.workflowId || journal.runId !== run.runId || journal.tenant !== input.tenant)
      throw ApplicationFailure.nonRetryable(
        `the journal at ${ref.location} belongs to run ${journal.workflowId}/${journal.runId} of ${journal.tenant}, not to ${input.workflowId}/${run.runId}`,
        FailureType.PlanUnavailable,
      );
    endpoint = journal.endpoint;
    entries.push(...journal.entries);
  }
  const client = scimClientFor(deps, input.tenant);
  const current = new Map<JournalEntry, Record<string, unknown> | undefined>();
  let next = 0;
  const reader = async () => {
    while (next < entries.length) {
      const entry = entries[next++];
      current.set(entry, await currentUser(client, endpoint, entry));
      Context.current().heartbeat({ read: current.size });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, entries.length) }, reader));
  const plan = planUndo(entries, (e) => current.get(e), { includeCreated: input.includeCreated });
  const planHash = sha256(canonicalJson({ tenant: input.tenant, target, changes: plan.changes }));
  const slices =
    run.journals.length > 0 && plan.changes.length > 0
      ? (await storePlanSlices(storeOfClaim(run.journals[0]), planHash, { writes: plan.changes }, input.sliceSize))
          .writes
      : [];
  return {
    planHash,
    target,
    endpoint,
    journalEntries: entries.length,
    counts: plan.counts,
    skipped: plan.skipped.slice(0, input.maxReported),
    slices,
    ...(run.journals.length === 0
      ? { note: 'the run recorded no writes (a dry run, nothing to change, or a build from before journals)' }
      : {}),
  };
}

/**
 * Applies one slice of an undo plan. Each user is read again first: one changed since planning is
 * skipped and named; one that already holds the value restored (an earlier attempt) is not written again.
 */
export async function applyUndoSlice(deps: ActivityDeps, input: UndoSliceInput): Promise<UndoTally> {
  const context = Context.current();
  const changes = await readPlanSlice<UndoChange>(
    input.slice,
    { planHash: input.planHash, phase: 'writes', from: input.from },
    `slice ${input.from}… of undo plan ${input.planHash.slice(0, 12)}`,
  );
  const resumedFrom = context.info.heartbeatDetails as { next: number; tally: UndoTally } | undefined;
  const tally: UndoTally = resumedFrom?.tally ?? {
    done: { reactivate: 0, restore: 0, 'deactivate-created': 0 },
    skipped: [],
    skippedCount: 0,
    failed: 0,
    failures: [],
    alreadyApplied: 0,
    requests: 0,
  };
  const client = scimClientFor(deps, input.tenant);
  const dialect = dialectFor(deps, input.tenant);
  for (let i = resumedFrom?.next ?? 0; i < changes.length; i++) {
    const change = changes[i];
    const path = `${input.endpoint}/${encodeURIComponent(change.id)}`;
    try {
      tally.requests++;
      const now = await currentUser(client, input.endpoint, { id: change.id });
      const holds = (values: Record<string, unknown>) =>
        now !== undefined &&
        Object.entries(values).every(([name, value]) => {
          const key = Object.keys(now).find((k) => k.toLowerCase() === name.toLowerCase());
          const v = key === undefined && name === 'active' ? true : key === undefined ? undefined : now[key];
          return stillAsWritten(v, value, name);
        });
      const restored = Object.fromEntries(
        change.changes.map((op) => [op.path as string, op.op === 'remove' ? null : op.value]),
      );
      if (now && holds(restored)) {
        tally.alreadyApplied++;
      } else if (!now || !holds(change.expected)) {
        tally.skippedCount++;
        if (tally.skipped.length < input.maxReported)
          tally.skipped.push({
            ...(change.userName ? { userName: change.userName } : {}),
            id: change.id,
            operation: change.action === 'reactivate' ? 'deactivate' : 'update',
            reason: now ? 'changed again between planning and writing' : 'no longer exists at the provider',
          });
      } else {
        await patchOrPut(
          dialect,
          input.patchSupported,
          () => {
            tally.requests++;
            return client.patch(path, patchRequest(change.changes));
          },
          async () => {
            tally.requests += 2;
            const current = await client.get<Record<string, unknown>>(path);
            await client.put(
              path,
              mergedForPut(change.desired, current.body),
              current.etag ? { ifMatch: current.etag } : {},
            );
          },
        );
        tally.done[change.action]++;
      }
    } catch (err) {
      // 429, 5xx and network errors fail the activity: it is retried (until the run's deadline) from here.
      if (!(err instanceof ScimHttpError) || isTransientFailure(err)) throw err;
      tally.failed++;
      if (tally.failures.length < input.maxReported)
        tally.failures.push({
          ...(change.userName ? { userName: change.userName } : {}),
          id: change.id,
          status: err.status,
          detail: err.message,
        });
    }
    context.heartbeat({ next: i + 1, tally: structuredClone(tally) });
  }
  return tally;
}

export function createUndoActivities(deps: ActivityDeps) {
  return {
    /** Reads a finished run's journal and the provider's users now; stores the compensating plan. */
    planUndoRun: (input: UndoPlanInput) => asActivity(() => planUndoRun(deps, input)),
    /** Applies one slice of an undo plan, checking each user again first. */
    applyUndoSlice: (input: UndoSliceInput) => asActivity(() => applyUndoSlice(deps, input)),
  };
}
