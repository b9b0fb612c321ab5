// Activities of syncUsers (job 3): plan a reconciliation (read the source, list the provider's
// users page by page, classify) and apply one slice of a plan. The plan is stored in the claim
// store, one object per slice (plan-claims.ts): workflow history carries counts, samples, the
// hash and the slices' references only, and any worker of a fleet can apply any slice.
// Reading the source lives in sync-source.ts, applying a slice in sync-apply.ts; this file plans.
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ScimClient } from '../http';
import { FailureType } from '../core/failures';
import { filterString } from '../scim/filter';
import {
  classify,
  emptyCounts,
  keyOf,
  providerUserOf,
  REMOVAL_ACTIONS,
  WRITE_ACTIONS,
  type ActionCounts,
  type ClassifyProblem,
  type PlannedChange,
  type ProviderUser,
  type SourceUser,
  type SyncAction,
  type SyncRules,
} from '../scim/reconcile';
import { forUpdate } from '../scim/patch';
import type { DatedDispositionKind } from '../scim/dated-actions';
import { parseTargetPath } from '../mapping/mapping';
import type { UserSchemaModel } from '../scim/user-validation';
import type { ActivityDeps } from './deps';
import { asActivity, scimClientFor } from './deps';
import { claimStoreFor, putClaim, type ClaimRef } from './claims/claim-store';
import type { DatedClaimLine } from './dated';
import { INLINE_SLICE_REFS, PlanSliceSpool, type SliceIndex, storeSliceIndex } from './claims/plan-claims';
import { LineWriter, scratchFolder } from './claims/local-spool';
import { PartitionedClassifier, type PlanItem, StreamedPlanHash } from './sync-partitions';
import { compiledOrUndefined, planningOfRun, type PlanSource } from './provisioning';
import { sourceLocationOf, type Planning } from './sources/user-source';
import { traceOf, writePlanOut, type PlanOut, type UserTrace } from './sync-review';
import { orphanPolicy, withOrphanPolicy, type OrphanOption, type OrphanPolicy } from '../scim/adoption';
import { readAdoption } from './claims/adoption-record';
import { pickAttributes, touchedAttributes } from '../scim/undo';
import { managerPlanOf, type ManagerPlan } from './manager-refs';
import { providerFinder } from './provider/attribute-finder';
import {
  applySyncSlice,
  type ApplyPlanFileSliceInput,
  type ApplySliceInput,
  type StoredChange,
  type SyncPhase,
} from './sync-apply';
import { readSourceUsers, type SourceTotals, type SourceUserSink, type ValidSourceUser } from './sync-source';

export type { HttpCall, PlanOut, UserTrace } from './sync-review';
export type { ApplyPlanFileSliceInput, ApplySliceInput, SliceTally, SyncFailure, SyncPhase } from './sync-apply';
export { applySyncSlice } from './sync-apply';
export type { SourceRead, SourceReferences, SourceTotals, SourceUserSink, ValidSourceUser } from './sync-source';
export { readSourceUsers, sourceUsers } from './sync-source';

export interface SyncPlanInput {
  tenant: string;
  source: PlanSource;
  model: UserSchemaModel;
  rules: SyncRules;
  /** Users per page when listing the provider (at most its filter.maxResults). */
  pageSize: number;
  /** Changes per action shown as a sample, and problems described (all are counted). */
  maxReported: number;
  /** Changes per apply activity: the plan is stored in slices of this size. */
  sliceSize: number;
  /** Only this source user (provision on demand): matched by userName, case-insensitively. */
  onlyUserName?: string;
  /** Also write the full plan, for review, to this path on the worker's file system. */
  planOut?: PlanOut;
  /** Provider users in no source record: `auto` (leavers once the tenant was adopted, else out of scope), `leavers`, `out-of-scope`. */
  orphans?: OrphanOption;
}

export interface SyncPlanSample {
  action: SyncAction;
  userName?: string;
  id?: string;
  record?: number;
  changedAttributes?: string[];
}

export interface SyncPlanSummary {
  /** SHA-256 of the plan (source digest and every change): what an approval names. */
  planHash: string;
  /**
   * The stored plan, per phase, one claim per apply slice: creates, updates and reactivations, then
   * removals. A phase of more than INLINE_SLICE_REFS slices is listed in `sliceIndex` instead (empty here).
   */
  slices: Record<SyncPhase, ClaimRef[]>;
  /** Phases whose slices are listed in an index claim (so that the plan's result stays small). */
  sliceIndex?: Partial<Record<SyncPhase, SliceIndex>>;
  sourceSha256?: string;
  records: number;
  invalid: number;
  invalidRecords: ClassifyProblem[];
  /** Records that could not be planned (missing or duplicate match key, ambiguous match). */
  problems: ClassifyProblem[];
  problemCount: number;
  providerUsers: number;
  managed: number;
  /** Source users the scope rule covers. */
  sourceInScope: number;
  counts: ActionCounts;
  sample: SyncPlanSample[];
  /** GET requests made to list the provider's users. */
  pages: number;
  /** Where `planOut` wrote the plan (on the worker). */
  planOut?: string;
  /** With `onlyUserName`: the user's record, match and planned action. */
  trace?: UserTrace;
  /** With a mapping's `dates`: the valid records per disposition, the dated users, and when the source was planned. */
  dated?: { counts: Partial<Record<DatedDispositionKind, number>>; users: number; plannedAt: string };
  /** With `dated`: each dated user's plan for its datedUserActions workflow, stored (DatedClaimLine per line). */
  datedPlans?: ClaimRef;
  /** Removals the orphan policy turned into `out-of-scope`, and why (a tenant never adopted). */
  orphansHeldBack?: number;
  orphanWarning?: string;
  /** The mapping's manager references: resolved when planned, pending until the sync created them (linkManagers), or warned about. */
  managers?: ManagerPlan;
}

const PHASE_ACTIONS: Record<SyncPhase, readonly SyncAction[]> = { writes: WRITE_ACTIONS, removals: REMOVAL_ACTIONS };

/**
 * The attributes worth listing: what the source's users carry, what matching and scope need, and
 * `targets` (the mapping's manager: a record whose manager is pending or unknown carries none).
 */
function listedAttributes(users: readonly SourceUser[], rules: SyncRules, targets: readonly string[] = []): string[] {
  const names = new Set(['id', 'userName', 'externalId', 'active']);
  const addTarget = (target: string) => {
    const path = parseTargetPath(target);
    if (path) names.add(path.extension ? `${path.extension}:${path.attribute}` : path.attribute);
  };
  for (const [, theirs] of rules.matchOn ?? []) names.add(theirs.replace(/\[.*$/, ''));
  for (const target of targets) addTarget(target);
  for (const { user, writes } of users.slice(0, 1000)) {
    for (const key of Object.keys(user)) if (key !== 'schemas' && key !== 'password') names.add(key);
    // An attribute to clear is absent from the source's user, and compared only if listed.
    for (const target of writes?.clear ?? []) addTarget(target);
  }
  return [...names];
}

/** The targets of a file source's manager references (listed, so that a manager already linked compares equal). */
function referenceTargets(source: PlanSource): string[] {
  const mapping = source.kind === 'file' ? compiledOrUndefined(source.mapping) : undefined;
  return (mapping?.rules ?? []).flatMap((rule) => (rule.reference ? [rule.target] : []));
}

/**
 * Every provider user with these attributes, page by page (1-based startIndex), until an empty or
 * last page: each listed resource handed to `each` as it comes (a user listed twice is handed twice).
 * Returns the pages read.
 */
export async function forEachProviderUser(
  client: ScimClient,
  endpoint: string,
  pageSize: number,
  attributeList: readonly string[],
  each: (resource: Record<string, unknown>) => void,
  filter?: string,
): Promise<number> {
  const attributes = attributeList.join(',');
  let startIndex = 1;
  let pages = 0;
  let listed = 0;
  for (;;) {
    const page = await client.get<{ Resources?: unknown[]; totalResults?: number; itemsPerPage?: number }>(endpoint, {
      query: { startIndex, count: pageSize, attributes, ...(filter ? { filter } : {}) },
    });
    pages++;
    Context.current().heartbeat({ listed });
    const resources = Array.isArray(page.body?.Resources) ? page.body.Resources : [];
    for (const resource of resources)
      if (resource !== null && typeof resource === 'object') each(resource as Record<string, unknown>);
    listed += resources.length;
    const total = Number(page.body?.totalResults);
    startIndex += resources.length;
    // Servers that ignore `count` return everything at once; an empty page ends the listing too.
    if (resources.length === 0 || (Number.isFinite(total) && startIndex > total)) break;
  }
  return pages;
}

/** Every provider user with these attributes, in memory, deduplicated by id (adoptUsers; a sync of one user). */
export async function listProviderUsers(
  client: ScimClient,
  endpoint: string,
  pageSize: number,
  attributeList: readonly string[],
  filter?: string,
) {
  const users = new Map<string, ProviderUser>();
  const add = (resource: Record<string, unknown>) => {
    const user = providerUserOf(resource);
    if (user && !users.has(user.id)) users.set(user.id, user);
  };
  const pages = await forEachProviderUser(client, endpoint, pageSize, attributeList, add, filter);
  return { users: [...users.values()], pages };
}

/** Writes that send the source's user keep it in the plan (a PUT needs all of it). */
// A deactivation planned from a source record (not an orphan's) carries it too: it may change more than `active`.
const CARRIES_USER = new Set<SyncAction>(['create', 'update', 'reactivate', 'deactivate']);

/**
 * A plan built as its changes come, in plan order: its hash, counts, sample, problems and the
 * phases' slices (spooled on local disk until the hash is known), never the whole plan in memory —
 * unless `keepChanges` (a plan written out for review, a trace of one user).
 */
/** What a plan may do to the user a source record matched or creates (a manager link may follow it). */
const WRITES_RECORD_USER = new Set<SyncAction>(['create', 'update', 'reactivate', 'deactivate', 'unchanged']);

class PlanBuilder {
  readonly counts = emptyCounts();
  readonly sample: SyncPlanSample[] = [];
  readonly problems: ClassifyProblem[] = [];
  problemCount = 0;
  /** Removals the orphan policy turned into `out-of-scope`. */
  heldBack = 0;
  /** Source records (0-based) whose user this plan does not write: protected, out of scope, not matched safely. */
  readonly notWritten = new Set<number>();
  readonly changes: PlannedChange[] | undefined;
  readonly #hash = new StreamedPlanHash();
  readonly #taken = new Map<SyncAction, number>();
  readonly #slices: PlanSliceSpool<SyncPhase, StoredChange>;
  readonly #policy: OrphanPolicy;
  readonly #maxReported: number;
  readonly #samplePerAction: number;

  constructor(
    dir: string,
    policy: OrphanPolicy,
    limits: { maxReported: number; samplePerAction: number },
    keepChanges: boolean,
  ) {
    this.#slices = new PlanSliceSpool(dir, Object.keys(PHASE_ACTIONS) as SyncPhase[]);
    this.#policy = policy;
    this.#maxReported = limits.maxReported;
    this.#samplePerAction = limits.samplePerAction;
    this.changes = keepChanges ? [] : undefined;
  }

  add(item: PlanItem): void {
    if ('problem' in item) {
      this.notWritten.add(item.problem.record - 1);
      this.problemCount++;
      if (this.problems.length < this.#maxReported) this.problems.push(item.problem);
      return;
    }
    let change = item.change;
    if (change.record !== undefined && !WRITES_RECORD_USER.has(change.action)) this.notWritten.add(change.record);
    if (change.action === 'deactivate' || change.action === 'delete') {
      // A tenant nobody adopted keeps its orphans out of scope unless told otherwise.
      const held = withOrphanPolicy([change], this.#policy);
      change = held.changes[0];
      this.heldBack += held.heldBack;
    }
    this.#hash.add(change);
    this.counts[change.action]++;
    this.#addToSample(change);
    this.changes?.push(change);
    const phase = (Object.keys(PHASE_ACTIONS) as SyncPhase[]).find((p) => PHASE_ACTIONS[p].includes(change.action));
    if (phase) this.#slices.add(phase, storedChange(change, item.source, item.resource));
  }

  #addToSample(change: PlannedChange): void {
    const n = this.#taken.get(change.action) ?? 0;
    if (n >= this.#samplePerAction) return;
    this.#taken.set(change.action, n + 1);
    this.sample.push({
      action: change.action,
      ...(change.userName ? { userName: change.userName } : {}),
      ...(change.id ? { id: change.id } : {}),
      ...(change.record !== undefined ? { record: change.record + 1 } : {}),
      ...(change.changes ? { changedAttributes: change.changes.map((c) => c.path ?? '(whole resource)') } : {}),
    });
  }

  /** The plan's hash, and its phases stored in slices of `sliceSize` (heartbeating the count stored). */
  async finish(
    store: string,
    named: { tenant: string; source: string | undefined; rules: SyncRules },
    sliceSize: number,
  ): Promise<{ planHash: string; slices: Record<SyncPhase, ClaimRef[]> }> {
    const planHash = this.#hash.digest(named);
    const slices = await this.#slices.store(store, planHash, sliceSize, (storedSlices: number) =>
      Context.current().heartbeat({ storedSlices }),
    );
    return { planHash, slices };
  }
}

/** A change as its slice stores it: creates and updates with the source's user, updates and deactivations with what they overwrite. */
function storedChange(
  change: PlannedChange,
  source: SourceUser | undefined,
  resource: Record<string, unknown> | undefined,
): StoredChange {
  // An update's user leaves out its create-only attributes (a PUT sends all of it).
  const user =
    change.record === undefined
      ? undefined
      : change.action === 'create'
        ? source?.user
        : forUpdate(source?.user ?? {}, source?.writes);
  const withUser = CARRIES_USER.has(change.action) && change.record !== undefined ? { ...change, user } : change;
  const before = beforeOf(change, resource);
  return before ? { ...withUser, before } : withUser;
}

/** What planning found besides the plan's changes. */
interface Planned {
  source: SourceTotals;
  /** Valid records planned (one user's sync: that user's). */
  records: number;
  providerUsers: number;
  managed: number;
  sourceInScope: number;
  pages: number;
  trace?: (changes: readonly PlannedChange[]) => UserTrace;
}

/** Heartbeats while the source is read: every this many valid records. */
const READ_HEARTBEAT_EVERY = 10_000;

/**
 * The whole source against the whole provider, flat in memory: both spooled by match value into
 * partition files on local disk, classified partition by partition (sync-partitions.ts).
 */
async function planAll(
  deps: ActivityDeps,
  input: SyncPlanInput,
  rules: SyncRules,
  scratch: string,
  plan: PlanBuilder,
  dated: SourceUserSink['dated'],
  planning: Planning,
): Promise<Planned> {
  const classifier = new PartitionedClassifier(scratch, rules);
  try {
    // The attributes worth listing are judged on the first records.
    const first: SourceUser[] = [];
    let read = 0;
    const valid = ({ line: _line, ...user }: ValidSourceUser) => {
      if (first.length < 1000) first.push(user);
      classifier.addSource(user);
      if (++read % READ_HEARTBEAT_EVERY === 0) Context.current().heartbeat({ read });
    };
    const client = scimClientFor(deps, input.tenant);
    const find = providerFinder(client, input.model.endpoint);
    const source = await readSourceUsers(deps, input, { valid, dated }, planning, { find });
    const pages = await forEachProviderUser(
      client,
      input.model.endpoint,
      input.pageSize,
      listedAttributes(first, rules, referenceTargets(input.source)),
      (resource) => classifier.addProvider(resource),
    );
    for (const item of classifier.items((classified: string) => Context.current().heartbeat({ classified })))
      plan.add(item);
    const { providerUsers, managed, sourceInScope } = classifier;
    return { source, records: source.records, providerUsers, managed, sourceInScope, pages };
  } finally {
    classifier.close();
  }
}

/** One source user (matched by userName, case-insensitively) against the provider's users of that userName, in memory. */
async function planOneUser(
  deps: ActivityDeps,
  input: SyncPlanInput & { onlyUserName: string },
  rules: SyncRules,
  plan: PlanBuilder,
  dated: SourceUserSink['dated'],
  planning: Planning,
): Promise<Planned> {
  const wanted = input.onlyUserName.toLowerCase();
  const valid: ValidSourceUser[] = [];
  const client = scimClientFor(deps, input.tenant);
  // Only this user's choices and manager are resolved (a userName to be chosen may be it).
  const only = (user: Record<string, unknown>) =>
    user.userName === undefined || String(user.userName).toLowerCase() === wanted;
  const source = await readSourceUsers(
    deps,
    input,
    {
      valid: (u) => void (String(u.user.userName ?? '').toLowerCase() === wanted && valid.push(u)),
      dated: (line) => (line.userName.toLowerCase() === wanted ? dated?.(line) : undefined),
    },
    planning,
    { find: providerFinder(client, input.model.endpoint), only },
  );
  if (valid.length === 0)
    throw ApplicationFailure.nonRetryable(
      `no valid source record has userName "${input.onlyUserName}"`,
      FailureType.InvalidSyncInput,
    );
  const listed = await listProviderUsers(
    client,
    input.model.endpoint,
    input.pageSize,
    listedAttributes(valid, rules, referenceTargets(input.source)),
    `userName eq ${filterString(input.onlyUserName)}`,
  );
  // A filtered listing is verified, never trusted: some servers ignore `filter` or compare it case-sensitively.
  const key = keyOf({ userName: input.onlyUserName }, 'userName');
  const providerUsers = listed.users.filter((u) => keyOf(u, 'userName') === key);
  const classified = classify(valid, providerUsers, rules);
  const sourceAt = new Map(valid.map((u) => [u.index, u]));
  const providerAt = new Map(providerUsers.map((u) => [u.id, u.resource]));
  for (const change of classified.changes) {
    const source = change.record !== undefined ? sourceAt.get(change.record) : undefined;
    const resource = change.id !== undefined ? providerAt.get(change.id) : undefined;
    plan.add({ change, ...(source ? { source } : {}), ...(resource ? { resource } : {}) });
  }
  for (const problem of classified.problems) plan.add({ problem });
  return {
    source,
    records: valid.length,
    providerUsers: providerUsers.length,
    managed: classified.managed,
    sourceInScope: classified.sourceInScope,
    pages: listed.pages,
    trace: (changes) => traceOf(valid[0], changes, providerUsers),
  };
}

/** Reads the source and the provider, classifies, and stores the plan; returns its summary. */
export async function planSync(deps: ActivityDeps, input: SyncPlanInput): Promise<SyncPlanSummary> {
  const planning = planningOfRun();
  const plannedAt = planning.now;
  const only = input.onlyUserName;
  // The mapping's matchOn replaces the match key (provision on demand matches by userName).
  const matchOn = input.source.kind === 'file' ? compiledOrUndefined(input.source.mapping)?.matchOn : undefined;
  const rules: SyncRules =
    only !== undefined ? { ...input.rules, matchKey: 'userName' } : matchOn ? { ...input.rules, matchOn } : input.rules;
  // A tenant nobody adopted (no adoption record) keeps its orphans out of scope unless told otherwise.
  const auto = (input.orphans ?? 'auto') === 'auto';
  const policy = orphanPolicy(auto && (await readAdoption(input.tenant)) !== undefined, input.orphans);
  const store = claimStoreFor(input.source.kind === 'file' ? sourceLocationOf(input.source) : undefined);
  const scratch = scratchFolder('sync-plan');
  try {
    const samplePerAction = only !== undefined ? 1 : Math.max(1, Math.min(10, input.maxReported));
    const plan = new PlanBuilder(
      scratch.dir,
      policy,
      { maxReported: input.maxReported, samplePerAction },
      input.planOut !== undefined || only !== undefined,
    );
    // Each dated user's plan, for its datedUserActions workflow (sent by the workflow once the plan is not a dry run).
    const datedLines = new LineWriter(path.join(scratch.dir, 'dated.ndjson'));
    let datedUsers = 0;
    const dated = (line: DatedClaimLine) => {
      datedLines.write(JSON.stringify(line));
      if ('plan' in line && line.plan.actions.length > 0) datedUsers++;
    };
    const planned =
      only !== undefined
        ? await planOneUser(deps, { ...input, onlyUserName: only }, rules, plan, dated, planning)
        : await planAll(deps, input, rules, scratch.dir, plan, dated, planning);
    const { source } = planned;
    const { planHash, slices } = await plan.finish(
      store,
      { tenant: input.tenant, source: source.sha256, rules },
      input.sliceSize,
    );
    const sliceIndex: Partial<Record<SyncPhase, SliceIndex>> = {};
    for (const phase of Object.keys(slices) as SyncPhase[]) {
      if (slices[phase].length <= INLINE_SLICE_REFS) continue;
      sliceIndex[phase] = await storeSliceIndex(store, slices[phase]);
      slices[phase] = [];
    }
    const changes = plan.changes ?? [];
    const written = input.planOut ? writePlanOut(input.planOut, input.tenant, planHash, changes) : undefined;
    let datedPlan: Pick<SyncPlanSummary, 'dated' | 'datedPlans'> = {};
    if (source.dated) {
      datedLines.close();
      const content = fs.existsSync(datedLines.file) ? fs.readFileSync(datedLines.file) : Buffer.alloc(0);
      datedPlan = {
        dated: { counts: source.dated.counts, users: datedUsers, plannedAt: new Date(plannedAt).toISOString() },
        datedPlans: await putClaim(store, 'plans', content),
      };
    }
    const trace = planned.trace?.(changes);
    const managers = source.managers
      ? await managerPlanOf(source.managers, store, (index) => !plan.notWritten.has(index))
      : undefined;
    return {
      planHash,
      slices,
      ...(Object.keys(sliceIndex).length > 0 ? { sliceIndex } : {}),
      ...(source.sha256 ? { sourceSha256: source.sha256 } : {}),
      records: planned.records,
      invalid: only !== undefined ? 0 : source.invalid,
      invalidRecords: only !== undefined ? [] : source.invalidRecords,
      problems: plan.problems,
      problemCount: plan.problemCount,
      providerUsers: planned.providerUsers,
      managed: planned.managed,
      sourceInScope: planned.sourceInScope,
      counts: plan.counts,
      sample: plan.sample,
      pages: planned.pages,
      ...(written ? { planOut: written } : {}),
      ...(trace ? { trace } : {}),
      ...datedPlan,
      ...(plan.heldBack > 0
        ? { orphansHeldBack: plan.heldBack, ...(policy.warning ? { orphanWarning: policy.warning } : {}) }
        : {}),
      ...(managers ? { managers } : {}),
    };
  } finally {
    scratch.remove();
  }
}

/** What a change overwrites, read from the provider user it was planned against: its journal's `before`. */
function beforeOf(change: PlannedChange, resource: Record<string, unknown> | undefined) {
  if (!resource) return undefined;
  if (change.action === 'deactivate' && !change.changes) return { active: resource.active ?? true };
  if (change.action === 'update' || change.action === 'reactivate' || change.action === 'deactivate')
    return pickAttributes(resource, touchedAttributes(change.changes ?? []));
  return undefined;
}

export function createSyncActivities(deps: ActivityDeps) {
  return {
    /** Reads the source and every provider user, classifies them, stores the plan's slices in the claim store. */
    planSync: (input: SyncPlanInput) => asActivity(() => planSync(deps, input)),
    /** Applies one slice of one phase of a stored plan. */
    applySyncSlice: (input: ApplySliceInput | ApplyPlanFileSliceInput) => asActivity(() => applySyncSlice(deps, input)),
  };
}
