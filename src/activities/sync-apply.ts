// Activities of syncUsers (job 3), applying: one slice of a stored plan (plan-claims.ts), its
// writes made so that a retry after a crash repeats none, and journalled for undoRun.
import { Context } from '@temporalio/activity';
import { ScimHttpError, type ScimClient, type TenantDialect } from '../http';
import { filterString } from '../scim/filter';
import { countActions, type ActionCounts, type PlannedChange, type SyncAction } from '../scim/reconcile';
import { mergedForPut, patchRequest, removedBy, type PatchOperation } from '../scim/patch';
import type { ActivityDeps } from './deps';
import { dialectFor, scimClientFor } from './deps';
import { patchOrPut as patchOrPutVia } from './provider/patch-or-put';
import type { ClaimRef } from './claims/claim-store';
import { readPlanFile, readPlanSlice, sliceRefAt } from './claims/plan-claims';
import { tracing, type HttpCall } from './sync-review';
import { writtenValues, type JournalEntry } from '../scim/undo';
import { storeSliceJournal } from './claims/journal';
import { isTransientFailure } from './provider/existing-user';

/** `writes`: creates, updates, reactivations; `removals`: deactivations or deletes (after any approval). */
export type SyncPhase = 'writes' | 'removals';

/** One planned write, as stored in the plan's slices (creates and updates carry the source's user). */
export interface StoredChange extends PlannedChange {
  user?: Record<string, unknown>;
  /** The provider's values of the attributes the change writes, as planned against (for the run's journal). */
  before?: Record<string, unknown>;
}

interface SliceTarget {
  tenant: string;
  planHash: string;
  /** Position of the slice's first change within its phase. */
  from: number;
  endpoint: string;
  patchSupported: boolean;
  maxReported: number;
  /** Record each HTTP request (method, path, status) in the tally: provision on demand only. */
  trace?: boolean;
}

export interface ApplySliceInput extends SliceTarget {
  phase: SyncPhase;
  /**
   * The stored slice: the phase's changes from position `from` on, in plan order; or, for a phase
   * listed in an index claim, the slice at `position` of that index.
   */
  slice: ClaimRef | { index: ClaimRef; position: number };
  /** The run's latest journals before this slice: this slice's journal names them (undo follows the chain). */
  previousJournals?: ClaimRef[];
}

/** A slice of a run planned by an earlier build: its whole plan in a file, the phase as actions, [from, to) (history-compat: sync-plan-file). */
export interface ApplyPlanFileSliceInput extends SliceTarget {
  planFile: string;
  actions: SyncAction[];
  to: number;
}

export interface SyncFailure {
  action: SyncAction;
  /** The provider's userName; for a write that renames, `old → new` (the source's). */
  userName?: string;
  id?: string;
  status?: number;
  detail: string;
}

export interface SliceTally {
  done: ActionCounts;
  failed: number;
  failures: SyncFailure[];
  /** Writes already made by an earlier attempt of this slice (found on resume, not repeated). */
  alreadyApplied: number;
  /** HTTP requests this slice made. */
  requests: number;
  /** With `trace`: each request and its answer. */
  http?: HttpCall[];
  /** The writes this slice made, before and after, stored next to the plan (undoRun reads it). */
  journal?: ClaimRef;
}

/** What a change wrote, for its journal: the source's values of the attributes it touched, as its operations set them. */
function journalEntryOf(change: StoredChange, appliedAt: string, createdId?: string): JournalEntry | undefined {
  const base = { ...(change.userName ? { userName: change.userName } : {}), appliedAt };
  switch (change.action) {
    case 'create': {
      const id = createdId ?? change.id;
      return {
        ...(id ? { id } : {}),
        ...base,
        operation: 'create',
        before: {},
        after: { active: change.user?.active ?? true },
      };
    }
    case 'deactivate':
      return {
        id: change.id,
        ...base,
        operation: 'deactivate',
        before: change.before ?? { active: true },
        // A source record's deactivation may change more than `active`.
        after: change.changes ? writtenValues(change.changes, { ...change.user, active: false }) : { active: false },
      };
    case 'delete':
      return { id: change.id, ...base, operation: 'delete', before: {}, after: {} };
    case 'update':
    case 'reactivate': {
      const after = writtenValues(change.changes ?? [], change.user ?? {});
      const before = change.before ?? Object.fromEntries(Object.keys(after).map((k) => [k, null]));
      return { id: change.id, ...base, operation: change.action, before, after };
    }
    default:
      return undefined;
  }
}

/** One planned write, made so that doing it again after a crash changes nothing twice. */
async function applyChange(
  client: ScimClient,
  dialect: TenantDialect,
  input: SliceTarget,
  change: StoredChange,
  resumed: boolean,
  tally: SliceTally,
): Promise<string | undefined> {
  const path = `${input.endpoint}/${encodeURIComponent(change.id ?? '')}`;
  /** PATCH with the planned operations, or, without PATCH (announced or learnt), PUT of the current resource overlaid with `desired`. */
  const patchOrPut = (ops: PatchOperation[], desired: Record<string, unknown>) =>
    patchOrPutVia(
      dialect,
      input.patchSupported,
      () => {
        tally.requests++;
        return client.patch(path, patchRequest(ops));
      },
      async () => {
        tally.requests += 2;
        const current = await client.get<Record<string, unknown>>(path);
        const put = mergedForPut(desired, current.body, removedBy(ops));
        await client.put(path, put, current.etag ? { ifMatch: current.etag } : {});
      },
    );
  switch (change.action) {
    case 'create': {
      tally.requests++;
      try {
        const created = await client.post<{ id?: unknown }>(input.endpoint, change.user);
        if (typeof created.body?.id === 'string') return created.body.id;
      } catch (err) {
        // A create that an earlier attempt made (answer lost before the heartbeat): verified, not repeated.
        if (
          !(
            err instanceof ScimHttpError &&
            err.status === 409 &&
            resumed &&
            (await exists(client, input.endpoint, change.userName, tally))
          )
        )
          throw err;
        tally.alreadyApplied++;
      }
      return;
    }
    case 'update':
      await patchOrPut(change.changes ?? [], change.user ?? {});
      return;
    case 'reactivate':
      await patchOrPut(change.changes ?? [], { ...change.user, active: true });
      return;
    case 'deactivate': {
      if (resumed) {
        tally.requests++;
        const current = await client.get<{ active?: unknown }>(path, { query: { attributes: 'active' } });
        if (current.body?.active === false) {
          tally.alreadyApplied++;
          return;
        }
      }
      // An orphan's deactivation changes `active` only; a source record's, what its record changes too.
      if (change.changes) await patchOrPut(change.changes, { ...change.user, active: false });
      else await patchOrPut([{ op: 'replace', path: 'active', value: false }], { active: false });
      return;
    }
    case 'delete':
      tally.requests++;
      try {
        await client.delete(path);
      } catch (err) {
        if (!(err instanceof ScimHttpError && err.status === 404)) throw err;
        tally.alreadyApplied++; // gone already
      }
      return;
    default:
      return;
  }
}

async function exists(
  client: ScimClient,
  endpoint: string,
  userName: string | undefined,
  tally: SliceTally,
): Promise<boolean> {
  if (!userName) return false;
  tally.requests++;
  const found = await client.get<{ Resources?: Array<{ userName?: unknown }> }>(endpoint, {
    query: { filter: `userName eq ${filterString(userName)}`, attributes: 'userName' },
  });
  return (
    (found.body?.Resources ?? []).filter((r) => String(r.userName ?? '').toLowerCase() === userName.toLowerCase())
      .length === 1
  );
}

/** Who a failure is about: the provider's userName, and the source's too when the write renames (`ana@old → ana@new`). */
function failedUserName(change: StoredChange): string | undefined {
  const wanted = typeof change.user?.userName === 'string' ? change.user.userName : undefined;
  if (wanted === undefined || change.userName === undefined) return change.userName ?? wanted;
  return wanted.toLowerCase() === change.userName.toLowerCase() ? change.userName : `${change.userName} → ${wanted}`;
}

/**
 * Applies changes [from, to) of one phase. Heartbeats its position: a retry after a crash resumes
 * there, and checks what may already have been done instead of repeating it.
 */
export async function applySyncSlice(
  deps: ActivityDeps,
  input: ApplySliceInput | ApplyPlanFileSliceInput,
): Promise<SliceTally> {
  const context = Context.current();
  const sliceRef =
    'slice' in input
      ? 'sha256' in input.slice
        ? input.slice
        : await sliceRefAt(input.slice.index, input.slice.position)
      : undefined;
  const phase =
    'slice' in input
      ? await readPlanSlice<StoredChange>(
          sliceRef as ClaimRef,
          input,
          `slice ${input.from}… of the ${input.phase} of sync plan ${input.planHash.slice(0, 12)}`,
        )
      : // A run planned by an earlier build reads its whole plan file (history-compat: sync-plan-file).
        readPlanFile<StoredChange>(input.planFile, input.planHash, 'the sync plan')
          .filter((c) => input.actions.includes(c.action))
          .slice(input.from, input.to);
  const resumedFrom = context.info.heartbeatDetails as
    | { next: number; tally: SliceTally; failedAt?: number[] }
    | undefined;
  const tally: SliceTally = resumedFrom?.tally ?? {
    done: countActions([]),
    failed: 0,
    failures: [],
    alreadyApplied: 0,
    requests: 0,
  };
  // Heartbeats are throttled, so a retry may find writes past the recorded position already made:
  // every change of a retried attempt is checked (or idempotent) rather than blindly repeated.
  const resumed = context.info.attempt > 1;
  if (input.trace) tally.http ??= [];
  const client =
    input.trace && tally.http
      ? tracing(scimClientFor(deps, input.tenant), tally.http)
      : scimClientFor(deps, input.tenant);
  // The journal: changes an earlier attempt made (up to its recorded position, less its failures) are
  // recorded again from the plan (a create's id is then found again by userName when undone).
  const failedAt = resumedFrom?.failedAt ?? [];
  const resumedAt = new Date().toISOString();
  const journal: JournalEntry[] = [];
  for (let i = 0; i < (resumedFrom?.next ?? 0); i++) {
    const entry = failedAt.includes(i) ? undefined : journalEntryOf(phase[i], resumedAt);
    if (entry) journal.push(entry);
  }
  for (let i = resumedFrom?.next ?? 0; i < phase.length; i++) {
    const change = phase[i];
    try {
      const createdId = await applyChange(client, dialectFor(deps, input.tenant), input, change, resumed, tally);
      tally.done[change.action]++;
      const entry = journalEntryOf(change, new Date().toISOString(), createdId);
      if (entry) journal.push(entry);
    } catch (err) {
      // 429, 5xx and network errors fail the activity: it is retried (until the run's deadline) from here.
      if (isTransientFailure(err)) throw err;
      const status = err instanceof ScimHttpError ? err.status : undefined;
      tally.failed++;
      failedAt.push(i);
      if (tally.failures.length < input.maxReported) {
        tally.failures.push({
          action: change.action,
          userName: failedUserName(change),
          id: change.id,
          ...(status ? { status } : {}),
          detail: (err as Error).message,
        });
      }
    }
    // A copy: the SDK sends the latest details later, and the tally must match `next` exactly.
    context.heartbeat({ next: i + 1, tally: structuredClone(tally), failedAt: [...failedAt] });
  }
  // A run planned by an earlier build (its plan in a file) keeps no journal.
  if (sliceRef && 'slice' in input && journal.length > 0) {
    tally.journal = await storeSliceJournal(sliceRef, {
      tenant: input.tenant,
      endpoint: input.endpoint,
      planHash: input.planHash,
      phase: input.phase,
      from: input.from,
      entries: journal,
      ...(input.previousJournals?.length ? { previous: input.previousJournals } : {}),
    });
  }
  return tally;
}
