// Undoing a run (pure): what a run's writes recorded (its journal) and what the provider holds now
// → the compensating writes. A value changed again since the run, or a resource gone, is skipped
// and named: an undo never overwrites someone else's later change.
import type { AssignmentAction } from './assignments';
import { canonicalJson } from './canonical';
import type { PatchOperation } from './patch';

/** The operations a journal records (a sync's writes and removals, a provisioning run's creates and updates). */
export type JournalOperation = 'create' | 'update' | 'reactivate' | 'deactivate' | 'delete';

/**
 * One write a run made. `before` and `after` hold the top-level attributes the write changed, as
 * the provider held them before (read by the planner) and as the write set them; `null` is absent.
 */
export interface JournalEntry {
  /** The provider's id (a create's may be unknown: found again by userName). */
  id?: string;
  userName?: string;
  operation: JournalOperation;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  appliedAt: string;
}

/**
 * One group a syncGroups run wrote: the members it added (and the provider then held) and removed,
 * a rename, a create or a delete.
 */
export interface GroupJournalEntry {
  kind: 'group';
  id: string;
  /** The group's displayName as the run left it. */
  displayName: string;
  operation: 'create' | 'update' | 'empty' | 'delete';
  /** The displayName before the run renamed it. */
  renamedFrom?: string;
  added: string[];
  removed: string[];
  appliedAt: string;
}

/** One assignment a syncAssignments run wrote: a team (previous team id and name) or one agent's skill (previous proficiency; absent: did not hold it). */
export interface AssignmentJournalEntry {
  kind: 'assignment';
  action: AssignmentAction;
  userName?: string;
  /** The employee's SCIM id (team changes). */
  userId?: string;
  agentId?: number;
  skillId?: number;
  skillName?: string;
  before: { proficiency?: number; team?: { value: string; display?: string } };
  after: { proficiency?: number; team?: { value: string; display?: string } };
  appliedAt: string;
}

/** Whatever a run's journal holds: user writes (syncUsers, provisionUsers), group or assignment writes. */
export type RunJournalEntry = JournalEntry | GroupJournalEntry | AssignmentJournalEntry;

export const isGroupEntry = (e: RunJournalEntry): e is GroupJournalEntry => (e as GroupJournalEntry).kind === 'group';
export const isAssignmentEntry = (e: RunJournalEntry): e is AssignmentJournalEntry =>
  (e as AssignmentJournalEntry).kind === 'assignment';
export const isUserEntry = (e: RunJournalEntry): e is JournalEntry => !isGroupEntry(e) && !isAssignmentEntry(e);

export type UndoAction =
  | 'reactivate'
  | 'restore'
  | 'deactivate-created'
  | 'remove-member'
  | 'add-member'
  | 'rename-group'
  | 'delete-created-group'
  | 'restore-team'
  | 'remove-skill'
  | 'restore-skill';

/** What the runs of a workflow type write, and so which compensating actions their undo counts. */
export type UndoSubject = 'users' | 'groups' | 'assignments';

export const UNDO_ACTIONS: Record<UndoSubject, UndoAction[]> = {
  users: ['reactivate', 'restore', 'deactivate-created'],
  groups: ['remove-member', 'add-member', 'rename-group', 'delete-created-group'],
  assignments: ['restore-team', 'remove-skill', 'restore-skill'],
};

/** A user written back: PATCH operations (or a PUT overlay) checked against what the run wrote. */
export interface UndoChange {
  kind?: 'user';
  action: UndoAction;
  id: string;
  userName?: string;
  /** The PATCH operations that put the `before` values back. */
  changes: PatchOperation[];
  /** What the PUT fallback overlays on the current resource. */
  desired: Record<string, unknown>;
  /** What the run wrote: the user must still hold it when the undo writes (checked again then). */
  expected: Record<string, unknown>;
}

/**
 * A group put back: members the run added taken out, members it removed put back, its old name.
 * Each is checked again against the group when written (a membership changed since is skipped).
 */
export interface GroupUndoChange {
  kind: 'group';
  action: 'remove-member' | 'add-member' | 'rename-group' | 'delete-created-group';
  id: string;
  displayName: string;
  /** remove-member / add-member: the member user ids. */
  members?: string[];
  /** rename-group: the name to put back, and the name the run gave (still expected). */
  rename?: { from: string; to: string };
}

/** A skill or a team put back: what the run left (still expected when written) and what was before. */
export interface AssignmentUndoChange {
  kind: 'assignment';
  action: 'restore-team' | 'remove-skill' | 'restore-skill';
  userName?: string;
  userId?: string;
  agentId?: number;
  skillId?: number;
  skillName?: string;
  /** restore-skill: the proficiency to put back; restore-team: the team. */
  proficiency?: number;
  team?: { value: string; display?: string };
  /** What the run left: proficiency (remove-skill / restore-skill, absent when it removed the skill) or team id. */
  expected: { proficiency?: number; teamId?: string };
}

export type AnyUndoChange = UndoChange | GroupUndoChange | AssignmentUndoChange;

export interface UndoSkip {
  userName?: string;
  id?: string;
  /** A group's name, an agent's skill: what the skipped write was about, when not a user. */
  subject?: string;
  operation: JournalOperation | AssignmentAction | 'membership' | 'rename';
  reason: string;
}

export type UndoCounts = Partial<Record<UndoAction, number>> & { skipped: number };

export interface UndoPlan<C extends AnyUndoChange = AnyUndoChange> {
  changes: C[];
  skipped: UndoSkip[];
  counts: UndoCounts;
}

/** The top-level attribute an operation path names: `name.givenName` → `name`, `emails[type eq "work"].value` → `emails`, an extension URN → itself. */
export function topLevelAttribute(path: string): string {
  if (/^urn:/i.test(path)) {
    // `urn:…:User:manager.value` lives in the extension object `urn:…:User`; a path that is the URN itself names it.
    const colon = path.lastIndexOf(':');
    return /^[A-Z]/.test(path.slice(colon + 1)) ? path.split('[')[0] : path.slice(0, colon);
  }
  return path.split(/[.[]/)[0];
}

/** The attributes PATCH operations touch (a path-less operation touches each key of its value). */
export function touchedAttributes(ops: readonly PatchOperation[]): string[] {
  const names = new Set<string>();
  for (const op of ops) {
    if (op.path) names.add(topLevelAttribute(op.path));
    else if (op.value && typeof op.value === 'object') for (const key of Object.keys(op.value)) names.add(key);
  }
  return [...names];
}

/** The named top-level attributes of a resource, case-insensitively found; absent ones as null. */
export function pickAttributes(resource: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) {
    const key = Object.keys(resource).find((k) => k.toLowerCase() === name.toLowerCase());
    picked[name] = key === undefined || resource[key] === undefined ? null : resource[key];
  }
  return picked;
}

/** What PATCH operations computed from `user` write: the user's values of the attributes they touch, as the operations set them. */
export function writtenValues(ops: readonly PatchOperation[], user: Record<string, unknown>): Record<string, unknown> {
  const after = pickAttributes(user, touchedAttributes(ops));
  for (const op of ops)
    if (op.op !== 'remove' && op.path && Object.hasOwn(after, op.path)) after[op.path] = op.value ?? null;
  return after;
}

/**
 * Whether the provider still holds what the run wrote: every sub-attribute the run set is there with
 * the same value (the provider may add its own, e.g. `display` or `$ref`). Strings of `userName`
 * compare case-insensitively (RFC 7643 §4.1.1).
 */
export function stillAsWritten(current: unknown, written: unknown, attribute = ''): boolean {
  if (written === null || written === undefined) return current === null || current === undefined;
  if (Array.isArray(written)) {
    return (
      Array.isArray(current) &&
      current.length === written.length &&
      written.every((w) => current.some((c) => stillAsWritten(c, w, attribute)))
    );
  }
  if (typeof written === 'object') {
    if (!current || typeof current !== 'object' || Array.isArray(current)) return false;
    const c = current as Record<string, unknown>;
    return Object.entries(written as Record<string, unknown>).every(([key, value]) => {
      const found = Object.keys(c).find((k) => k.toLowerCase() === key.toLowerCase());
      return stillAsWritten(found === undefined ? undefined : c[found], value, key);
    });
  }
  if (attribute.toLowerCase() === 'username' && typeof written === 'string' && typeof current === 'string')
    return written.toLowerCase() === current.toLowerCase();
  return canonicalJson(current) === canonicalJson(written);
}

const shown = (value: unknown) => (value === undefined || value === null ? 'absent' : JSON.stringify(value));

/** Operations that set these attributes back (absent ones removed). */
function restoring(before: Record<string, unknown>): PatchOperation[] {
  return Object.entries(before).map(([path, value]) =>
    value === null || value === undefined ? { op: 'remove', path } : { op: 'replace', path, value },
  );
}

export function emptyUndoCounts(subject: UndoSubject = 'users'): UndoCounts {
  return { ...Object.fromEntries(UNDO_ACTIONS[subject].map((a) => [a, 0])), skipped: 0 };
}

/** The compensating writes a plan counts (everything but skipped). */
export function undoWrites(counts: UndoCounts): number {
  return Object.entries(counts).reduce((n, [action, c]) => (action === 'skipped' ? n : n + (c ?? 0)), 0);
}

/**
 * The compensation of a run's journal. `current(entry)` is the resource the provider holds now
 * (undefined: gone). A sync writes each user once, so each entry is undone on its own.
 */
export function planUndo(
  journal: readonly JournalEntry[],
  current: (entry: JournalEntry) => Record<string, unknown> | undefined,
  options: { includeCreated: boolean },
): UndoPlan<UndoChange> {
  const changes: UndoChange[] = [];
  const skipped: UndoSkip[] = [];
  const counts = emptyUndoCounts('users');
  const skip = (entry: JournalEntry, reason: string) => {
    counts.skipped++;
    skipped.push({
      ...(entry.userName ? { userName: entry.userName } : {}),
      ...(entry.id ? { id: entry.id } : {}),
      operation: entry.operation,
      reason,
    });
  };
  for (const entry of journal) {
    if (entry.operation === 'delete') {
      skip(entry, 'deleted by the run: a deleted resource cannot be undone');
      continue;
    }
    if (entry.operation === 'create' && !options.includeCreated) {
      skip(entry, 'created by the run: left active (include created users to deactivate them)');
      continue;
    }
    const now = current(entry);
    if (!now || typeof now.id !== 'string') {
      skip(entry, 'no longer exists at the provider');
      continue;
    }
    const after = entry.operation === 'create' ? { active: entry.after.active ?? true } : entry.after;
    const changed = Object.keys(after).filter((name) => {
      const key = Object.keys(now).find((k) => k.toLowerCase() === name.toLowerCase());
      // A provider that leaves `active` out of a resource holds the default, true.
      const value = key === undefined && name === 'active' ? true : key === undefined ? undefined : now[key];
      return !stillAsWritten(value, after[name], name);
    });
    if (changed.length > 0) {
      const describe = (name: string) => `${name} is now ${shown(pickAttributes(now, [name])[name])}`;
      skip(entry, `changed again since: ${changed.map(describe).join(', ')}`);
      continue;
    }
    const before = entry.operation === 'create' ? { active: false } : entry.before;
    const action: UndoAction =
      entry.operation === 'create' ? 'deactivate-created' : entry.operation === 'deactivate' ? 'reactivate' : 'restore';
    counts[action] = (counts[action] ?? 0) + 1;
    changes.push({
      action,
      id: now.id,
      ...(entry.userName ? { userName: entry.userName } : {}),
      changes: restoring(before),
      desired: Object.fromEntries(Object.entries(before).filter(([, v]) => v !== null && v !== undefined)),
      expected: after,
    });
  }
  return { changes, skipped, counts };
}

/** A group as the provider holds it now, for its undo. */
export interface CurrentGroup {
  displayName?: string;
  members: ReadonlySet<string>;
}

/**
 * The compensation of a syncGroups run: members it added (and still there) taken out, members it
 * removed (and still absent) put back, a rename reverted while the group keeps the run's name, a
 * group it created deleted (`includeCreated`) when only the run's members are in it. A membership
 * or name changed since, and a deleted group, are skipped and named.
 */
export function planGroupUndo(
  journal: readonly GroupJournalEntry[],
  current: (id: string) => CurrentGroup | undefined,
  options: { includeCreated: boolean },
): UndoPlan<GroupUndoChange> {
  const changes: GroupUndoChange[] = [];
  const skipped: UndoSkip[] = [];
  const counts = emptyUndoCounts('groups');
  const skip = (entry: GroupJournalEntry, operation: UndoSkip['operation'], reason: string, member?: string) => {
    counts.skipped++;
    skipped.push({ subject: entry.displayName, id: member ?? entry.id, operation, reason });
  };
  const count = (action: GroupUndoChange['action'], n = 1) => (counts[action] = (counts[action] ?? 0) + n);
  for (const entry of journal) {
    if (entry.operation === 'delete') {
      skip(entry, 'delete', 'deleted by the run: a deleted group cannot be undone');
      continue;
    }
    const now = current(entry.id);
    if (!now) {
      skip(entry, entry.operation === 'create' ? 'create' : 'update', 'the group no longer exists at the provider');
      continue;
    }
    const group = { kind: 'group' as const, id: entry.id, displayName: entry.displayName };
    const stillAdded = entry.added.filter((m) => now.members.has(m));
    for (const m of entry.added.filter((m) => !now.members.has(m)))
      skip(entry, 'membership', `member ${m} added by the run was removed again since`, m);
    if (stillAdded.length > 0) {
      changes.push({ ...group, action: 'remove-member', members: stillAdded });
      count('remove-member', stillAdded.length);
    }
    const stillRemoved = entry.removed.filter((m) => !now.members.has(m));
    for (const m of entry.removed.filter((m) => now.members.has(m)))
      skip(entry, 'membership', `member ${m} removed by the run was added again since`, m);
    if (stillRemoved.length > 0) {
      changes.push({ ...group, action: 'add-member', members: stillRemoved });
      count('add-member', stillRemoved.length);
    }
    const sameName = (now.displayName ?? '').toLowerCase() === entry.displayName.toLowerCase();
    if (entry.renamedFrom !== undefined) {
      if (sameName) {
        changes.push({ ...group, action: 'rename-group', rename: { from: entry.displayName, to: entry.renamedFrom } });
        count('rename-group');
      } else skip(entry, 'rename', `renamed again since: displayName is now ${shown(now.displayName)}`);
    }
    if (entry.operation === 'create') {
      const others = [...now.members].filter((m) => !entry.added.includes(m));
      if (!options.includeCreated)
        skip(entry, 'create', 'created by the run: left in place (include created to delete it)');
      else if (others.length > 0 || !sameName)
        skip(
          entry,
          'create',
          `changed since the run created it: ${others.length > 0 ? `${others.length} members it did not add` : `displayName is now ${shown(now.displayName)}`}; left in place`,
        );
      else {
        changes.push({ ...group, action: 'delete-created-group' });
        count('delete-created-group');
      }
    }
  }
  return { changes, skipped, counts };
}

/**
 * The compensation of a syncAssignments run: a team set back (CXone has no "no team", so a user
 * who had none keeps the run's), a skill it added removed, a proficiency it changed or a skill it
 * removed put back — each only while the employee still holds what the run left.
 * `proficiency(skillId, agentId)` is the agent's proficiency now (undefined: does not hold it);
 * `team(userId)` the employee's team id now (null: no team; undefined: the employee is gone).
 */
export function planAssignmentUndo(
  journal: readonly AssignmentJournalEntry[],
  proficiency: (skillId: number, agentId: number) => number | undefined,
  team: (userId: string) => string | null | undefined,
): UndoPlan<AssignmentUndoChange> {
  const changes: AssignmentUndoChange[] = [];
  const skipped: UndoSkip[] = [];
  const counts = emptyUndoCounts('assignments');
  const skip = (entry: AssignmentJournalEntry, reason: string) => {
    counts.skipped++;
    skipped.push({
      ...(entry.userName ? { userName: entry.userName } : {}),
      ...(entry.userId ? { id: entry.userId } : {}),
      subject:
        entry.action === 'set-team' ? 'team' : `skill ${entry.skillName ?? entry.skillId} of agent ${entry.agentId}`,
      operation: entry.action,
      reason,
    });
  };
  const add = (change: AssignmentUndoChange) => {
    changes.push(change);
    counts[change.action] = (counts[change.action] ?? 0) + 1;
  };
  for (const entry of journal) {
    const who = {
      ...(entry.userName ? { userName: entry.userName } : {}),
      ...(entry.userId ? { userId: entry.userId } : {}),
    };
    if (entry.action === 'set-team') {
      const written = entry.after.team?.value;
      const now = entry.userId ? team(entry.userId) : undefined;
      if (!entry.before.team) skip(entry, 'had no team before the run, and CXone has no "no team": left as it is');
      else if (now === undefined) skip(entry, 'the employee no longer exists at the provider');
      else if (now !== written) skip(entry, `changed again since: the team is now ${now === null ? 'none' : now}`);
      else
        add({
          kind: 'assignment',
          action: 'restore-team',
          ...who,
          team: entry.before.team,
          expected: { teamId: written },
        });
      continue;
    }
    const skill = {
      agentId: entry.agentId,
      skillId: entry.skillId,
      ...(entry.skillName ? { skillName: entry.skillName } : {}),
    };
    const now = proficiency(entry.skillId ?? 0, entry.agentId ?? 0);
    const left = entry.after.proficiency;
    if (now !== left) {
      skip(
        entry,
        `changed again since: ${now === undefined ? 'the agent no longer holds the skill' : left === undefined ? `the agent holds it again (proficiency ${now})` : `proficiency is now ${now}`}`,
      );
      continue;
    }
    if (entry.before.proficiency === undefined)
      add({ kind: 'assignment', action: 'remove-skill', ...who, ...skill, expected: { proficiency: left } });
    else
      add({
        kind: 'assignment',
        action: 'restore-skill',
        ...who,
        ...skill,
        proficiency: entry.before.proficiency,
        expected: left === undefined ? {} : { proficiency: left },
      });
  }
  return { changes, skipped, counts };
}

/** The journal entry of a user a provisioning run created (its id when the provider answered one). */
export function createdEntry(userName: string, id: string | undefined, user: Record<string, unknown>): JournalEntry {
  return {
    ...(id ? { id } : {}),
    userName,
    operation: 'create',
    before: {},
    after: { active: user.active ?? true },
    appliedAt: new Date().toISOString(),
  };
}

/**
 * The journal entry of an update of `current` by `changes` (computed from `desired`): the
 * previous values of the attributes they touch, and what they wrote. Setting `active` from false
 * to true is a reactivation.
 */
export function updatedEntry(
  userName: string,
  current: Record<string, unknown> & { id: string },
  changes: readonly PatchOperation[],
  desired: Record<string, unknown>,
): JournalEntry {
  const before = pickAttributes(current, touchedAttributes(changes));
  const after = writtenValues(changes, desired);
  return {
    id: current.id,
    userName,
    operation: before.active === false && after.active === true ? 'reactivate' : 'update',
    before,
    after,
    appliedAt: new Date().toISOString(),
  };
}
