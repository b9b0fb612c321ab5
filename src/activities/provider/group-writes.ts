// The writes of syncGroups: per group, create (POST /Groups), rename and change memberships with
// RFC 7644 PATCH in bounded slices (`add` members, `remove` by `members[value eq "id"]` only), PUT
// only where the provider has no PATCH; then re-read the group's membership once and report
// every change the provider answered 2xx to but did not apply. What it applied is journaled (per
// slice, in the claim store next to the plan) for `cxone-scim undo`.
import { Context } from '@temporalio/activity';
import { ScimHttpError, type ScimClient, type TenantDialect } from '../../http';
import { filterString } from '../../scim/filter';
import {
  addMembersOperation,
  assertFilteredRemovals,
  removeMemberOperation,
  slices,
  type GroupChange,
} from '../../scim/group-reconcile';
import { patchRequest, type PatchOperation } from '../../scim/patch';
import { URN } from '../../scim/urns';
import { dialectFor, scimClientFor, type ActivityDeps } from '../deps';
import { patchAllowed, patchOrPut } from './patch-or-put';
import type { GroupJournalEntry } from '../../scim/undo';
import type { ClaimRef } from '../claims/claim-store';
import { readJournal, storeSliceJournal } from '../claims/journal';
import { readPlanFile, readPlanSlice } from '../claims/plan-claims';

export interface ApplyGroupsInput {
  tenant: string;
  planHash: string;
  /** `writes` (create / update) or `removals` (empty / delete / the removals of updates). */
  phase: GroupPhase;
  /** The stored slice: the phase's groups from position `from` on, in plan order. */
  slice?: ClaimRef;
  /** Instead of `slice`, for a run planned by an earlier build: its whole plan in a file on its worker, groups [from, to) (history-compat: sync-plan-file). */
  planFile?: string;
  to?: number;
  from: number;
  groupsEndpoint: string;
  patchSupported: boolean;
  memberSliceSize: number;
  maxReported: number;
}

export interface GroupFailure {
  group: string;
  id?: string;
  status?: number;
  detail: string;
}

export interface GroupTally {
  groups: number;
  created: number;
  renamed: number;
  deleted: number;
  membersAdded: number;
  membersRemoved: number;
  failed: number;
  failures: GroupFailure[];
  requests: number;
  /** The journal of what the slice applied (absent when nothing, or for a plan file of an earlier build). */
  journal?: ClaimRef;
}

export type GroupPhase = 'writes' | 'removals';

/** The changes of a phase, in plan order: writes add (create, rename, add members), removals take away. */
export function phaseChanges(changes: readonly GroupChange[], phase: GroupPhase): GroupChange[] {
  if (phase === 'writes')
    return changes.filter(
      (c) => c.action === 'create' || (c.action === 'update' && (c.add.length > 0 || c.rename !== undefined)),
    );
  return changes.filter(
    (c) => c.action === 'empty' || c.action === 'delete' || (c.action === 'update' && c.remove.length > 0),
  );
}

/** A group's current member user ids, in one read of its `members` only. */
export async function readMembers(
  client: ScimClient,
  groupsEndpoint: string,
  id: string,
  counter: { requests: number },
): Promise<Set<string>> {
  counter.requests++;
  const got = await client.get<{ members?: Array<{ value?: unknown; type?: unknown }> }>(
    `${groupsEndpoint}/${encodeURIComponent(id)}`,
    // Only what membership needs: a 100 000-member group read in full is each member's $ref and display too.
    { query: { attributes: 'members.value,members.type' } },
  );
  return new Set(
    (got.body?.members ?? []).filter((m) => m.type === undefined || m.type === 'User').map((m) => String(m.value)),
  );
}

/** 429, 5xx and network errors — but not a 5xx this request got identically while the tenant answered others. */
const isTransient = (err: unknown) =>
  !(err instanceof ScimHttpError) || err.status === 429 || (err.status >= 500 && !err.persistent);

async function sendPatch(
  client: ScimClient,
  groupPath: string,
  ops: PatchOperation[],
  tally: GroupTally,
): Promise<void> {
  assertFilteredRemovals(ops);
  tally.requests++;
  await client.patch(groupPath, patchRequest(ops), { query: { attributes: 'id' } });
}

/** A group a lost answer may already have created: found by displayName, verified, never guessed. */
async function existingGroup(
  client: ScimClient,
  endpoint: string,
  displayName: string,
  tally: GroupTally,
): Promise<string | undefined> {
  tally.requests++;
  const found = await client.get<{ Resources?: Array<{ id?: unknown; displayName?: unknown }> }>(endpoint, {
    query: { filter: `displayName eq ${filterString(displayName)}`, attributes: 'id,displayName' },
  });
  const same = (found.body?.Resources ?? []).filter(
    (r) => String(r.displayName ?? '').toLowerCase() === displayName.toLowerCase(),
  );
  return same.length === 1 ? String(same[0].id) : undefined;
}

/** Without PATCH: the whole group, read, changed and replaced (ETag-guarded when the provider has them). */
async function putGroup(
  client: ScimClient,
  groupPath: string,
  change: GroupChange,
  phase: 'writes' | 'removals',
  tally: GroupTally,
): Promise<void> {
  tally.requests += 2;
  const current = await client.get<Record<string, unknown>>(groupPath);
  const members = new Set(
    ((current.body?.members as Array<{ value?: unknown }> | undefined) ?? []).map((m) => String(m.value)),
  );
  if (phase === 'writes') change.add.forEach((id) => members.add(id));
  else change.remove.forEach((id) => members.delete(id));
  const { meta: _meta, ...rest } = current.body ?? {};
  const body = {
    ...rest,
    schemas: [URN.Group],
    ...(phase === 'writes' && change.rename ? { displayName: change.rename } : {}),
    members: [...members].sort().map((value) => ({ value })),
  };
  await client.put(groupPath, body, current.etag ? { ifMatch: current.etag } : {});
}

/** One group's changes of the phase; returns the group id (new for a create). */
async function applyGroup(
  client: ScimClient,
  dialect: TenantDialect,
  input: ApplyGroupsInput,
  change: GroupChange,
  resumed: boolean,
  tally: GroupTally,
  /** Filled with the group's name before a rename (read just before it), for the journal. */
  observed: { renamedFrom?: string } = {},
): Promise<string | undefined> {
  const endpoint = input.groupsEndpoint;
  const pathOf = (id: string) => `${endpoint}/${encodeURIComponent(id)}`;
  const size = input.memberSliceSize;
  if (input.phase === 'writes') {
    let id = change.id;
    let toAdd = change.add;
    if (change.action === 'create') {
      id = resumed ? await existingGroup(client, endpoint, change.displayName, tally) : undefined;
      if (!id) {
        // The first slice rides on the POST; without PATCH every member must.
        const first = patchAllowed(input.patchSupported, dialect) ? toAdd.slice(0, size) : toAdd;
        tally.requests++;
        // `attributes=id` (RFC 7644 §3.9): the answer need not echo every member back.
        const created = await client.post<{ id?: unknown }>(
          endpoint,
          {
            schemas: [URN.Group],
            displayName: change.displayName,
            ...(change.externalId ? { externalId: change.externalId } : {}),
            ...(first.length > 0 ? { members: first.map((value) => ({ value })) } : {}),
          },
          { query: { attributes: 'id' } },
        );
        if (typeof created.body?.id !== 'string')
          throw new Error(`POST ${endpoint} answered without an id for group "${change.displayName}"`);
        id = created.body.id;
        toAdd = toAdd.slice(first.length);
        tally.created++;
      }
    }
    if (!id) return undefined;
    const groupId = id;
    if (change.rename && change.renamedFrom !== undefined) {
      // The name the planner saw: what the journal records, even when a retried attempt finds the rename done.
      if (change.renamedFrom !== change.rename) observed.renamedFrom = change.renamedFrom;
    } else if (change.rename) {
      // A plan by an earlier build holds the new name only: the old one is read for the journal.
      tally.requests++;
      const named = await client.get<{ displayName?: unknown }>(pathOf(groupId), {
        query: { attributes: 'displayName' },
      });
      const before = named.body?.displayName;
      if (typeof before === 'string' && before !== change.rename) observed.renamedFrom = before;
    }
    if (toAdd.length > 0 || change.rename)
      // Adds and a rename are idempotent: after a refused PATCH, one PUT of the whole group redoes them all.
      await patchOrPut(
        dialect,
        input.patchSupported,
        async () => {
          if (change.rename)
            await sendPatch(
              client,
              pathOf(groupId),
              [{ op: 'replace', path: 'displayName', value: change.rename }],
              tally,
            );
          for (const slice of slices(toAdd, size))
            await sendPatch(client, pathOf(groupId), [addMembersOperation(slice)], tally);
        },
        () => putGroup(client, pathOf(groupId), { ...change, add: toAdd }, 'writes', tally),
      );
    if (change.rename) tally.renamed++;
    return id;
  }
  const id = change.id as string;
  if (change.action === 'delete') {
    tally.requests++;
    try {
      await client.delete(pathOf(id));
    } catch (err) {
      if (!(err instanceof ScimHttpError && err.status === 404)) throw err; // gone already
    }
    tally.deleted++;
    return undefined;
  }
  await patchOrPut(
    dialect,
    input.patchSupported,
    async () => {
      // A retried attempt may have removed some already; a filter matching nothing can be a 400 noTarget.
      const present = resumed ? await readMembers(client, endpoint, id, tally) : undefined;
      const remove = present ? change.remove.filter((member) => present.has(member)) : change.remove;
      for (const slice of slices(remove, size))
        await sendPatch(client, pathOf(id), slice.map(removeMemberOperation), tally);
    },
    () => putGroup(client, pathOf(id), change, 'removals', tally),
  );
  return id;
}

/** Re-reads the group once and counts what the provider applied; what it did not is a failure. */
async function verify(
  client: ScimClient,
  input: ApplyGroupsInput,
  change: GroupChange,
  id: string,
  tally: GroupTally,
): Promise<string[]> {
  const expected = input.phase === 'writes' ? change.add : change.remove;
  if (expected.length === 0) return [];
  const now = await readMembers(client, input.groupsEndpoint, id, tally);
  const missed = expected.filter((member) => (input.phase === 'writes' ? !now.has(member) : now.has(member)));
  if (input.phase === 'writes') tally.membersAdded += expected.length - missed.length;
  else tally.membersRemoved += expected.length - missed.length;
  const applied = expected.filter((member) => !missed.includes(member));
  if (missed.length === 0) return applied;
  tally.failed += missed.length;
  const verb = input.phase === 'writes' ? 'add' : 'remove';
  fail(tally, input.maxReported, {
    group: change.displayName,
    id,
    detail: `the provider accepted but did not apply ${missed.length} of ${expected.length} member ${verb}s (${missed.slice(0, 5).join(', ')}${missed.length > 5 ? ', …' : ''})`,
  });
  return applied;
}

/** What a group's changes of the phase did, for the run's journal (undefined: nothing). */
function journalEntryOf(
  phase: GroupPhase,
  change: GroupChange,
  id: string | undefined,
  applied: string[],
  renamedFrom: string | undefined,
): GroupJournalEntry | undefined {
  const groupId = id ?? change.id;
  if (!groupId) return undefined;
  const renamed = phase === 'writes' && renamedFrom !== undefined;
  const operation =
    change.action === 'create' || change.action === 'delete' || change.action === 'empty' ? change.action : 'update';
  if (operation !== 'create' && operation !== 'delete' && !renamed && applied.length === 0) return undefined;
  return {
    kind: 'group',
    id: groupId,
    displayName: change.rename ?? change.displayName,
    operation,
    ...(renamed ? { renamedFrom } : {}),
    added: phase === 'writes' ? applied : [],
    removed: phase === 'removals' ? applied : [],
    appliedAt: new Date().toISOString(),
  };
}

function fail(tally: GroupTally, maxReported: number, failure: GroupTally['failures'][number]): void {
  if (tally.failures.length < maxReported) tally.failures.push(failure);
}

/**
 * Applies the phase's groups [from, to). Heartbeats after each group: a retry resumes at the next
 * one, and re-checks a create that a lost answer may already have made. Adds and filtered
 * removes are idempotent, so a group interrupted half-way is simply redone.
 */
export async function applyGroupChanges(deps: ActivityDeps, input: ApplyGroupsInput): Promise<GroupTally> {
  const context = Context.current();
  const changes = input.slice
    ? await readPlanSlice<GroupChange>(
        input.slice,
        input,
        `groups ${input.from}… of the ${input.phase} of group plan ${input.planHash.slice(0, 12)}`,
      )
    : // A run planned by an earlier build reads its whole plan file (history-compat: sync-plan-file).
      phaseChanges(
        readPlanFile<GroupChange>(input.planFile ?? '', input.planHash, 'the group plan'),
        input.phase,
      ).slice(input.from, input.to);
  const resumedFrom = context.info.heartbeatDetails as { next: number; tally: GroupTally } | undefined;
  // The journal so far: the entries of the groups an earlier attempt applied (its heartbeat names them).
  const journal: GroupJournalEntry[] = resumedFrom?.tally.journal
    ? ((await readJournal(resumedFrom.tally.journal)).entries as GroupJournalEntry[])
    : [];
  const tally: GroupTally = resumedFrom?.tally ?? {
    groups: 0,
    created: 0,
    renamed: 0,
    deleted: 0,
    membersAdded: 0,
    membersRemoved: 0,
    failed: 0,
    failures: [],
    requests: 0,
  };
  const resumed = context.info.attempt > 1;
  const client = scimClientFor(deps, input.tenant);
  const dialect = dialectFor(deps, input.tenant);
  for (let i = resumedFrom?.next ?? 0; i < changes.length; i++) {
    const change = changes[i];
    try {
      const observed: { renamedFrom?: string } = {};
      const id = await applyGroup(client, dialect, input, change, resumed, tally, observed);
      const applied = id ? await verify(client, input, change, id, tally) : [];
      tally.groups++;
      const entry = journalEntryOf(input.phase, change, id, applied, observed.renamedFrom);
      if (entry && input.slice) {
        journal.push(entry);
        tally.journal = await storeSliceJournal(input.slice, {
          tenant: input.tenant,
          endpoint: input.groupsEndpoint,
          planHash: input.planHash,
          phase: input.phase,
          from: input.from,
          entries: journal,
        });
      }
    } catch (err) {
      if (isTransient(err)) throw err;
      const status = err instanceof ScimHttpError ? err.status : undefined;
      tally.failed++;
      fail(tally, input.maxReported, {
        group: change.displayName,
        ...(change.id ? { id: change.id } : {}),
        ...(status ? { status } : {}),
        detail: (err as Error).message,
      });
    }
    context.heartbeat({ next: i + 1, tally: structuredClone(tally) });
  }
  return tally;
}
