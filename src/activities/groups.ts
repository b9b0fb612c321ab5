// Activities of syncGroups: plan (read the groups source, list provider groups without their
// members and users once, learn current memberships) and apply a range of group changes with
// RFC 7644 PATCH in bounded slices, verifying each group's membership afterwards. The plan is
// stored in the claim store one slice per apply activity, as for syncUsers (plan-claims.ts).
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { ScimClient } from '../http';
import { canonicalJson } from '../scim/canonical';
import {
  countGroupActions,
  groupsWhoseMembersMatter,
  MemberIndex,
  planGroups,
  removalsOf,
  type GroupActionCounts,
  type GroupChange,
  type GroupRules,
  type ProviderGroupRef,
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

type Listed = Record<string, unknown>;

/** Each resource of an endpoint, page by page, handed to `each` and not kept; returns the count listed. */
async function forEachListed(
  client: ScimClient,
  endpoint: string,
  pageSize: number,
  attributes: string,
  counter: { requests: number },
  each: (resource: Listed) => void,
): Promise<number> {
  let startIndex = 1;
  let listed = 0;
  for (;;) {
    const page = await client.get<{ Resources?: unknown[]; totalResults?: number }>(endpoint, {
      query: { startIndex, count: pageSize, attributes },
    });
    counter.requests++;
    const resources = (Array.isArray(page.body?.Resources) ? page.body.Resources : []) as Listed[];
    for (const r of resources) if (typeof r.id === 'string') each(r);
    listed += resources.length;
    Context.current().heartbeat({ listed });
    startIndex += resources.length;
    const total = Number(page.body?.totalResults);
    if (resources.length === 0 || (Number.isFinite(total) && startIndex > total)) return listed;
  }
}

/** Where the groups come from, if from a file or object: its bucket may hold the plan. */
const groupSourceLocation = (source: GroupSourceSpec) => source.groupsFile?.path ?? source.groupsColumn?.path;

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * SHA-256 of canonicalJson({ tenant, rules, changes }), fed one change at a time: the same hash
 * as of the whole document, without the whole document as one string.
 */
export function planHashOf(tenant: string, rules: GroupRules, changes: readonly GroupChange[]): string {
  const hash = createHash('sha256').update('{"changes":[');
  changes.forEach((change, i) => hash.update(i === 0 ? canonicalJson(change) : `,${canonicalJson(change)}`));
  return hash.update(`],"rules":${canonicalJson(rules)},"tenant":${canonicalJson(tenant)}}`).digest('hex');
}

/**
 * Plans a group sync in memory that grows with the groups that matter, not with the provider:
 * groups are listed first (never their members), then users are streamed page by page into a
 * key → id index of the members the source names and, from the users' `groups`, the current
 * members of the groups whose members matter (groupsWhoseMembersMatter); without that view, one
 * members read per such group. Listed resources are never kept.
 */
export async function planGroupSync(deps: ActivityDeps, input: GroupPlanInput): Promise<GroupPlanSummary> {
  const { rules } = input;
  const loaded = await loadGroupSource(input.source, rules.memberKey);
  const client = scimClientFor(deps, input.tenant);
  const counter = { requests: 0 };
  const groups: ProviderGroupRef[] = [];
  const seenGroups = new Set<string>();
  await forEachListed(client, input.groupsEndpoint, input.pageSize, 'id,displayName,externalId', counter, (g) => {
    const id = String(g.id);
    if (seenGroups.has(id)) return; // listed twice across a page boundary
    seenGroups.add(id);
    groups.push({
      id,
      ...(str(g.displayName) ? { displayName: str(g.displayName) } : {}),
      ...(str(g.externalId) ? { externalId: str(g.externalId) } : {}),
    });
  });
  const matter = groupsWhoseMembersMatter(loaded.groups, groups, rules);

  const wantView = input.membershipView !== 'groupMembers';
  const index = new MemberIndex(rules.memberKey, MemberIndex.keysNamedBy(loaded.groups, rules.memberKey));
  // The user → groups view, when the provider computes it (a listed user carries `groups`).
  const fromView = new Map<string, Set<string>>();
  let viewSeen = false;
  const providerUsers = await forEachListed(
    client,
    input.usersEndpoint,
    input.pageSize,
    `id,${rules.memberKey}${wantView ? ',groups' : ''}`,
    counter,
    (u) => {
      const id = String(u.id);
      index.add(id, u[rules.memberKey]);
      if (!Array.isArray(u.groups)) return;
      viewSeen = true;
      for (const ref of u.groups as Array<{ value?: unknown; type?: unknown }>) {
        if (ref.type === 'indirect' || typeof ref.value !== 'string' || !matter.has(ref.value)) continue;
        let set = fromView.get(ref.value);
        if (!set) fromView.set(ref.value, (set = new Set()));
        set.add(id);
      }
    },
  );
  const useView = input.membershipView === 'userGroups' || (input.membershipView === 'auto' && viewSeen);
  const members = new Map<string, Set<string>>();
  if (!useView) {
    for (const g of groups) {
      if (!matter.has(g.id)) continue;
      members.set(g.id, await readMembers(client, input.groupsEndpoint, g.id, counter));
      Context.current().heartbeat({ membersRead: members.size });
    }
  }
  const none: ReadonlySet<string> = new Set();
  const membersOf = (id: string): ReadonlySet<string> => (useView ? fromView.get(id) : members.get(id)) ?? none;
  const plan = planGroups(loaded.groups, groups, index, membersOf, rules, input.maxReported);
  const planHash = planHashOf(input.tenant, rules, plan.changes);
  const phases = { writes: phaseChanges(plan.changes, 'writes'), removals: phaseChanges(plan.changes, 'removals') };
  const store = claimStoreFor(groupSourceLocation(input.source));
  const slices = await storePlanSlices(store, planHash, phases, input.groupsPerActivity, (storedSlices) =>
    Context.current().heartbeat({ storedSlices }),
  );
  const sample: GroupPlanSummary['sample'] = [];
  for (const c of plan.changes) {
    if (sample.length >= Math.min(10, input.maxReported)) break;
    if (c.action === 'unchanged' || c.action === 'out-of-scope' || c.action === 'protected') continue;
    sample.push({
      action: c.action,
      displayName: c.displayName,
      ...(c.id ? { id: c.id } : {}),
      add: c.add.length,
      remove: c.remove.length,
      ...(c.rename ? { rename: c.rename } : {}),
    });
  }
  return {
    planHash,
    slices,
    sourceGroups: loaded.groups.length,
    providerGroups: groups.length,
    providerUsers,
    managedGroups: plan.managedGroups,
    managedMemberships: plan.managedMemberships,
    counts: countGroupActions(plan.changes),
    adds: plan.changes.reduce((n, c) => n + c.add.length, 0),
    removals: removalsOf(plan.changes),
    problems: [...loaded.problems, ...plan.problems].slice(0, input.maxReported),
    problemCount: loaded.problems.length + plan.problemCount,
    sample,
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
