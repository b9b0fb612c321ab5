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

/**
 * Classifies every source record and every provider user. Deterministic: the changes come in
 * source order, then provider-only users in id order.
 */
export function classify(
  source: readonly SourceUser[],
  provider: readonly ProviderUser[],
  rules: SyncRules,
): Classification {
  const protectedAccounts = new Set(rules.protectedAccounts.map((a) => a.toLowerCase()));
  const problems: ClassifyProblem[] = [];
  const byKey = new Map<string, ProviderUser[]>();
  for (const user of provider) {
    const key = keyOf(user, rules.matchKey);
    if (key === undefined) continue;
    const list = byKey.get(key);
    if (list) list.push(user);
    else byKey.set(key, [user]);
  }

  const pairIndexes = rules.matchOn?.map(([, theirs]) => indexBy(provider, theirs));
  /** The record's key, its label, and the provider users it matches: the first matchOn pair that finds any decides. */
  const lookup = (user: Record<string, unknown>) => {
    if (!rules.matchOn || !pairIndexes) {
      const key = keyOf(user, rules.matchKey);
      const label = `${rules.matchKey} "${str(user[rules.matchKey])}"`;
      return key === undefined ? undefined : { key, label, candidates: byKey.get(key) ?? [] };
    }
    let first: { key: string; label: string; candidates: ProviderUser[] } | undefined;
    for (const [i, [ours, theirs]] of rules.matchOn.entries()) {
      const value = matchValue(user, ours, theirs);
      if (value === undefined) continue;
      const found = {
        key: `${i}\u0000${value}`,
        label: `${theirs} "${value}"`,
        candidates: pairIndexes[i].get(value) ?? [],
      };
      first ??= found;
      if (found.candidates.length > 0) return found;
    }
    return first;
  };
  const keyName = rules.matchOn ? `matchOn (${rules.matchOn.map(([ours]) => ours).join(', ')})` : rules.matchKey;

  const changes: PlannedChange[] = [];
  const matched = new Set<string>();
  const seen = new Map<string, number>();
  for (const { index, user, noCreate, activeLater, writes } of source) {
    const userName = str(user.userName);
    const found = lookup(user);
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
      for (const c of candidates) matched.add(c.id); // ambiguous: never deprovisioned either
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
    matched.add(current.id);
    if (isProtected(current, protectedAccounts)) {
      changes.push({ action: 'protected', record: index, id: current.id, userName: current.userName });
      continue;
    }
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
    if (ops.length === 0)
      changes.push({ action: 'unchanged', record: index, id: current.id, userName: current.userName });
    else
      changes.push({
        action: reactivating ? 'reactivate' : 'update',
        record: index,
        id: current.id,
        userName: current.userName,
        changes: ops,
      });
  }

  let managed = 0;
  const rest = provider
    .filter((user) => !matched.has(user.id))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const user of provider) if (inScope(user, rules.scope) && !isProtected(user, protectedAccounts)) managed++;
  for (const user of rest) {
    const base = { id: user.id, userName: user.userName };
    if (isProtected(user, protectedAccounts)) changes.push({ action: 'protected', ...base });
    else if (!inScope(user, rules.scope)) changes.push({ action: 'out-of-scope', ...base });
    else if (rules.deprovision === 'delete') changes.push({ action: 'delete', ...base });
    else if (user.active === false) changes.push({ action: 'unchanged', ...base });
    else changes.push({ action: 'deactivate', ...base });
  }
  const sourceInScope = source.filter(({ user }) =>
    inScope({ id: '', userName: str(user.userName), externalId: str(user.externalId), resource: user }, rules.scope),
  ).length;
  return { changes, problems, managed, sourceInScope };
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

/** Provider users by their value at one attribute path. */
function indexBy(provider: readonly ProviderUser[], attribute: string): Map<string, ProviderUser[]> {
  const index = new Map<string, ProviderUser[]>();
  for (const user of provider) {
    const value = matchValue(user.resource, attribute, attribute);
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
