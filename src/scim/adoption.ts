// Adopting an existing tenant (adoptUsers): every source record and every provider user in one
// class — matched exactly, matched only by a weaker key, ambiguous, provider-only (orphan) or
// source-only — and the links that would make later syncs match exactly. Pure and deterministic
// (the planning activity runs it, the plan hash names its result), so a report computed twice is
// the same report, whatever order the provider listed its users in.
import { canonicalJson } from './canonical';
import type { PlannedChange } from './reconcile';

/** Keys weaker than userName or the link attribute: used only when listed, linked only after approval. */
export type WeakKey = 'email' | 'name';
export const WEAK_KEYS: readonly WeakKey[] = ['email', 'name'];

export type AdoptionClass = 'exact' | 'weak' | 'ambiguous' | 'provider-only' | 'source-only';

export interface AdoptionRules {
  /** Where the source key is written on the provider (and compared): `externalId` or another string attribute path. */
  linkAttribute: string;
  /** Weak keys to match by, in no particular order. */
  weakKeys: readonly WeakKey[];
}

/** A valid source record (mapped to a SCIM User), `index` its 0-based position. */
export interface AdoptionSource {
  index: number;
  user: Record<string, unknown>;
}

/** A provider user as listed (its representation). */
export interface AdoptionProviderUser {
  id: string;
  resource: Record<string, unknown>;
}

/** What the key a pair matched by was: the link attribute's name, `userName`, or a weak key. */
export type MatchedBy = string;

/**
 * One line of the report. Every valid source record is on exactly one line, and so is every
 * provider user: a pair (exact, weak) holds one of each, the others one side only.
 */
export interface AdoptionEntry {
  class: AdoptionClass;
  /** Source record, 1-based. */
  record?: number;
  /** The source record's userName. */
  userName?: string;
  /** Provider user id. */
  id?: string;
  /** The provider user's userName. */
  providerUserName?: string;
  /** The provider user's `active`, when it says. */
  active?: boolean;
  /** What the provider user holds in the link attribute now. */
  linkValue?: string;
  /** Keys that matched (pairs). */
  matchedBy?: MatchedBy[];
  /** The source's value of the link attribute: what a link writes. */
  sourceKey?: string;
  /** Pairs: `linked` already holds the key, `link` would write it, `no-source-key` cannot (the record has none). */
  link?: 'linked' | 'link' | 'no-source-key';
  /** Ambiguous lines: the other side's candidates (provider ids, or 1-based source records). */
  candidateIds?: string[];
  candidateRecords?: number[];
  reason?: string;
}

/** A link the plan writes (after approval): the source key onto the provider user, verified first. */
export interface PlannedLink {
  id: string;
  /** 1-based source record. */
  record: number;
  /** The value written to the link attribute. */
  value: string;
  strength: 'exact' | 'weak';
  matchedBy: MatchedBy[];
  /** The provider user's userName when planned (its link attribute was empty): the write is refused if either changed. */
  expected: { userName?: string };
}

export interface AdoptionCounts {
  /** Pairs matched by userName or the link attribute. */
  exact: number;
  /** Pairs matched only by a listed weak key. */
  weak: number;
  /** Source records with several candidates (or sharing one), and provider users so involved. */
  ambiguousRecords: number;
  ambiguousProviderUsers: number;
  /** Provider users no source record matches: orphans. */
  providerOnly: number;
  /** Source records no provider user matches. */
  sourceOnly: number;
  /** Pairs whose provider user already holds the source key. */
  alreadyLinked: number;
  /** Links the plan writes after approval (exact and weak pairs that lack the key). */
  toLink: number;
}

export interface Adoption {
  /** Source records in source order, then provider-only users in id order. */
  entries: AdoptionEntry[];
  links: PlannedLink[];
  counts: AdoptionCounts;
}

/** Never a link attribute: identity, credentials, state, and the matched keys themselves. */
const NOT_LINKABLE = new Set(['id', 'username', 'password', 'active', 'schemas', 'meta', 'groups', 'emails', 'name']);
const ATTRIBUTE_PATH = /^(urn:[A-Za-z0-9][\w.:-]*:)?[A-Za-z][\w$-]*(\.[A-Za-z][\w$-]*)?$/;

/** Why `path` cannot be a link attribute, or undefined when it can. */
export function linkAttributeProblem(path: string): string | undefined {
  if (!ATTRIBUTE_PATH.test(path))
    return `"${path}" is not an attribute path (e.g. externalId, or urn:…:enterprise:2.0:User:employeeNumber)`;
  const leaf = path
    .slice(path.lastIndexOf(':') + 1)
    .split('.')[0]
    .toLowerCase();
  if (!path.startsWith('urn:') && NOT_LINKABLE.has(leaf))
    return `"${path}" identifies or describes the account; choose an attribute that only holds the source key`;
  return undefined;
}

/** Attribute names are case-insensitive (RFC 7643 §2.1). */
function member(resource: unknown, name: string): unknown {
  if (typeof resource !== 'object' || resource === null) return undefined;
  const key = Object.keys(resource).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : (resource as Record<string, unknown>)[key];
}

/** The value at an attribute path: `a`, `a.b`, or `urn:…:Schema:a` (an extension's attribute). */
export function valueAt(resource: Record<string, unknown>, path: string): unknown {
  const split = path.lastIndexOf(':');
  const base = split >= 0 ? member(resource, path.slice(0, split)) : resource;
  const [first, sub] = path.slice(split + 1).split('.');
  const value = member(base, first);
  return sub === undefined ? value : member(value, sub);
}

/** A resource fragment that sets `path` to `value` (what a PUT overlays on the current resource). */
export function fragmentAt(path: string, value: unknown): Record<string, unknown> {
  const split = path.lastIndexOf(':');
  const [first, sub] = path.slice(split + 1).split('.');
  const inner = sub === undefined ? { [first]: value } : { [first]: { [sub]: value } };
  return split >= 0 ? { [path.slice(0, split)]: inner } : inner;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const folded = (v: string) => v.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

/** Every address a user is known by: its emails and, when it is one, its userName (CXone's userName is an email). */
function emailsOf(user: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const emails = member(user, 'emails');
  if (Array.isArray(emails))
    for (const e of emails) {
      const value = text(member(e, 'value'));
      if (value?.includes('@')) found.add(folded(value));
    }
  const userName = text(member(user, 'userName'));
  if (userName?.includes('@')) found.add(folded(userName));
  return [...found];
}

function nameOf(user: Record<string, unknown>): string | undefined {
  const name = member(user, 'name');
  const given = text(member(name, 'givenName'));
  const family = text(member(name, 'familyName'));
  return given && family ? `${folded(given)}\u0000${folded(family)}` : undefined;
}

function weakValues(user: Record<string, unknown>, key: WeakKey): string[] {
  if (key === 'email') return emailsOf(user);
  const name = nameOf(user);
  return name ? [name] : [];
}

/** Edges of a bipartite graph: source index ↔ provider id, each with the keys that joined them. */
type Edges = Map<number, Map<string, Set<MatchedBy>>>;

function addEdge(edges: Edges, record: number, id: string, by: MatchedBy): void {
  let row = edges.get(record);
  if (!row) edges.set(record, (row = new Map()));
  let keys = row.get(id);
  if (!keys) row.set(id, (keys = new Set()));
  keys.add(by);
}

/** Joins every record to every provider user sharing a value of `key` (values already normalized). */
function join(
  edges: Edges,
  records: readonly AdoptionSource[],
  provider: readonly AdoptionProviderUser[],
  by: MatchedBy,
  values: (user: Record<string, unknown>) => string[],
): void {
  const index = new Map<string, string[]>();
  for (const p of provider)
    for (const v of values(p.resource)) {
      const ids = index.get(v);
      if (ids) ids.push(p.id);
      else index.set(v, [p.id]);
    }
  for (const r of records)
    for (const v of values(r.user)) for (const id of index.get(v) ?? []) addEdge(edges, r.index, id, by);
}

interface Component {
  records: number[];
  ids: string[];
}

/** The connected components of the graph that hold at least one edge (records ascending, ids sorted). */
function components(edges: Edges): Component[] {
  const byId = new Map<string, number[]>();
  for (const [record, row] of edges)
    for (const id of row.keys()) {
      const list = byId.get(id);
      if (list) list.push(record);
      else byId.set(id, [record]);
    }
  const seen = new Set<number>();
  const found: Component[] = [];
  for (const start of [...edges.keys()].sort((a, b) => a - b)) {
    if (seen.has(start)) continue;
    const records = new Set<number>([start]);
    const ids = new Set<string>();
    const queue = [start];
    seen.add(start);
    while (queue.length > 0) {
      const record = queue.pop() as number;
      for (const id of edges.get(record)?.keys() ?? []) {
        if (ids.has(id)) continue;
        ids.add(id);
        for (const other of byId.get(id) ?? [])
          if (!seen.has(other)) {
            seen.add(other);
            records.add(other);
            queue.push(other);
          }
      }
    }
    found.push({ records: [...records].sort((a, b) => a - b), ids: [...ids].sort() });
  }
  return found;
}

const byIdOrder = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Classifies every source record and every provider user. Exact keys first (the link attribute,
 * compared exactly, and userName, ignoring case): a record and a provider user joined to each
 * other and to nothing else are an exact pair; a larger group is ambiguous. Then, among what is
 * left, the listed weak keys (email addresses and given + family name, ignoring case and spacing)
 * the same way. A pair whose provider user already holds a different link value is ambiguous, never
 * taken over. A weak pair is only ever proposed: its link is written after approval like any other.
 */
export function classifyAdoption(
  source: readonly AdoptionSource[],
  providerUsers: readonly AdoptionProviderUser[],
  rules: AdoptionRules,
): Adoption {
  const provider = [...providerUsers].sort(byIdOrder);
  const userById = new Map(provider.map((p) => [p.id, p]));
  const recordAt = new Map(source.map((s) => [s.index, s]));
  const link = rules.linkAttribute;
  const linkValue = (user: Record<string, unknown>) => text(valueAt(user, link));

  const exactEdges: Edges = new Map();
  join(exactEdges, source, provider, link, (u) => {
    const v = linkValue(u);
    return v === undefined ? [] : [v];
  });
  join(exactEdges, source, provider, 'userName', (u) => {
    const v = text(member(u, 'userName'));
    return v === undefined ? [] : [v.toLowerCase()];
  });

  const entryOf = new Map<number, AdoptionEntry>();
  const providerEntries = new Map<string, AdoptionEntry>();
  const links: PlannedLink[] = [];
  const providerSide = (p: AdoptionProviderUser) => {
    const active = member(p.resource, 'active');
    const userName = text(member(p.resource, 'userName'));
    const current = linkValue(p.resource);
    return {
      id: p.id,
      ...(userName !== undefined ? { providerUserName: userName } : {}),
      ...(typeof active === 'boolean' ? { active } : {}),
      ...(current !== undefined ? { linkValue: current } : {}),
    };
  };
  const recordSide = (r: AdoptionSource) => {
    const userName = text(member(r.user, 'userName'));
    const key = linkValue(r.user);
    return {
      record: r.index + 1,
      ...(userName !== undefined ? { userName } : {}),
      ...(key !== undefined ? { sourceKey: key } : {}),
    };
  };

  const settle = (groups: Component[], edges: Edges, strength: 'exact' | 'weak') => {
    for (const group of groups) {
      if (group.records.length === 1 && group.ids.length === 1) {
        const r = recordAt.get(group.records[0]) as AdoptionSource;
        const p = userById.get(group.ids[0]) as AdoptionProviderUser;
        const matchedBy = [...(edges.get(r.index)?.get(p.id) ?? [])].sort();
        const key = linkValue(r.user);
        const current = linkValue(p.resource);
        if (current !== undefined && key !== undefined && current !== key) {
          // Linked to someone else (or the source's key changed): a person decides, never a takeover.
          const reason = `provider user ${p.id} already has ${link} "${current}", the source record "${key}"`;
          entryOf.set(r.index, { class: 'ambiguous', ...recordSide(r), candidateIds: [p.id], reason });
          providerEntries.set(p.id, {
            class: 'ambiguous',
            ...providerSide(p),
            candidateRecords: [r.index + 1],
            reason,
          });
          continue;
        }
        const state = key === undefined ? 'no-source-key' : current === key ? 'linked' : 'link';
        // A record without a key is reported but never linked: there is nothing to write.
        entryOf.set(r.index, { class: strength, ...recordSide(r), ...providerSide(p), matchedBy, link: state });
        providerEntries.set(p.id, entryOf.get(r.index) as AdoptionEntry);
        if (state === 'link')
          links.push({
            id: p.id,
            record: r.index + 1,
            value: key as string,
            strength,
            matchedBy,
            expected: {
              ...(text(member(p.resource, 'userName')) !== undefined
                ? { userName: text(member(p.resource, 'userName')) }
                : {}),
            },
          });
        continue;
      }
      const keysOf = (record: number) =>
        [...new Set([...(edges.get(record)?.values() ?? [])].flatMap((keys) => [...keys]))].sort().join(', ');
      for (const record of group.records) {
        const r = recordAt.get(record) as AdoptionSource;
        const candidates = [...(edges.get(record)?.keys() ?? [])].sort();
        entryOf.set(record, {
          class: 'ambiguous',
          ...recordSide(r),
          candidateIds: candidates,
          reason: `${strength === 'exact' ? '' : 'weak key: '}${candidates.length} provider users (${candidates.join(', ')}) match by ${keysOf(record)}${group.records.length > 1 ? `, in a group of ${group.records.length} source records` : ''}`,
        });
      }
      for (const id of group.ids) {
        const p = userById.get(id) as AdoptionProviderUser;
        const records = group.records.filter((record) => edges.get(record)?.has(id)).map((record) => record + 1);
        providerEntries.set(id, {
          class: 'ambiguous',
          ...providerSide(p),
          candidateRecords: records,
          reason: `${records.length} source records (${records.join(', ')}) match${group.ids.length > 1 ? `, in a group of ${group.ids.length} provider users` : ''}`,
        });
      }
    }
  };
  settle(components(exactEdges), exactEdges, 'exact');

  const weakEdges: Edges = new Map();
  const restSource = source.filter((s) => !entryOf.has(s.index));
  const restProvider = provider.filter((p) => !providerEntries.has(p.id));
  for (const key of WEAK_KEYS)
    if (rules.weakKeys.includes(key)) join(weakEdges, restSource, restProvider, key, (u) => weakValues(u, key));
  settle(components(weakEdges), weakEdges, 'weak');

  const entries: AdoptionEntry[] = [];
  for (const s of [...source].sort((a, b) => a.index - b.index))
    entries.push(entryOf.get(s.index) ?? { class: 'source-only', ...recordSide(s) });
  for (const p of provider) {
    const entry = providerEntries.get(p.id);
    if (!entry) entries.push({ class: 'provider-only', ...providerSide(p) });
    else if (entry.class === 'ambiguous' && entry.record === undefined) entries.push(entry);
  }
  return { entries, links, counts: countAdoption(entries) };
}

export function countAdoption(entries: readonly AdoptionEntry[]): AdoptionCounts {
  const counts: AdoptionCounts = {
    exact: 0,
    weak: 0,
    ambiguousRecords: 0,
    ambiguousProviderUsers: 0,
    providerOnly: 0,
    sourceOnly: 0,
    alreadyLinked: 0,
    toLink: 0,
  };
  for (const e of entries) {
    if (e.class === 'exact' || e.class === 'weak') {
      counts[e.class]++;
      if (e.link === 'linked') counts.alreadyLinked++;
      if (e.link === 'link') counts.toLink++;
    } else if (e.class === 'ambiguous') {
      if (e.record !== undefined) counts.ambiguousRecords++;
      else counts.ambiguousProviderUsers++;
    } else if (e.class === 'provider-only') counts.providerOnly++;
    else counts.sourceOnly++;
  }
  return counts;
}

/**
 * What the plan hash is the SHA-256 of (computed in the activity): the tenant, the source's
 * digest, the rules and every line of the report. Canonical, so the same inputs give the same
 * hash; any change to a line changes it, and approveLinks names exactly what was reviewed.
 */
export function adoptionPlanText(
  tenant: string,
  sourceSha256: string | undefined,
  rules: AdoptionRules,
  adoption: Pick<Adoption, 'entries' | 'links'>,
): string {
  return canonicalJson({
    kind: 'adoptUsers',
    tenant,
    source: sourceSha256 ?? null,
    rules: { linkAttribute: rules.linkAttribute, weakKeys: [...rules.weakKeys].sort() },
    entries: adoption.entries,
    links: adoption.links,
  });
}

/** What a sync does with provider users that are in no source record (orphans). */
export type OrphanOption = 'auto' | 'leavers' | 'out-of-scope';

export interface OrphanPolicy {
  orphans: 'leavers' | 'out-of-scope';
  /** Said in the sync's result when the policy holds removals back on its own. */
  warning?: string;
}

/**
 * The first sync of a tenant nobody adopted must not take its hand-made accounts for leavers:
 * unless told otherwise (`leavers`), its orphans are out of scope, with a warning saying how to
 * adopt. Once adopted, orphans are leavers, as they always were.
 */
export function orphanPolicy(adopted: boolean, option: OrphanOption = 'auto'): OrphanPolicy {
  if (option === 'leavers') return { orphans: 'leavers' };
  if (option === 'out-of-scope') return { orphans: 'out-of-scope' };
  if (adopted) return { orphans: 'leavers' };
  return {
    orphans: 'out-of-scope',
    warning:
      'this tenant was never adopted: provider users missing from the source are treated as out of scope, not as leavers. ' +
      'Review them with `cxone-scim adopt` (and link with --apply), or pass --orphans leavers to deprovision them',
  };
}

/** A plan under the policy: with orphans out of scope, every deactivation or delete becomes `out-of-scope`. */
export function withOrphanPolicy(
  changes: readonly PlannedChange[],
  policy: OrphanPolicy,
): { changes: PlannedChange[]; heldBack: number } {
  if (policy.orphans === 'leavers') return { changes: [...changes], heldBack: 0 };
  let heldBack = 0;
  const held = changes.map((c): PlannedChange => {
    // Only orphans are held back: a source record that marks its user inactive is the source's word.
    if ((c.action !== 'deactivate' && c.action !== 'delete') || c.record !== undefined) return c;
    heldBack++;
    return { ...c, action: 'out-of-scope' };
  });
  return { changes: held, heldBack };
}
