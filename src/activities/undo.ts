// Activities of undoRun: plan the compensation of a finished run from the journal its writes left
// in the claim store (claims/journal.ts), and apply one slice of that plan. The plan, like a sync's,
// is stored in slices; history carries counts, the hash, the skipped users and references only.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { FailureType } from '../core/failures';
import { ScimHttpError, type ScimClient } from '../http';
import { CxoneAdmin } from '../http/cxone-admin';
import { employeeOf, NICE_USER_EXTENSION } from '../scim/assignments';
import { canonicalJson } from '../scim/canonical';
import { filterString } from '../scim/filter';
import { addMembersOperation, removeMemberOperation, slices as inSlices } from '../scim/group-reconcile';
import { mergedForPut, patchRequest, userPatchOperations, type PatchOperation } from '../scim/patch';
import { URN } from '../scim/urns';
import {
  isAssignmentEntry,
  isGroupEntry,
  isUserEntry,
  planAssignmentUndo,
  planGroupUndo,
  planUndo,
  stillAsWritten,
  type AnyUndoChange,
  type AssignmentUndoChange,
  type CurrentGroup,
  type GroupUndoChange,
  type JournalEntry,
  type RunJournalEntry,
  type UndoAction,
  type UndoChange,
  type UndoCounts,
  type UndoPlan,
  type UndoSkip,
  type UndoSubject,
} from '../scim/undo';
import type { ClaimRef } from './claims/claim-store';
import { readRunJournals, storeOfClaim } from './claims/journal';
import { readPlanSlice, storePlanSlices } from './claims/plan-claims';
import type { ActivityDeps } from './deps';
import { asActivity, dialectFor, scimClientFor } from './deps';
import { patchOrPut } from './provider/patch-or-put';
import { isTransientFailure } from './provider/existing-user';

/** The workflow types whose runs journal their writes, and so can be undone; what each writes. */
export const UNDO_SUBJECTS = {
  syncUsers: 'users',
  provisionUsers: 'users',
  syncGroups: 'groups',
  syncAssignments: 'assignments',
} as const satisfies Record<string, UndoSubject>;

export const UNDOABLE_TYPES = Object.keys(UNDO_SUBJECTS) as Array<keyof typeof UNDO_SUBJECTS>;

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
  /** What the run wrote: users, groups, or skills and teams (absent in plans of an earlier build: users). */
  subject?: UndoSubject;
  /** The endpoint the run wrote (e.g. `/Users`, `/Groups`). */
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
  done: Partial<Record<UndoAction, number>>;
  /** Changed again between planning and writing: left alone and named. */
  skipped: UndoSkip[];
  skippedCount: number;
  failed: number;
  failures: Array<{ userName?: string; id?: string; subject?: string; status?: number; detail: string }>;
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
  return {
    type: described.type as keyof typeof UNDO_SUBJECTS,
    runId: described.runId,
    journals: result.journals ?? [],
  };
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

/** Runs `work` over `items`, PARALLEL_READS at once, heartbeating. */
async function readEach<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let read = 0;
  const reader = async () => {
    while (next < items.length) {
      await work(items[next++]);
      Context.current().heartbeat({ read: ++read });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, items.length) }, reader));
}

/** A group now (its name and members), or undefined when it is gone. */
async function currentGroup(client: ScimClient, endpoint: string, id: string): Promise<CurrentGroup | undefined> {
  try {
    const got = await client.get<{ displayName?: unknown; members?: Array<{ value?: unknown; type?: unknown }> }>(
      `${endpoint}/${encodeURIComponent(id)}`,
      { query: { attributes: 'displayName,members' } },
    );
    return {
      ...(typeof got.body?.displayName === 'string' ? { displayName: got.body.displayName } : {}),
      members: new Set(
        (got.body?.members ?? []).filter((m) => m.type === undefined || m.type === 'User').map((m) => String(m.value)),
      ),
    };
  } catch (err) {
    if (err instanceof ScimHttpError && err.status === 404) return undefined;
    throw err;
  }
}

/** The CXone admin API of the tenant (skills), with its path overrides; transient failures fail the activity (retried). */
function adminOf(deps: ActivityDeps, tenant: string, client: ScimClient, counter?: { requests: number }): CxoneAdmin {
  const paths = deps.tenants.get(tenant).cxoneAdminPaths;
  return new CxoneAdmin(client, {
    ...(paths ? { paths } : {}),
    ...(counter ? { onRequest: () => counter.requests++ } : {}),
  });
}

/** An employee's team id now (null: none), or undefined when the employee is gone. */
async function currentTeam(client: ScimClient, userId: string): Promise<string | null | undefined> {
  const user = await currentUser(client, '/Users', { id: userId });
  if (!user || typeof user.id !== 'string') return undefined;
  return employeeOf(user as Record<string, unknown> & { id: string }).team?.value ?? null;
}

/** The compensation of the run's journal against what the provider holds now. */
async function planOf(
  deps: ActivityDeps,
  tenant: string,
  subject: UndoSubject,
  endpoint: string,
  entries: RunJournalEntry[],
  includeCreated: boolean,
): Promise<UndoPlan> {
  const client = scimClientFor(deps, tenant);
  if (subject === 'groups') {
    const groups = entries.filter(isGroupEntry);
    const now = new Map<string, CurrentGroup | undefined>();
    const ids = [...new Set(groups.filter((g) => g.operation !== 'delete').map((g) => g.id))];
    await readEach(ids, async (id) => {
      now.set(id, await currentGroup(client, endpoint, id));
    });
    return planGroupUndo(groups, (id) => now.get(id), { includeCreated });
  }
  if (subject === 'assignments') {
    const assignments = entries.filter(isAssignmentEntry);
    const admin = adminOf(deps, tenant, client);
    const holders = new Map<number, Map<number, number>>();
    const skills = [...new Set(assignments.filter((a) => a.action !== 'set-team').map((a) => a.skillId ?? 0))];
    await readEach(skills, async (skillId) => {
      const agents = await admin.listSkillAgents(skillId);
      holders.set(skillId, new Map(agents.map((a) => [a.agentId, a.proficiency ?? 0])));
    });
    const teams = new Map<string, string | null | undefined>();
    const users = [
      ...new Set(assignments.filter((a) => a.action === 'set-team' && a.userId).map((a) => a.userId as string)),
    ];
    await readEach(users, async (userId) => {
      teams.set(userId, await currentTeam(client, userId));
    });
    return planAssignmentUndo(
      assignments,
      (skillId, agentId) => holders.get(skillId)?.get(agentId),
      (userId) => teams.get(userId),
    );
  }
  const users = entries.filter(isUserEntry);
  const current = new Map<JournalEntry, Record<string, unknown> | undefined>();
  await readEach(users, async (entry) => {
    current.set(entry, await currentUser(client, endpoint, entry));
  });
  return planUndo(users, (e) => current.get(e), { includeCreated });
}

/** Reads the run's journal and what the provider holds now; stores the compensating plan's slices. */
export async function planUndoRun(deps: ActivityDeps, input: UndoPlanInput): Promise<UndoPlanSummary> {
  const run = await finishedRun(deps, input.tenant, input.workflowId, input.runId);
  const target = { workflowId: input.workflowId, runId: run.runId, type: run.type };
  const subject: UndoSubject = UNDO_SUBJECTS[run.type];
  const entries: RunJournalEntry[] = [];
  let endpoint = subject === 'groups' ? '/Groups' : '/Users';
  // A provisionUsers run continues as new: its journals name the run of the parent that wrote them.
  const sameRun = (runId: string) => run.type === 'provisionUsers' || runId === run.runId;
  await readRunJournals(run.journals, (journal, ref) => {
    if (journal.workflowId !== input.workflowId || !sameRun(journal.runId) || journal.tenant !== input.tenant)
      throw ApplicationFailure.nonRetryable(
        `the journal at ${ref.location} belongs to run ${journal.workflowId}/${journal.runId} of ${journal.tenant}, not to ${input.workflowId}/${run.runId}`,
        FailureType.PlanUnavailable,
      );
    if (subject !== 'assignments') endpoint = journal.endpoint;
    entries.push(...journal.entries);
    Context.current().heartbeat({ journalEntries: entries.length });
  });
  const plan = await planOf(deps, input.tenant, subject, endpoint, entries, input.includeCreated);
  const planHash = sha256(canonicalJson({ tenant: input.tenant, target, changes: plan.changes }));
  const slices =
    run.journals.length > 0 && plan.changes.length > 0
      ? (await storePlanSlices(storeOfClaim(run.journals[0]), planHash, { writes: plan.changes }, input.sliceSize))
          .writes
      : [];
  return {
    planHash,
    target,
    subject,
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

/** What one compensating change came to. */
type ChangeOutcome =
  | { kind: 'done'; n: number }
  | { kind: 'already' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; detail: string };

interface ApplyContext {
  deps: ActivityDeps;
  input: UndoSliceInput;
  client: ScimClient;
  tally: UndoTally;
}

/** A user: checked again (still as the run wrote it), then its previous values PATCHed back (PUT where PATCH is refused). */
async function undoUserChange(ctx: ApplyContext, change: UndoChange): Promise<ChangeOutcome> {
  const { input, client, tally } = ctx;
  const path = `${input.endpoint}/${encodeURIComponent(change.id)}`;
  tally.requests++;
  const now = await currentUser(client, input.endpoint, { id: change.id });
  if (!now) return { kind: 'skipped', reason: 'no longer exists at the provider' };
  const holds = (values: Record<string, unknown>) =>
    Object.entries(values).every(([name, value]) => {
      const key = Object.keys(now).find((k) => k.toLowerCase() === name.toLowerCase());
      const v = key === undefined && name === 'active' ? true : key === undefined ? undefined : now[key];
      return stillAsWritten(v, value, name);
    });
  const restored = Object.fromEntries(
    change.changes.map((op) => [op.path as string, op.op === 'remove' ? null : op.value]),
  );
  if (holds(restored)) return { kind: 'already' };
  if (!holds(change.expected)) return { kind: 'skipped', reason: 'changed again between planning and writing' };
  await patchOrPut(
    dialectFor(ctx.deps, input.tenant),
    input.patchSupported,
    () => {
      tally.requests++;
      return client.patch(path, patchRequest(change.changes));
    },
    async () => {
      tally.requests += 2;
      const current = await client.get<Record<string, unknown>>(path);
      await client.put(path, mergedForPut(change.desired, current.body), current.etag ? { ifMatch: current.etag } : {});
    },
  );
  return { kind: 'done', n: 1 };
}

/**
 * A group: read again; members the run added and still there taken out, members it removed and
 * still absent put back, its name set back while it keeps the run's, a group it created deleted
 * while nobody else is in it. PATCH (members by value filter), or one PUT of the whole group.
 */
async function undoGroupChange(ctx: ApplyContext, change: GroupUndoChange): Promise<ChangeOutcome> {
  const { input, client, tally } = ctx;
  const path = `${input.endpoint}/${encodeURIComponent(change.id)}`;
  tally.requests++;
  const now = await currentGroup(client, input.endpoint, change.id);
  if (!now) return { kind: 'skipped', reason: 'the group no longer exists at the provider' };
  if (change.action === 'delete-created-group') {
    if (now.members.size > 0) return { kind: 'skipped', reason: `${now.members.size} members were added since` };
    tally.requests++;
    await client.delete(path);
    return { kind: 'done', n: 1 };
  }
  let ops: PatchOperation[] = [];
  let displayName: string | undefined;
  if (change.action === 'rename-group' && change.rename) {
    const name = (now.displayName ?? '').toLowerCase();
    if (name === change.rename.to.toLowerCase()) return { kind: 'already' };
    if (name !== change.rename.from.toLowerCase())
      return { kind: 'skipped', reason: `renamed again between planning and writing (now ${now.displayName})` };
    displayName = change.rename.to;
    ops = [{ op: 'replace', path: 'displayName', value: displayName }];
  }
  const wanted = change.members ?? [];
  const todo =
    change.action === 'remove-member'
      ? wanted.filter((m) => now.members.has(m))
      : wanted.filter((m) => !now.members.has(m));
  if (change.action === 'remove-member') {
    ops = todo.map(removeMemberOperation);
  } else if (change.action === 'add-member') {
    ops = todo.length > 0 ? [addMembersOperation(todo)] : [];
  }
  if (ops.length === 0) return { kind: 'already' };
  await patchOrPut(
    dialectFor(ctx.deps, input.tenant),
    input.patchSupported,
    async () => {
      for (const part of inSlices(ops, 500)) {
        tally.requests++;
        await client.patch(path, patchRequest(part), { query: { attributes: 'id' } });
      }
    },
    async () => {
      tally.requests += 2;
      const current = await client.get<Record<string, unknown>>(path);
      const { meta: _meta, ...rest } = current.body ?? {};
      // From this read (the one its ETag guards), not the first: a member added or removed between the
      // two is kept as it is now; nested group members are kept as they are.
      const held = (Array.isArray(rest.members) ? rest.members : []) as Array<{ value?: unknown; type?: unknown }>;
      const kept = held
        .filter((m) => !(change.action === 'remove-member' && todo.includes(String(m.value))))
        .map((m) => ({ value: m.value, ...(m.type !== undefined ? { type: m.type } : {}) }));
      const added = change.action === 'add-member' ? todo.filter((m) => !held.some((h) => String(h.value) === m)) : [];
      const body = {
        ...rest,
        schemas: [URN.Group],
        ...(displayName ? { displayName } : {}),
        members: [...kept, ...added.map((value) => ({ value }))],
      };
      await client.put(path, body, current.etag ? { ifMatch: current.etag } : {});
    },
  );
  return { kind: 'done', n: change.action === 'rename-group' ? 1 : todo.length };
}

/** A team or a skill: read again; set back only while the employee still holds what the run left. */
async function undoAssignmentChange(ctx: ApplyContext, change: AssignmentUndoChange): Promise<ChangeOutcome> {
  const { deps, input, client, tally } = ctx;
  if (change.action === 'restore-team') {
    tally.requests++;
    const now = await currentTeam(client, change.userId ?? '');
    if (now === undefined) return { kind: 'skipped', reason: 'the employee no longer exists at the provider' };
    if (now === change.team?.value) return { kind: 'already' };
    if (now !== change.expected.teamId)
      return { kind: 'skipped', reason: `changed again between planning and writing (team now ${now ?? 'none'})` };
    const ops = userPatchOperations({ [NICE_USER_EXTENSION]: { team: change.team } }, {});
    tally.requests++;
    await client.patch(`/Users/${encodeURIComponent(change.userId ?? '')}`, patchRequest(ops));
    return { kind: 'done', n: 1 };
  }
  const admin = adminOf(deps, input.tenant, client, tally);
  const skillId = change.skillId ?? 0;
  const agentId = change.agentId ?? 0;
  const holder = (await admin.listSkillAgents(skillId)).find((a) => a.agentId === agentId);
  const now = holder ? (holder.proficiency ?? 0) : undefined;
  const target = change.action === 'remove-skill' ? undefined : change.proficiency;
  if (now === target) return { kind: 'already' };
  if (now !== change.expected.proficiency)
    return {
      kind: 'skipped',
      reason: `changed again between planning and writing (${now === undefined ? 'no longer holds the skill' : `proficiency now ${now}`})`,
    };
  if (change.action === 'remove-skill') await admin.removeSkillAgent(skillId, agentId);
  else {
    const [result] = await admin.upsertSkillAgents(skillId, [{ agentId, proficiency: change.proficiency ?? 0 }]);
    if (!result.success)
      return { kind: 'failed', detail: `the provider did not apply it: ${result.error ?? 'no reason given'}` };
  }
  return { kind: 'done', n: 1 };
}

/** Who or what a change is about, for its skip or failure. */
function nameOf(change: AnyUndoChange): Pick<UndoSkip, 'userName' | 'id' | 'subject'> {
  if (change.kind === 'group') return { subject: change.displayName, id: change.id };
  if (change.kind === 'assignment')
    return {
      ...(change.userName ? { userName: change.userName } : {}),
      ...(change.userId ? { id: change.userId } : {}),
      subject:
        change.action === 'restore-team'
          ? 'team'
          : `skill ${change.skillName ?? change.skillId} of agent ${change.agentId}`,
    };
  return { ...(change.userName ? { userName: change.userName } : {}), id: change.id };
}

function operationOf(change: AnyUndoChange): UndoSkip['operation'] {
  if (change.kind === 'group')
    return change.action === 'rename-group'
      ? 'rename'
      : change.action === 'delete-created-group'
        ? 'create'
        : 'membership';
  if (change.kind === 'assignment')
    return change.action === 'restore-team'
      ? 'set-team'
      : change.action === 'remove-skill'
        ? 'add-skill'
        : 'set-proficiency';
  return change.action === 'reactivate' ? 'deactivate' : change.action === 'deactivate-created' ? 'create' : 'update';
}

/**
 * Applies one slice of an undo plan. Each resource is read again first: one changed since planning
 * is skipped and named; one that already holds the value restored (an earlier attempt) is not written again.
 */
export async function applyUndoSlice(deps: ActivityDeps, input: UndoSliceInput): Promise<UndoTally> {
  const context = Context.current();
  const changes = await readPlanSlice<AnyUndoChange>(
    input.slice,
    { planHash: input.planHash, phase: 'writes', from: input.from },
    `slice ${input.from}… of undo plan ${input.planHash.slice(0, 12)}`,
  );
  const resumedFrom = context.info.heartbeatDetails as { next: number; tally: UndoTally } | undefined;
  const tally: UndoTally = resumedFrom?.tally ?? {
    done: {},
    skipped: [],
    skippedCount: 0,
    failed: 0,
    failures: [],
    alreadyApplied: 0,
    requests: 0,
  };
  const ctx: ApplyContext = { deps, input, client: scimClientFor(deps, input.tenant), tally };
  for (let i = resumedFrom?.next ?? 0; i < changes.length; i++) {
    const change = changes[i];
    try {
      const outcome =
        change.kind === 'group'
          ? await undoGroupChange(ctx, change)
          : change.kind === 'assignment'
            ? await undoAssignmentChange(ctx, change)
            : await undoUserChange(ctx, change);
      if (outcome.kind === 'done') tally.done[change.action] = (tally.done[change.action] ?? 0) + outcome.n;
      else if (outcome.kind === 'already') tally.alreadyApplied++;
      else if (outcome.kind === 'failed') {
        tally.failed++;
        if (tally.failures.length < input.maxReported)
          tally.failures.push({ ...nameOf(change), detail: outcome.detail });
      } else {
        tally.skippedCount++;
        if (tally.skipped.length < input.maxReported)
          tally.skipped.push({ ...nameOf(change), operation: operationOf(change), reason: outcome.reason });
      }
    } catch (err) {
      // 429, 5xx and network errors fail the activity: it is retried (until the run's deadline) from here.
      if (!(err instanceof ScimHttpError) || isTransientFailure(err)) throw err;
      tally.failed++;
      if (tally.failures.length < input.maxReported)
        tally.failures.push({ ...nameOf(change), status: err.status, detail: err.message });
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
