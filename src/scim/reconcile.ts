// Reconciliation (job 3, syncUsers): the source's users against the provider's, classified into
// one action each. Pure and deterministic — the planning activity runs it over 100 000 users and
// the workflow uses the threshold and quarantine rules — so a plan computed twice is the same plan.
import { parseTargetPath, readPath } from './attribute-path';
import { type AttributeWrites, type PatchOperation, updateOperations } from './patch';

export type SyncAction =
  | 'create'
  | 'update'
  | 'reactivate'
  | 'deactivate'
  | 'delete'
  | 'unchanged'
  | 'protected'
  | 'out-of-scope';

/** Which attribute identifies a user in both places. userName compares case-insensitively (RFC 7643 §4.1.1). */
export type MatchKey = 'userName' | 'externalId';

/**
 * Which provider users this sync manages, i.e. may deactivate or delete when they are not in the
 * source. Every given condition must hold; an empty scope manages every provider user.
 */
export interface SyncScope {
  /** Only users that carry an externalId (typical for users a provisioning engine created). */
  hasExternalId?: boolean;
  /** Only users whose userName ends with one of these suffixes (case-insensitive), e.g. `@corp.example`. */
  userNameSuffixes?: string[];
  /** Only users whose externalId starts with this prefix. */
  externalIdPrefix?: string;
}

/** A provider user as listed (only the attributes the sync compares). */
export interface ProviderUser {
  id: string;
  userName?: string;
  externalId?: string;
  active?: boolean;
  /** The listed representation, compared with the source's. */
  resource: Record<string, unknown>;
}

/** A listed provider resource as the sync compares it; undefined without an id. */
export function providerUserOf(resource: Record<string, unknown>): ProviderUser | undefined {
  const r = resource;
  if (typeof r.id !== 'string') return undefined;
  return {
    id: r.id,
    ...(typeof r.userName === 'string' ? { userName: r.userName } : {}),
    ...(typeof r.externalId === 'string' ? { externalId: r.externalId } : {}),
    ...(typeof r.active === 'boolean' ? { active: r.active } : {}),
    resource: r,
  };
}

/** A valid source record, already mapped to a SCIM User. */
export interface SourceUser {
  /** 0-based position in the source. */
  index: number;
  user: Record<string, unknown>;
  /**
   * A future-dated joiner not due yet, or a leaver whose last day is over (src/scim/dated-actions.ts):
   * never created (its datedUserActions workflow creates it when due). A provider user it matches is still compared.
   */
  noCreate?: boolean;
  /**
   * A start date in the future: the provider user it matches keeps its `active` (a transfer or a rehire
   * is not locked out, nor let in early: the user's datedUserActions workflow activates it at the start).
   */
  activeLater?: boolean;
  /** The mapping's create-only attributes and flow-null clears: how an update of a matched user differs from a create. */
  writes?: AttributeWrites;
}

export interface PlannedChange {
  action: SyncAction;
  /** The source record (absent for provider-only users). */
  record?: number;
  /** The provider user (absent for creates). */
  id?: string;
  userName?: string;
  /** The PATCH operations of an update or reactivation. */
  changes?: PatchOperation[];
}

/** A mapping's `matchOn` pair: an attribute of the mapped user, and the provider's attribute it is compared with. */
export type MatchPair = readonly [string, string];

export interface SyncRules {
  matchKey: MatchKey;
  /** The mapping's `matchOn`: pairs tried in turn, the first that finds a provider user deciding; replaces matchKey. */
  matchOn?: readonly MatchPair[];
  scope: SyncScope;
  /** userNames or ids never touched (break-glass admins); compared case-insensitively. */
  protectedAccounts: string[];
  /** `deactivate` (soft, `active: false`, default) or `delete` (hard DELETE) for users gone from the source. */
  deprovision: 'deactivate' | 'delete';
}

export interface ClassifyProblem {
  record: number;
  userName?: string;
  reason: string;
}

export interface Classification {
  changes: PlannedChange[];
  /** Source records that could not be planned (duplicate key, missing key): reported, never written. */
  problems: ClassifyProblem[];
  /** Provider users the sync manages (in scope and not protected). */
  managed: number;
  /** Source users the scope rule covers (a rule that covers neither side is a mistake). */
  sourceInScope: number;
}

export type ActionCounts = Record<SyncAction, number>;

export function emptyCounts(): ActionCounts {
  return {
    create: 0,
    update: 0,
    reactivate: 0,
    deactivate: 0,
    delete: 0,
    unchanged: 0,
    protected: 0,
    'out-of-scope': 0,
  };
}

export function countActions(changes: readonly PlannedChange[]): ActionCounts {
  const counts = emptyCounts();
  for (const change of changes) counts[change.action]++;
  return counts;
}

/** The order a plan is executed in: writes that add before those that take away. */
export const WRITE_ACTIONS: readonly SyncAction[] = ['create', 'update', 'reactivate'];
export const REMOVAL_ACTIONS: readonly SyncAction[] = ['deactivate', 'delete'];

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The normalized key of a user under the rule, or undefined when it has none. */
export function keyOf(user: { userName?: unknown; externalId?: unknown }, matchKey: MatchKey): string | undefined {
  const value = str(user[matchKey]);
  if (value === undefined) return undefined;
  return matchKey === 'userName' ? value.toLowerCase() : value;
}

export function inScope(user: ProviderUser, scope: SyncScope): boolean {
  if (scope.hasExternalId && !user.externalId) return false;
  if (scope.externalIdPrefix !== undefined && !(user.externalId ?? '').startsWith(scope.externalIdPrefix)) return false;
  if (scope.userNameSuffixes && scope.userNameSuffixes.length > 0) {
    const name = (user.userName ?? '').toLowerCase();
    if (!scope.userNameSuffixes.some((suffix) => name.endsWith(suffix.toLowerCase()))) return false;
  }
  return true;
}

function isProtected(user: { id?: string; userName?: string }, protectedAccounts: ReadonlySet<string>): boolean {
  return (
    (user.id !== undefined && protectedAccounts.has(user.id.toLowerCase())) ||
    (user.userName !== undefined && protectedAccounts.has(user.userName.toLowerCase()))
  );
}

function withoutActive(user: Record<string, unknown>): Record<string, unknown> {
  const { active: _active, ...rest } = user;
  return rest;
}

/** What `active` the source asks for: absent means active. */
const wantsActive = (user: Record<string, unknown>) => user.active !== false;

/** One way a record finds its provider user: the record's value and a provider user's, both normalized. */
export interface MatchStep {
  ours(user: Record<string, unknown>): string | undefined;
  theirs(user: ProviderUser): string | undefined;
  /** How a problem names the record's value. */
  label(user: Record<string, unknown>, value: string): string;
}

/** How records find provider users under the rules: the matchOn pairs tried in turn, or the one match key. */
export interface MatchPlan {
  steps: MatchStep[];
  /** How a problem names the match key. */
  keyName: string;
}

export function matchPlanOf(rules: Pick<SyncRules, 'matchKey' | 'matchOn'>): MatchPlan {
  if (!rules.matchOn) {
    const { matchKey } = rules;
    return {
      steps: [
        {
          ours: (user) => keyOf(user, matchKey),
          theirs: (user) => keyOf(user, matchKey),
          label: (user) => `${matchKey} "${str(user[matchKey])}"`,
        },
      ],
      keyName: matchKey,
    };
  }
  return {
    steps: rules.matchOn.map(([ours, theirs]) => ({
      ours: (user) => matchValue(user, ours, theirs),
      theirs: (user) => matchValue(user.resource, theirs, theirs),
      label: (_user, value) => `${theirs} "${value}"`,
    })),
    keyName: `matchOn (${rules.matchOn.map(([ours]) => ours).join(', ')})`,
  };
}

/** What a record matched: the key it is known by (step index and value), and the provider users with that value. */
export interface Found {
  key: string;
  label: string;
  candidates: readonly ProviderUser[];
}

/** The key of a record found by step `step` with `value` (records of one key are duplicates). */
export const foundKey = (step: number, value: string) => `${step}\u0000${value}`;

export function protectedSetOf(rules: Pick<SyncRules, 'protectedAccounts'>): ReadonlySet<string> {
  return new Set(rules.protectedAccounts.map((a) => a.toLowerCase()));
}

/**
 * Decides each record, in source order, from what it matched (`found`: undefined when it has no
 * match key). Records of one key must all be given in one call (the first is planned, the others
 * are duplicates). Returns the records' changes and problems, and the provider users they matched
 * (ambiguous ones included: never deprovisioned either).
 */
export function decideRecords(
  entries: Iterable<{ source: SourceUser; found: Found | undefined }>,
  keyName: string,
  protectedAccounts: ReadonlySet<string>,
): { changes: PlannedChange[]; problems: ClassifyProblem[]; matched: string[] } {
  const changes: PlannedChange[] = [];
  const problems: ClassifyProblem[] = [];
  const matched: string[] = [];
  const seen = new Map<string, number>();
  for (const { source, found } of entries) {
    const { index, user, noCreate } = source;
    const userName = str(user.userName);
    if (found === undefined) {
      problems.push({
        record: index + 1,
        userName,
        reason: `${keyName}: required to match the user (the sync's match key)`,
      });
      continue;
    }
    const { key } = found;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({
        record: index + 1,
        userName,
        reason: `${keyName}: duplicates record ${first + 1} of the source`,
      });
      continue;
    }
    seen.set(key, index);
    const { candidates } = found;
    if (candidates.length > 1) {
      for (const c of candidates) matched.push(c.id); // ambiguous: never deprovisioned either
      problems.push({
        record: index + 1,
        userName,
        reason: `${candidates.length} provider users match ${found.label} (ids ${candidates.map((c) => c.id).join(', ')}): resolve the duplicate at the provider`,
      });
      continue;
    }
    const current = candidates[0];
    if (!current) {
      // Not created yet: its datedUserActions workflow creates it when due (or never, for a past leaver).
      changes.push({ action: noCreate ? 'unchanged' : 'create', record: index, userName });
      continue;
    }
    matched.push(current.id);
    changes.push(compareMatched(source, current, protectedAccounts));
  }
  return { changes, problems, matched };
}

/** A record's change against the one provider user it matched. */
function compareMatched(
  { index, user, activeLater, writes }: SourceUser,
  current: ProviderUser,
  protectedAccounts: ReadonlySet<string>,
): PlannedChange {
  if (isProtected(current, protectedAccounts))
    return { action: 'protected', record: index, id: current.id, userName: current.userName };
  // userName is caseExact false (RFC 7643 §4.1.1): a case-only difference is no change.
  const compared = activeLater ? withoutActive(user) : user;
  const ops = updateOperations(compared, current.resource, writes).filter(
    (op) =>
      !(
        (op.path ?? '').toLowerCase() === 'username' &&
        String(op.value).toLowerCase() === String(current.userName ?? '').toLowerCase()
      ),
  );
  const reactivating = !activeLater && current.active === false && wantsActive(user);
  if (reactivating && !ops.some((op) => (op.path ?? '').toLowerCase() === 'active'))
    ops.push({ op: 'replace', path: 'active', value: true });
  if (ops.length === 0) return { action: 'unchanged', record: index, id: current.id, userName: current.userName };
  // A record that turns an active user inactive is a removal, whatever else it changes: it is applied
  // with the removals, after the deletion threshold and its approval (a bad export that marks everyone
  // inactive must not get past them as "updates").
  const deactivating = !activeLater && current.active !== false && user.active === false;
  return {
    action: reactivating ? 'reactivate' : deactivating ? 'deactivate' : 'update',
    record: index,
    id: current.id,
    userName: current.userName,
    changes: ops,
  };
}

/** What happens to a provider user no source record matched. */
export function orphanChange(
  user: ProviderUser,
  rules: Pick<SyncRules, 'scope' | 'deprovision'>,
  protectedAccounts: ReadonlySet<string>,
): PlannedChange {
  const base = { id: user.id, userName: user.userName };
  if (isProtected(user, protectedAccounts)) return { action: 'protected', ...base };
  if (!inScope(user, rules.scope)) return { action: 'out-of-scope', ...base };
  if (rules.deprovision === 'delete') return { action: 'delete', ...base };
  if (user.active === false) return { action: 'unchanged', ...base };
  return { action: 'deactivate', ...base };
}

/** A provider user the sync manages: in scope and not protected. */
export const isManaged = (user: ProviderUser, scope: SyncScope, protectedAccounts: ReadonlySet<string>) =>
  inScope(user, scope) && !isProtected(user, protectedAccounts);

/** A source user the scope rule covers. */
export const sourceInScopeOf = (user: Record<string, unknown>, scope: SyncScope) =>
  inScope({ id: '', userName: str(user.userName), externalId: str(user.externalId), resource: user }, scope);

/** Provider users in id order (how provider-only users are planned). */
export const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Classifies every source record and every provider user, in memory. Deterministic: the changes
 * come in source order, then provider-only users in id order. (syncUsers' planner runs the same
 * steps partition by partition on disk: src/activities/sync-partitions.ts.)
 */
export function classify(
  source: readonly SourceUser[],
  provider: readonly ProviderUser[],
  rules: SyncRules,
): Classification {
  const protectedAccounts = protectedSetOf(rules);
  const { steps, keyName } = matchPlanOf(rules);
  const indexes = steps.map((step) => indexBy(provider, step.theirs));
  /** The first step that finds any provider user decides; else the record is known by its first value. */
  const lookup = (user: Record<string, unknown>): Found | undefined => {
    let first: Found | undefined;
    for (const [i, step] of steps.entries()) {
      const value = step.ours(user);
      if (value === undefined) continue;
      const found = {
        key: foundKey(i, value),
        label: step.label(user, value),
        candidates: indexes[i].get(value) ?? [],
      };
      first ??= found;
      if (found.candidates.length > 0) return found;
    }
    return first;
  };
  const decided = decideRecords(
    source.map((s) => ({ source: s, found: lookup(s.user) })),
    keyName,
    protectedAccounts,
  );
  const matched = new Set(decided.matched);
  const changes = decided.changes;
  for (const user of provider.filter((u) => !matched.has(u.id)).sort(byId))
    changes.push(orphanChange(user, rules, protectedAccounts));
  let managed = 0;
  for (const user of provider) if (isManaged(user, rules.scope, protectedAccounts)) managed++;
  const sourceInScope = source.filter(({ user }) => sourceInScopeOf(user, rules.scope)).length;
  return { changes, problems: decided.problems, managed, sourceInScope };
}

/** A user's value at an attribute path, as compared for matching: userName in any case (RFC 7643 §4.1.1). */
function matchValue(user: Record<string, unknown>, attribute: string, providerAttribute: string): string | undefined {
  const path = parseTargetPath(attribute);
  const value = path ? readPath(user, path) : undefined;
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value);
  if (text === '') return undefined;
  return providerAttribute.toLowerCase() === 'username' ? text.toLowerCase() : text;
}

/** Provider users by their value under one match step. */
export function indexBy(
  provider: Iterable<ProviderUser>,
  valueAt: (user: ProviderUser) => string | undefined,
): Map<string, ProviderUser[]> {
  const index = new Map<string, ProviderUser[]>();
  for (const user of provider) {
    const value = valueAt(user);
    if (value === undefined) continue;
    const list = index.get(value);
    if (list) list.push(user);
    else index.set(value, [user]);
  }
  return index;
}

/** When removals need a person's approval: more than `maxCount`, or more than `maxShare` of the managed users. */
export interface DeletionThreshold {
  maxCount: number;
  /** 0..1 */
  maxShare: number;
}

export const DEFAULT_DELETION_THRESHOLD: DeletionThreshold = { maxCount: 500, maxShare: 0.2 };

export function exceedsThreshold(
  removals: number,
  managed: number,
  threshold: DeletionThreshold,
): { exceeded: boolean; reason?: string } {
  if (removals > threshold.maxCount)
    return { exceeded: true, reason: `${removals} removals exceed the threshold of ${threshold.maxCount}` };
  if (managed > 0 && removals / managed > threshold.maxShare) {
    return {
      exceeded: true,
      reason: `${removals} removals are ${((100 * removals) / managed).toFixed(1)} % of ${managed} managed users, above ${(100 * threshold.maxShare).toFixed(1)} %`,
    };
  }
  return { exceeded: false };
}

/** When a run stops writing: a failure rate above `maxFailureRate` once at least `minWrites` writes were made. */
export interface QuarantineRule {
  maxFailureRate: number;
  minWrites: number;
}

export const DEFAULT_QUARANTINE: QuarantineRule = { maxFailureRate: 0.4, minWrites: 100 };

export function shouldQuarantine(writes: number, failed: number, rule: QuarantineRule): boolean {
  return writes >= rule.minWrites && failed / writes > rule.maxFailureRate;
}
