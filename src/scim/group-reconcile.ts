// Group reconciliation (syncGroups): the source's groups and memberships against the provider's,
// planned per group. Pure and deterministic, like ./reconcile for users: members are provider
// user ids resolved through verified matching, and membership changes are RFC 7644 PATCH
// operations built here, so that a `remove` never goes out without a value filter.
import { filterString } from './filter';
import type { PatchOperation } from './patch';

/** A group as the source describes it: members by the users' match key (userName or externalId). */
export interface SourceGroup {
  displayName: string;
  externalId?: string;
  members: string[];
  /** Where it came from, for error messages, e.g. `groups.csv line 4`. */
  origin: string;
}

export interface ProviderGroupRef {
  id: string;
  displayName?: string;
  externalId?: string;
}

export interface ProviderUserRef {
  id: string;
  userName?: string;
  externalId?: string;
}

export type GroupMatchKey = 'displayName' | 'externalId';
export type MemberKey = 'userName' | 'externalId';

/** Which provider groups this sync manages (may empty or delete when they left the source). Empty: all. */
export interface GroupScope {
  /** Only groups whose displayName starts with this prefix (case-insensitive). */
  displayNamePrefix?: string;
  /** Only groups that carry an externalId. */
  hasExternalId?: boolean;
}

export interface GroupRules {
  matchKey: GroupMatchKey;
  memberKey: MemberKey;
  scope: GroupScope;
  /** displayNames or ids never touched. */
  protectedGroups: string[];
  /** Groups gone from the source: `empty` (remove every membership, keep the group; default) or `delete`. */
  deprovision: 'empty' | 'delete';
}

export type GroupAction = 'create' | 'update' | 'unchanged' | 'empty' | 'delete' | 'protected' | 'out-of-scope';

export interface GroupChange {
  action: GroupAction;
  displayName: string;
  /** The provider group (absent for creates). */
  id?: string;
  externalId?: string;
  /** New displayName (matched by externalId, named differently in the source). */
  rename?: string;
  /** The provider's displayName when planned, with `rename` (what an undo puts back). */
  renamedFrom?: string;
  /** Provider user ids to add / remove, sorted. */
  add: string[];
  remove: string[];
  /** Removals held back (a member could not be resolved safely). */
  removalsHeld?: boolean;
}

export interface GroupProblem {
  group: string;
  origin?: string;
  reason: string;
}

export interface GroupPlan {
  changes: GroupChange[];
  /** The first `maxProblems` problems; `problemCount` counts them all. */
  problems: GroupProblem[];
  problemCount: number;
  /** Provider groups this sync manages, and their current memberships. */
  managedGroups: number;
  managedMemberships: number;
}

export type GroupActionCounts = Record<GroupAction, number>;

export function countGroupActions(changes: readonly GroupChange[]): GroupActionCounts {
  const counts: GroupActionCounts = {
    create: 0,
    update: 0,
    unchanged: 0,
    empty: 0,
    delete: 0,
    protected: 0,
    'out-of-scope': 0,
  };
  for (const c of changes) counts[c.action]++;
  return counts;
}

const lower = (s: string | undefined) => (s ?? '').toLowerCase();
const sorted = (ids: Iterable<string>) => [...ids].sort();

function groupKey(group: { displayName?: string; externalId?: string }, key: GroupMatchKey): string | undefined {
  const value = group[key];
  if (typeof value !== 'string' || value === '') return undefined;
  return key === 'displayName' ? value.toLowerCase() : value; // displayName is caseExact false (RFC 7643 §4.2)
}

/** A member as the index keys it: userName is caseExact false (RFC 7643 §4.1.1), externalId exact. */
function memberKeyValue(value: unknown, key: MemberKey): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return key === 'userName' ? value.toLowerCase() : value;
}

/**
 * Provider users by member key, as compact as resolution needs: key → id, and the ids of a key
 * more than one user has. With `only`, users whose key the source never names are not kept, so
 * the index grows with the source's members, not with the provider's users.
 */
export class MemberIndex {
  private readonly ids = new Map<string, string>();
  private readonly shared = new Map<string, string[]>();

  constructor(
    readonly memberKey: MemberKey,
    private readonly only?: ReadonlySet<string>,
  ) {}

  /** The keys of the members `groups` name, as the index keys them (for `only`). */
  static keysNamedBy(groups: readonly SourceGroup[], memberKey: MemberKey): Set<string> {
    const keys = new Set<string>();
    for (const g of groups)
      for (const m of g.members) {
        const key = memberKeyValue(m, memberKey);
        if (key !== undefined) keys.add(key);
      }
    return keys;
  }

  static of(users: readonly ProviderUserRef[], memberKey: MemberKey): MemberIndex {
    const index = new MemberIndex(memberKey);
    for (const u of users) index.add(u.id, u[memberKey]);
    return index;
  }

  /** One provider user; listing the same user twice (a page boundary shifting) changes nothing. */
  add(id: string, keyValue: unknown): void {
    const key = memberKeyValue(keyValue, this.memberKey);
    if (key === undefined || (this.only && !this.only.has(key))) return;
    const first = this.ids.get(key);
    if (first === undefined) this.ids.set(key, id);
    else if (first !== id) {
      const all = this.shared.get(key) ?? [first];
      if (!all.includes(id)) all.push(id);
      this.shared.set(key, all);
    }
  }

  /** Ids of the provider users a source member names: one, none, or several (a duplicate). */
  lookup(member: string): readonly string[] {
    const key = memberKeyValue(member, this.memberKey);
    if (key === undefined) return [];
    const shared = this.shared.get(key);
    if (shared) return shared;
    const id = this.ids.get(key);
    return id === undefined ? [] : [id];
  }
}

/**
 * The provider groups whose current members a plan can use: not protected, and in scope or
 * matched by a source group. Memberships of the others are neither read nor kept.
 */
export function groupsWhoseMembersMatter(
  source: readonly SourceGroup[],
  providerGroups: readonly ProviderGroupRef[],
  rules: GroupRules,
): Set<string> {
  const protectedGroups = new Set(rules.protectedGroups.map(lower));
  const sourceKeys = new Set<string>();
  for (const g of source) {
    const key = groupKey(g, rules.matchKey);
    if (key !== undefined) sourceKeys.add(key);
  }
  const ids = new Set<string>();
  for (const g of providerGroups) {
    if (protectedGroups.has(lower(g.id)) || protectedGroups.has(lower(g.displayName))) continue;
    const key = groupKey(g, rules.matchKey);
    if (groupInScope(g, rules.scope) || (key !== undefined && sourceKeys.has(key))) ids.add(g.id);
  }
  return ids;
}

export function groupInScope(group: ProviderGroupRef, scope: GroupScope): boolean {
  if (scope.hasExternalId && !group.externalId) return false;
  if (
    scope.displayNamePrefix !== undefined &&
    !lower(group.displayName).startsWith(scope.displayNamePrefix.toLowerCase())
  )
    return false;
  return true;
}

/** Groups naming other source groups as members: the cycle through `start`, if there is one. */
function cycleFrom(start: string, edges: ReadonlyMap<string, string[]>): string[] | undefined {
  const path: string[] = [];
  const visiting = new Set<string>();
  const walk = (node: string): string[] | undefined => {
    if (visiting.has(node)) return node === start ? [...path, node] : undefined;
    visiting.add(node);
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const found = walk(next);
      if (found) return found;
    }
    path.pop();
    return undefined;
  };
  return walk(start);
}

/**
 * Plans every source group and every provider group. `users` resolves members (a MemberIndex, or
 * the users themselves); `membersOf` answers a provider group's current member user ids (needed
 * for the groups of groupsWhoseMembersMatter only). Deterministic: source groups in source
 * order, then provider-only groups in id order; member ids sorted. Problems past `maxProblems`
 * are counted, not kept.
 */
export function planGroups(
  source: readonly SourceGroup[],
  providerGroups: readonly ProviderGroupRef[],
  users: MemberIndex | readonly ProviderUserRef[],
  membersOf: (groupId: string) => ReadonlySet<string>,
  rules: GroupRules,
  maxProblems = Number.POSITIVE_INFINITY,
): GroupPlan {
  const problems: GroupProblem[] = [];
  let problemCount = 0;
  const protectedGroups = new Set(rules.protectedGroups.map(lower));
  const isProtected = (g: ProviderGroupRef) =>
    protectedGroups.has(lower(g.id)) || protectedGroups.has(lower(g.displayName));

  const index = users instanceof MemberIndex ? users : MemberIndex.of(users, rules.memberKey);
  if (index.memberKey !== rules.memberKey)
    throw new Error(`planGroups: the member index is by ${index.memberKey}, the rules say ${rules.memberKey}`);
  const providerByKey = new Map<string, ProviderGroupRef[]>();
  for (const g of providerGroups) {
    const key = groupKey(g, rules.matchKey);
    if (key !== undefined) providerByKey.set(key, [...(providerByKey.get(key) ?? []), g]);
  }

  // Duplicate names: every record of the name is in error (which one is meant is a guess).
  const byName = new Map<string, SourceGroup[]>();
  for (const g of source) byName.set(lower(g.displayName), [...(byName.get(lower(g.displayName)) ?? []), g]);
  const sourceNames = new Set(byName.keys());
  const nested = new Map<string, string[]>();
  for (const g of source)
    nested.set(lower(g.displayName), g.members.filter((m) => sourceNames.has(lower(m))).map(lower));

  const changes: GroupChange[] = [];
  const matched = new Set<string>();
  const seenKeys = new Set<string>();
  for (const group of source) {
    const name = group.displayName;
    const fail = (reason: string) => {
      if (++problemCount <= maxProblems) problems.push({ group: name, origin: group.origin, reason });
    };
    const namesake = byName.get(lower(name)) ?? [];
    const key = groupKey(group, rules.matchKey);
    if (key === undefined) {
      // Never emptied as "gone from the source" for want of a key: a same-named provider group is kept.
      for (const g of providerGroups) if (lower(g.displayName) === lower(name)) matched.add(g.id);
      fail(`${rules.matchKey}: required to match the group (the sync's group match key)`);
      continue;
    }
    const candidates = providerByKey.get(key) ?? [];
    for (const c of candidates) matched.add(c.id); // never removed as "gone from the source" while named there
    if (namesake.length > 1) {
      fail(
        `displayName "${name}" is given ${namesake.length} times (${namesake.map((g) => g.origin).join(', ')}): one group per name`,
      );
      continue;
    }
    if (seenKeys.has(key)) {
      fail(`${rules.matchKey} "${group[rules.matchKey]}" is given to more than one group`);
      continue;
    }
    seenKeys.add(key);
    const cycle = cycleFrom(lower(name), nested);
    if (cycle) {
      fail(`cycle: ${cycle.join(' → ')} (nested groups are not supported)`);
      continue;
    }
    const inner = group.members.filter((m) => sourceNames.has(lower(m)));
    if (inner.length > 0) {
      fail(
        `nested groups are not supported: member${inner.length > 1 ? 's' : ''} ${inner.map((m) => `"${m}"`).join(', ')} ${inner.length > 1 ? 'are groups' : 'is a group'} of the source`,
      );
      continue;
    }
    if (candidates.length > 1) {
      fail(
        `${candidates.length} provider groups match ${rules.matchKey} "${group[rules.matchKey]}" (ids ${candidates.map((c) => c.id).join(', ')}): resolve the duplicate at the provider`,
      );
      continue;
    }
    const current = candidates[0];
    if (current && isProtected(current)) {
      changes.push({ action: 'protected', displayName: name, id: current.id, add: [], remove: [] });
      continue;
    }
    const wanted = new Set<string>();
    let unresolved = 0;
    for (const member of group.members) {
      const ids = index.lookup(member);
      if (ids.length === 1) wanted.add(ids[0]);
      else {
        unresolved++;
        fail(
          ids.length === 0
            ? `member "${member}" matches no provider user (by ${rules.memberKey})`
            : `member "${member}" matches ${ids.length} provider users (ids ${ids.join(', ')}): resolve the duplicate at the provider`,
        );
      }
    }
    const base = { displayName: name, ...(group.externalId ? { externalId: group.externalId } : {}) };
    if (!current) {
      changes.push({ action: 'create', ...base, add: sorted(wanted), remove: [] });
      continue;
    }
    const have = membersOf(current.id);
    const add = sorted([...wanted].filter((id) => !have.has(id)));
    // An unresolved member may be one of the current members under another id: removals wait.
    const remove = unresolved > 0 ? [] : sorted([...have].filter((id) => !wanted.has(id)));
    const rename = current.displayName !== name ? name : undefined;
    const change: GroupChange = {
      action: 'update',
      ...base,
      id: current.id,
      add,
      remove,
      ...(rename ? { rename, renamedFrom: current.displayName } : {}),
      ...(unresolved > 0 ? { removalsHeld: true } : {}),
    };
    changes.push(add.length + remove.length === 0 && !rename ? { ...change, action: 'unchanged' } : change);
  }

  let managedGroups = 0;
  let managedMemberships = 0;
  for (const g of providerGroups) {
    if (!groupInScope(g, rules.scope) || isProtected(g)) continue;
    managedGroups++;
    managedMemberships += membersOf(g.id).size;
  }
  const rest = providerGroups
    .filter((g) => !matched.has(g.id))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const g of rest) {
    const base = { displayName: g.displayName ?? g.id, id: g.id, add: [] as string[], remove: [] as string[] };
    if (isProtected(g)) changes.push({ ...base, action: 'protected' });
    else if (!groupInScope(g, rules.scope)) changes.push({ ...base, action: 'out-of-scope' });
    else if (rules.deprovision === 'delete')
      changes.push({ ...base, action: 'delete', remove: sorted(membersOf(g.id)) });
    else {
      const remove = sorted(membersOf(g.id));
      changes.push({ ...base, action: remove.length > 0 ? 'empty' : 'unchanged', remove });
    }
  }
  return { changes, problems, problemCount, managedGroups, managedMemberships };
}

/** Membership removals a plan makes (a deleted group's memberships go with it). */
export function removalsOf(changes: readonly GroupChange[]): { groups: number; memberships: number } {
  let groups = 0;
  let memberships = 0;
  for (const c of changes) {
    if (c.action === 'delete') groups++;
    else memberships += c.remove.length;
    if (c.action === 'empty') groups++;
  }
  return { groups, memberships };
}

/** `add` of some members in one operation (RFC 7644 §3.5.2.1). */
export function addMembersOperation(userIds: readonly string[]): PatchOperation {
  return { op: 'add', path: 'members', value: userIds.map((value) => ({ value })) };
}

/** `remove` of one member, always by value filter (RFC 7644 §3.5.2.2): never the whole attribute. */
export function removeMemberOperation(userId: string): PatchOperation {
  if (userId === '') throw new Error('removeMemberOperation: a member id is required');
  return { op: 'remove', path: `members[value eq ${filterString(userId)}]` };
}

const FILTERED_MEMBER = /^members\[value eq "(?:[^"\\]|\\.)+"\]$/;

/** Refuses a PatchOp whose `remove` lacks a value filter: such a remove would empty the group. */
export function assertFilteredRemovals(operations: readonly PatchOperation[]): void {
  for (const op of operations) {
    if (op.op.toLowerCase() !== 'remove') continue;
    const path = op.path ?? '';
    if (path.toLowerCase().startsWith('members') && !FILTERED_MEMBER.test(path)) {
      throw new Error(
        `refusing to send remove with path "${path}": a member removal needs the filter members[value eq "id"]`,
      );
    }
    if (path === '') throw new Error('refusing to send remove without a path');
  }
}

/** Slices of at most `size` items. */
export function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
