// Undoing a run (pure): what a run's writes recorded (its journal) and what the provider holds now
// → the compensating writes. A value changed again since the run, or a resource gone, is skipped
// and named: an undo never overwrites someone else's later change.
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

export type UndoAction = 'reactivate' | 'restore' | 'deactivate-created';

export interface UndoChange {
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

export interface UndoSkip {
  userName?: string;
  id?: string;
  operation: JournalOperation;
  reason: string;
}

export type UndoCounts = Record<UndoAction, number> & { skipped: number };

export interface UndoPlan {
  changes: UndoChange[];
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

export function emptyUndoCounts(): UndoCounts {
  return { reactivate: 0, restore: 0, 'deactivate-created': 0, skipped: 0 };
}

/**
 * The compensation of a run's journal. `current(entry)` is the resource the provider holds now
 * (undefined: gone). A sync writes each user once, so each entry is undone on its own.
 */
export function planUndo(
  journal: readonly JournalEntry[],
  current: (entry: JournalEntry) => Record<string, unknown> | undefined,
  options: { includeCreated: boolean },
): UndoPlan {
  const changes: UndoChange[] = [];
  const skipped: UndoSkip[] = [];
  const counts = emptyUndoCounts();
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
    counts[action]++;
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
