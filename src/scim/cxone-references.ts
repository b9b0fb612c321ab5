// CXone's references by name: a mapping writes the NAME of an employee's role, team or login
// authenticator in `display` (`roles.display`, `urn:…:nice:2.0:User:team.display`,
// `urn:…:nice:2.0:User:loginAuthenticator.display`), and CXone wants the id in `value`. This fills
// each `value` from its `display` through the tenant's directory (names compared without case; a
// name two entries share is ambiguous, never a guess) and drops the `display`, which CXone computes
// (its /Schemas declares it read-only). A reference that already has a `value` is left as it is.
// Pure: the activities read the directory (src/activities/cxone-directory.ts) and hand it here.
import { NICE_USER_EXTENSION, type NameResolution } from './assignments';

export type ReferenceKind = 'roles' | 'teams' | 'loginAuthenticators';

/** One entry of a tenant's list of roles, teams or login authenticators. */
export interface DirectoryEntry {
  id: string;
  name: string;
  /** `Active` or `Inactive` where the API says (roles, teams). */
  status?: string;
}

/** One list, indexed by name without case; or why the tenant's list could not be read. */
export type DirectoryList = { names: ReadonlyMap<string, readonly DirectoryEntry[]> } | { unavailable: string };

/** What the records of a run need of the tenant's directory (only the lists some record needs are read). */
export type CxoneDirectory = Partial<Record<ReferenceKind, DirectoryList>>;

/** The list by lower-cased name. */
export function directoryList(entries: readonly DirectoryEntry[]): DirectoryList {
  const names = new Map<string, DirectoryEntry[]>();
  for (const entry of entries) {
    const key = entry.name.trim().toLowerCase();
    names.set(key, [...(names.get(key) ?? []), entry]);
  }
  return { names };
}

const WHAT: Record<ReferenceKind, string> = {
  roles: 'role',
  teams: 'team',
  loginAuthenticators: 'login authenticator',
};

type Attrs = Record<string, unknown>;
const isObject = (v: unknown): v is Attrs => typeof v === 'object' && v !== null && !Array.isArray(v);
/** The key of `name` in `object`, in any letter case (attribute names are case-insensitive, RFC 7643 §2.1). */
const keyOf = (object: Attrs, name: string) => Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase());

/** One reference of a record: where it is and which list names it. */
interface Reference {
  kind: ReferenceKind;
  /** As the mapping target names it, e.g. `roles[0]`, `urn:…:User:team`. */
  path: string;
  holder: Attrs;
  key: string;
}

/** The references of a user (roles, and the NICE extension's team and loginAuthenticator), whatever they hold. */
function referencesOf(user: Attrs): Reference[] {
  const out: Reference[] = [];
  const rolesKey = keyOf(user, 'roles');
  const roles = rolesKey === undefined ? undefined : user[rolesKey];
  if (Array.isArray(roles))
    roles.forEach((_, i) =>
      out.push({ kind: 'roles', path: `${rolesKey}[${i}]`, holder: roles as unknown as Attrs, key: String(i) }),
    );
  const niceKey = keyOf(user, NICE_USER_EXTENSION);
  const nice = niceKey === undefined ? undefined : user[niceKey];
  if (isObject(nice)) {
    for (const [name, kind] of [
      ['team', 'teams'],
      ['loginAuthenticator', 'loginAuthenticators'],
    ] as const) {
      const key = keyOf(nice, name);
      if (key !== undefined) out.push({ kind, path: `${niceKey}:${key}`, holder: nice, key });
    }
  }
  return out;
}

/** A reference given by name only: `{ display: "Sales" }` without a `value`. */
function nameOnly(value: unknown): { displayKey: string; name: unknown } | undefined {
  if (!isObject(value)) return undefined;
  const valueKey = keyOf(value, 'value');
  if (valueKey !== undefined && value[valueKey] !== undefined && value[valueKey] !== null) return undefined;
  const displayKey = keyOf(value, 'display');
  return displayKey === undefined || value[displayKey] === undefined || value[displayKey] === null
    ? undefined
    : { displayKey, name: value[displayKey] };
}

/** The lists a user needs to be resolved: one per kind of reference given by name only. */
export function listsNeeded(user: unknown): Set<ReferenceKind> {
  const needed = new Set<ReferenceKind>();
  if (!isObject(user)) return needed;
  for (const ref of referencesOf(user)) if (nameOnly(ref.holder[ref.key])) needed.add(ref.kind);
  return needed;
}

/**
 * Whether a mapping target is a reference this module resolves by name: `roles.display`,
 * `urn:…:nice:2.0:User:team.display`, `urn:…:nice:2.0:User:loginAuthenticator.display`.
 */
export function isResolvedByName(extension: string | undefined, attribute: string, sub: string | undefined): boolean {
  if (sub?.toLowerCase() !== 'display') return false;
  if (extension === undefined) return attribute.toLowerCase() === 'roles';
  return (
    extension.toLowerCase() === NICE_USER_EXTENSION.toLowerCase() &&
    ['team', 'loginauthenticator'].includes(attribute.toLowerCase())
  );
}

/** A name looked up in a list. */
export function resolveName(list: DirectoryList, name: string): NameResolution<DirectoryEntry> {
  if ('unavailable' in list) return { kind: 'none' };
  const found = list.names.get(name.trim().toLowerCase()) ?? [];
  if (found.length === 1) return { kind: 'one', value: found[0] };
  return found.length === 0 ? { kind: 'none' } : { kind: 'ambiguous', ids: found.map((e) => e.id).sort() };
}

export type ResolvedUser = { ok: true; user: Attrs } | { ok: false; problems: string[] };

/**
 * The user with each reference given by name turned into its id (a copy; `user` is not changed),
 * or every problem: a name no entry has, a name several share, an inactive entry, a list the
 * tenant could not give. Each problem names the attribute (as a mapping target) and the name.
 */
export function resolveReferences(user: Attrs, directory: CxoneDirectory): ResolvedUser {
  const copy = structuredClone(user);
  const problems: string[] = [];
  for (const ref of referencesOf(copy)) {
    const given = nameOnly(ref.holder[ref.key]);
    if (!given) continue;
    const target = `${ref.path}.${given.displayKey}`;
    const what = WHAT[ref.kind];
    if (typeof given.name !== 'string') {
      problems.push(`${target}: must be the name of a ${what} (a string), got ${typeof given.name}`);
      continue;
    }
    const list = directory[ref.kind];
    if (list === undefined || 'unavailable' in list) {
      problems.push(
        `${target}: the ${what} "${given.name}" cannot be resolved to an id: ${list?.unavailable ?? `no list of ${ref.kind} was read`}`,
      );
      continue;
    }
    const found = resolveName(list, given.name);
    if (found.kind === 'none') {
      problems.push(`${target}: the tenant has no ${what} named "${given.name}"`);
    } else if (found.kind === 'ambiguous') {
      problems.push(
        `${target}: ${found.ids.length} ${what}s are named "${given.name}" (ids ${found.ids.join(', ')}): give the id in ${ref.path}.value`,
      );
    } else if (found.value.status !== undefined && found.value.status.toLowerCase() === 'inactive') {
      problems.push(`${target}: the ${what} "${found.value.name}" (id ${found.value.id}) is inactive`);
    } else {
      // `primary` and any other member stay; the name goes (the provider computes `display`).
      const kept = Object.entries(ref.holder[ref.key] as Attrs).filter(
        ([key]) => key.toLowerCase() !== 'value' && key.toLowerCase() !== 'display',
      );
      ref.holder[ref.key] = { value: found.value.id, ...Object.fromEntries(kept) };
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, user: copy };
}
