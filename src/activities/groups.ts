// Activities of syncGroups: plan (read the groups source, list provider users once and groups
// without their members, learn current memberships) and apply a range of group changes with
// RFC 7644 PATCH in bounded slices, verifying each group's membership afterwards. The plan is
// stored in the claim store one slice per apply activity, as for syncUsers (plan-claims.ts).
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { ScimClient } from '../http';
import { canonicalJson } from '../scim/canonical';
import {
  countGroupActions,
  planGroups,
  removalsOf,
  type GroupActionCounts,
  type GroupRules,
  type ProviderGroupRef,
  type ProviderUserRef,
} from '../scim/group-reconcile';
import { claimStoreFor, type ClaimRef } from './claims/claim-store';
import { asActivity, scimClientFor, type ActivityDeps } from './deps';
import { loadGroupSource, type GroupSourceSpec } from './sources/group-source';
import {
  applyGroupChanges,
  phaseChanges,
  readMembers,
  type ApplyGroupsInput,
  type GroupPhase,
} from './provider/group-writes';

export type { ApplyGroupsInput, GroupFailure, GroupTally } from './provider/group-writes';
import { storePlanSlices } from './claims/plan-claims';

export type MembershipView = 'auto' | 'userGroups' | 'groupMembers';

export interface GroupPlanInput {
  tenant: string;
  source: GroupSourceSpec;
  rules: GroupRules;
  usersEndpoint: string;
  groupsEndpoint: string;
  pageSize: number;
  maxReported: number;
  membershipView: MembershipView;
  /** Groups per apply activity: the plan is stored in slices of this size. */
  groupsPerActivity: number;
}

export interface GroupPlanSummary {
  planHash: string;
  /** The stored plan, per phase, one claim per apply activity. */
  slices: Record<GroupPhase, ClaimRef[]>;
  sourceGroups: number;
  providerGroups: number;
  providerUsers: number;
  managedGroups: number;
  managedMemberships: number;
  counts: GroupActionCounts;
  adds: number;
  removals: { groups: number; memberships: number };
  /** Per-group errors (bad input, unresolved members, duplicates, cycles, nested groups). */
  problems: Array<{ group?: string; origin?: string; reason: string }>;
  problemCount: number;
  sample: Array<{ action: string; displayName: string; id?: string; add: number; remove: number; rename?: string }>;
  /** Groups the `writes` phase (create, rename, add) and the `removals` phase touch. */
  writeGroups: number;
  removalGroups: number;
  /** How current memberships were learnt. */
  membershipView: 'userGroups' | 'groupMembers';
  requests: number;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

type Listed = Record<string, unknown>;

/** Every resource of an endpoint, page by page, deduplicated by id. */
async function listAll(
  client: ScimClient,
  endpoint: string,
  pageSize: number,
  attributes: string,
  counter: { requests: number },
): Promise<Listed[]> {
  const seen = new Map<string, Listed>();
  let startIndex = 1;
  for (;;) {
    const page = await client.get<{ Resources?: unknown[]; totalResults?: number }>(endpoint, {
      query: { startIndex, count: pageSize, attributes },
    });
    counter.requests++;
    Context.current().heartbeat({ listed: seen.size });
    const resources = (Array.isArray(page.body?.Resources) ? page.body.Resources : []) as Listed[];
    for (const r of resources) if (typeof r.id === 'string' && !seen.has(r.id)) seen.set(r.id, r);
    startIndex += resources.length;
    const total = Number(page.body?.totalResults);
    if (resources.length === 0 || (Number.isFinite(total) && startIndex > total)) break;
  }
  return [...seen.values()];
}

/** Where the groups come from, if from a file or object: its bucket may hold the plan. */
const groupSourceLocation = (source: GroupSourceSpec) => source.groupsFile?.path ?? source.groupsColumn?.path;

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

export async function planGroupSync(deps: ActivityDeps, input: GroupPlanInput): Promise<GroupPlanSummary> {
  const loaded = await loadGroupSource(input.source, input.rules.memberKey);
  const client = scimClientFor(deps, input.tenant);
  const counter = { requests: 0 };
  const wantView = input.membershipView !== 'groupMembers';
  const listedUsers = await listAll(
    client,
    input.usersEndpoint,
    input.pageSize,
    `id,userName,externalId${wantView ? ',groups' : ''}`,
    counter,
  );
  // Never the members of a group while listing: only what matching and scope need.
  const listedGroups = await listAll(
    client,
    input.groupsEndpoint,
    input.pageSize,
    'id,displayName,externalId',
    counter,
  );
  const users: ProviderUserRef[] = listedUsers.map((u) => ({
    id: String(u.id),
    ...(str(u.userName) ? { userName: str(u.userName) } : {}),
    ...(str(u.externalId) ? { externalId: str(u.externalId) } : {}),
  }));
  const groups: ProviderGroupRef[] = listedGroups.map((g) => ({
    id: String(g.id),
    ...(str(g.displayName) ? { displayName: str(g.displayName) } : {}),
    ...(str(g.externalId) ? { externalId: str(g.externalId) } : {}),
  }));

  // The user → groups view, when the provider computes it (a listed user carries `groups`).
  const fromView = new Map<string, Set<string>>();
  let viewSeen = false;
  for (const u of listedUsers) {
    if (!Array.isArray(u.groups)) continue;
    viewSeen = true;
    for (const ref of u.groups as Array<{ value?: unknown; type?: unknown }>) {
      if (ref.type === 'indirect' || typeof ref.value !== 'string') continue;
      const set = fromView.get(ref.value) ?? new Set<string>();
      set.add(String(u.id));
      fromView.set(ref.value, set);
    }
  }
  const useView = input.membershipView === 'userGroups' || (input.membershipView === 'auto' && viewSeen);
  const members = new Map<string, Set<string>>();
  if (!useView) {
    for (const g of groups) {
      members.set(g.id, await readMembers(client, input.groupsEndpoint, g.id, counter));
      Context.current().heartbeat({ membersRead: members.size });
    }
  }
  const membersOf = (id: string): ReadonlySet<string> => (useView ? fromView.get(id) : members.get(id)) ?? new Set();
  const plan = planGroups(loaded.groups, groups, users, membersOf, input.rules);
  const problems = [...loaded.problems, ...plan.problems];
  const planHash = sha256(canonicalJson({ tenant: input.tenant, rules: input.rules, changes: plan.changes }));
  const phases = { writes: phaseChanges(plan.changes, 'writes'), removals: phaseChanges(plan.changes, 'removals') };
  const store = claimStoreFor(groupSourceLocation(input.source));
  const slices = await storePlanSlices(store, planHash, phases, input.groupsPerActivity, (storedSlices) =>
    Context.current().heartbeat({ storedSlices }),
  );
  const moving = plan.changes.filter(
    (c) => c.action !== 'unchanged' && c.action !== 'out-of-scope' && c.action !== 'protected',
  );
  return {
    planHash,
    slices,
    sourceGroups: loaded.groups.length,
    providerGroups: groups.length,
    providerUsers: users.length,
    managedGroups: plan.managedGroups,
    managedMemberships: plan.managedMemberships,
    counts: countGroupActions(plan.changes),
    adds: plan.changes.reduce((n, c) => n + c.add.length, 0),
    removals: removalsOf(plan.changes),
    problems: problems.slice(0, input.maxReported),
    problemCount: problems.length,
    sample: moving.slice(0, Math.min(10, input.maxReported)).map((c) => ({
      action: c.action,
      displayName: c.displayName,
      ...(c.id ? { id: c.id } : {}),
      add: c.add.length,
      remove: c.remove.length,
      ...(c.rename ? { rename: c.rename } : {}),
    })),
    writeGroups: phases.writes.length,
    removalGroups: phases.removals.length,
    membershipView: useView ? 'userGroups' : 'groupMembers',
    requests: counter.requests,
  };
}

export function createGroupActivities(deps: ActivityDeps) {
  return {
    /** Reads the groups source, lists provider users and groups (never a group's members while listing), plans. */
    planGroupSync: (input: GroupPlanInput) => asActivity(() => planGroupSync(deps, input)),
    /** Applies groups [from, to) of a phase: create, rename, membership slices, verify. */
    applyGroupChanges: (input: ApplyGroupsInput) => asActivity(() => applyGroupChanges(deps, input)),
  };
}
