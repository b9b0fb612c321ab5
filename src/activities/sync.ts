// Activities of syncUsers (job 3): plan a reconciliation (read the source, list the provider's
// users page by page, classify) and apply one slice of a plan. The plan is stored in the claim
// store, one object per slice (plan-claims.ts): workflow history carries counts, samples, the
// hash and the slices' references only, and any worker of a fleet can apply any slice.
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ScimHttpError, type ScimClient, type TenantDialect } from '../http';
import { FailureType } from '../core/failures';
import { filterString } from '../scim/filter';
import {
  classify,
  countActions,
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
import { forUpdate, mergedForPut, patchRequest, removedBy, type PatchOperation } from '../scim/patch';
import {
  checkDatesSettings,
  datedDisposition,
  datedFacts,
  type DatedDispositionKind,
  type DatesSettings,
} from '../scim/dated-actions';
import { parseTargetPath } from '../mapping/mapping';
import { userNameOf, validateUser, type UserSchemaModel } from '../scim/user-validation';
import type { ActivityDeps } from './deps';
import { asActivity, dialectFor, scimClientFor } from './deps';
import { patchOrPut as patchOrPutVia } from './provider/patch-or-put';
import { claimStoreFor, putClaim, type ClaimRef } from './claims/claim-store';
import type { DatedClaimLine } from './dated';
import { PlanSliceSpool, readPlanFile, readPlanSlice } from './claims/plan-claims';
import { LineWriter, scratchFolder } from './claims/local-spool';
import { PartitionedClassifier, type PlanItem, StreamedPlanHash } from './sync-partitions';
import { TenantFitter } from './cxone-directory';
import { checkMappingTargets, compiledOrUndefined, planningOfRun, type PlanSource } from './provisioning';
import { mapRecords, readFileSource, sourceLocationOf, type MappedRecord, type Planning } from './sources/user-source';
import { resolveLocation } from './sources/source-store';
import { traceOf, tracing, writePlanOut, type HttpCall, type PlanOut, type UserTrace } from './sync-review';
import { orphanPolicy, withOrphanPolicy, type OrphanOption, type OrphanPolicy } from '../scim/adoption';
import { readAdoption } from './claims/adoption-record';
import { pickAttributes, touchedAttributes, writtenValues, type JournalEntry } from '../scim/undo';
import { storeSliceJournal } from './claims/journal';
import { isTransientFailure } from './provider/existing-user';
import { ManagerReferences, managerPlanOf, type ManagerPlan } from './manager-refs';
import { type AttributeFinder, providerFinder } from './provider/attribute-finder';
import { UniqueValueChooser } from './unique-values';

export type { HttpCall, PlanOut, UserTrace } from './sync-review';

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
  /** The stored plan, per phase, one claim per apply slice: creates, updates and reactivations, then removals. */
  slices: Record<SyncPhase, ClaimRef[]>;
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

/** `writes`: creates, updates, reactivations; `removals`: deactivations or deletes (after any approval). */
export type SyncPhase = 'writes' | 'removals';

const PHASE_ACTIONS: Record<SyncPhase, readonly SyncAction[]> = { writes: WRITE_ACTIONS, removals: REMOVAL_ACTIONS };

/** One planned write, as stored in the plan's slices (creates and updates carry the source's user). */
interface StoredChange extends PlannedChange {
  user?: Record<string, unknown>;
  /** The provider's values of the attributes the change writes, as planned against (for the run's journal). */
  before?: Record<string, unknown>;
}

interface SliceTarget {
  tenant: string;
  planHash: string;
  /** Position of the slice's first change within its phase. */
  from: number;
  endpoint: string;
  patchSupported: boolean;
  maxReported: number;
  /** Record each HTTP request (method, path, status) in the tally: provision on demand only. */
  trace?: boolean;
}

export interface ApplySliceInput extends SliceTarget {
  phase: SyncPhase;
  /** The stored slice: the phase's changes from position `from` on, in plan order. */
  slice: ClaimRef;
}

/** A slice of a run planned by an earlier build: its whole plan in a file, the phase as actions, [from, to) (history-compat: sync-plan-file). */
export interface ApplyPlanFileSliceInput extends SliceTarget {
  planFile: string;
  actions: SyncAction[];
  to: number;
}

export interface SyncFailure {
  action: SyncAction;
  /** The provider's userName; for a write that renames, `old → new` (the source's). */
  userName?: string;
  id?: string;
  status?: number;
  detail: string;
}

export interface SliceTally {
  done: ActionCounts;
  failed: number;
  failures: SyncFailure[];
  /** Writes already made by an earlier attempt of this slice (found on resume, not repeated). */
  alreadyApplied: number;
  /** HTTP requests this slice made. */
  requests: number;
  /** With `trace`: each request and its answer. */
  http?: HttpCall[];
  /** The writes this slice made, before and after, stored next to the plan (undoRun reads it). */
  journal?: ClaimRef;
}

/** What reading a source for planning needs: the tenant (its CXone lists), the source and the discovered model. */
export interface SourceRead {
  tenant: string;
  source: PlanSource;
  model: UserSchemaModel;
  /** Invalid records described (all are counted). */
  maxReported: number;
}

/** A valid source record as the planners take it (with its line, for a trace). */
export type ValidSourceUser = SourceUser & { line?: number };

/** What reading a source found besides its valid records. */
export interface SourceTotals {
  records: number;
  invalid: number;
  /** Described up to maxReported. */
  invalidRecords: ClassifyProblem[];
  sha256?: string;
  /** With a mapping's `dates`: the valid records per disposition. */
  dated?: { counts: Partial<Record<DatedDispositionKind, number>> };
  /** With `references` and a mapping with a manager reference: the records' managers (managerPlanOf). */
  managers?: ManagerReferences;
}

/**
 * What a planner reading the source with `references` resolves as it reads (syncUsers): each
 * record's SelectUniqueValue choices and its manager, against the provider (`find`) and the
 * records read before it (docs/mappings.md).
 */
export interface SourceReferences {
  find: AttributeFinder;
  /** Only the records this accepts (as mapped, before any choice) are resolved; the others are refused if they need it. */
  only?: (user: Record<string, unknown>) => boolean;
}

/** Where readSourceUsers hands each valid record and, with `dates`, each user's dated plan line. */
export interface SourceUserSink {
  valid(user: ValidSourceUser): void | Promise<void>;
  dated?(line: DatedClaimLine): void | Promise<void>;
}

/**
 * The source's records, mapped, fitted to the tenant and validated, streamed (syncUsers' and
 * adoptUsers' planners): each valid one handed to `sink` in source order as it is read; the
 * others counted and described.
 */
export async function readSourceUsers(
  deps: ActivityDeps,
  input: SourceRead,
  sink: SourceUserSink,
  planning = planningOfRun(),
  references?: SourceReferences,
): Promise<SourceTotals> {
  const { source, model, maxReported } = input;
  if (source.kind === 'file') checkMappingTargets(source.mapping, model);
  const dates = source.kind === 'file' ? datesOf(source.mapping) : undefined;
  // SelectUniqueValue's choices and the managers' ids, from the provider and the records read before.
  const mapping = references && source.kind === 'file' ? compiledOrUndefined(source.mapping) : undefined;
  // A user the provider has keeps the value it holds: a re-sync renames nobody.
  const chooser = references && new UniqueValueChooser(references.find, mapping?.matchOn, true);
  const managerBy = mapping?.rules.find((rule) => rule.reference)?.reference?.by;
  const managers = references && managerBy ? new ManagerReferences(references.find, maxReported) : undefined;
  /** A valid record's manager resolved (`manager.value` placed); its chosen values and key taken for the records after it. */
  const resolve = async (index: number, user: Record<string, unknown>, mapped: MappedRecord, created: boolean) => {
    if (mapped.choices) chooser?.take(user, mapped.choices);
    if (!managers || references?.only?.(user) === false) return;
    if (mapped.manager) await managers.resolve(index, String(user.userName), user, mapped.manager);
    // A record created later (dated) is no manager this run creates.
    if (managerBy && created) managers.noteRecord(user, managerBy);
  };
  // CXone's role, team and login authenticator by name → ids; attribute names as /Schemas spells them.
  const fitter = new TenantFitter(deps, input.tenant, model);
  const invalidRecords: ClassifyProblem[] = [];
  let invalid = 0;
  let records = 0;
  const plannedAt = planning.now;
  const datedCounts = dates ? ({} as Partial<Record<DatedDispositionKind, number>>) : undefined;
  let sourceName = 'inline';
  const refuse = async (index: number, userName: string | undefined, reasons: string[]) => {
    invalid++;
    // Its dates could not be read this time: its pending actions stay as they are.
    if (datedCounts && userName) await sink.dated?.({ userName, keep: true });
    if (invalidRecords.length < maxReported)
      invalidRecords.push({ record: index + 1, userName, reason: reasons.join('; ') });
  };
  const take = async (mapped: MappedRecord, index: number) => {
    records++;
    if ('user' in mapped && mapped.choices) {
      const unchosen =
        chooser && references?.only?.(mapped.user) !== false
          ? await chooser.choose(mapped.user, mapped.choices)
          : ['SelectUniqueValue: chosen only where the provider can be asked'];
      if (unchosen.length > 0) return refuse(index, userNameOf(mapped.user), unchosen);
    }
    const record = await fitter.fit(mapped);
    const reasons = 'problems' in record ? record.problems : validateUser(model, record.user);
    const line = record.line !== undefined ? { line: record.line } : {};
    if (reasons.length === 0 && 'user' in record && dates && datedCounts) {
      // Future-dated joiners and leavers: what the sync does today, and what the user's schedule does later.
      const where = record.line !== undefined ? `line ${record.line}` : `record ${index + 1}`;
      const facts = datedFacts(mapped.dated ?? {}, dates, where, record.user);
      if (!facts.ok) reasons.push(...facts.problems);
      else {
        const disposition = datedDisposition(facts.value, plannedAt, dates.leadDays);
        datedCounts[disposition.kind] = (datedCounts[disposition.kind] ?? 0) + 1;
        const creates = disposition.actions.some((a) => a.kind === 'create');
        const noCreate = disposition.kind === 'defer' || disposition.kind === 'deactivate-now';
        if (mapped.choices || managers) await resolve(index, record.user, mapped, !noCreate);
        await sink.dated?.({
          userName: String(record.user.userName),
          plan: {
            plannedAt: new Date(plannedAt).toISOString(),
            source: `${sourceName} ${where}`,
            actions: disposition.actions,
            ...(creates ? { user: record.user } : {}),
          },
        });
        // Created now only when due: inactive until the start; a past last day is never created.
        const startsLater = disposition.kind === 'defer' || disposition.kind === 'create-inactive-and-schedule';
        const user =
          startsLater || disposition.kind === 'deactivate-now' ? { ...record.user, active: false } : record.user;
        const { writes } = mapped;
        await sink.valid({
          index,
          user,
          ...(writes ? { writes } : {}),
          ...(noCreate ? { noCreate } : {}),
          ...(startsLater ? { activeLater: true } : {}),
          ...line,
        });
        return;
      }
    }
    if (reasons.length === 0 && 'user' in record) {
      const { writes } = mapped;
      if (mapped.choices || managers) await resolve(index, record.user, mapped, true);
      await sink.valid({ index, user: record.user, ...line, ...(writes ? { writes } : {}) });
      return;
    }
    await refuse(index, 'user' in record ? userNameOf(record.user) : record.userName, reasons);
  };
  let sha256: string | undefined;
  if (source.kind === 'file') {
    // As the read's snapshot names it (its path, s3:// key or URL): known before the first record.
    const location = resolveLocation(sourceLocationOf(source));
    sourceName = path.basename(
      location.kind === 'file' ? location.file : location.kind === 's3' ? location.display : location.url,
    );
    // SelectUniqueValue's candidates left in the records for the chooser.
    const deferUnique = mapping?.rules.some((rule) => rule.compiled?.selectsUnique) === true;
    sha256 = (await readFileSource(source, take, deferUnique ? { ...planning, deferUnique } : planning)).sha256;
  } else {
    const mapped = mapRecords(source.kind === 'inline' ? source.users : [], undefined);
    for (const [index, record] of mapped.entries()) await take(record, index);
  }
  return {
    records,
    invalid,
    invalidRecords,
    ...(sha256 ? { sha256 } : {}),
    ...(datedCounts ? { dated: { counts: datedCounts } } : {}),
    ...(managers ? { managers } : {}),
  };
}

/** The source's valid records in memory (adoptUsers' planner, syncUsers' planner of one user). */
export async function sourceUsers(deps: ActivityDeps, input: SourceRead, planning = planningOfRun()) {
  const valid: ValidSourceUser[] = [];
  const lines: DatedClaimLine[] = [];
  const totals = await readSourceUsers(
    deps,
    input,
    { valid: (u) => void valid.push(u), dated: (l) => void lines.push(l) },
    planning,
  );
  return { ...totals, valid, dated: totals.dated && { ...totals.dated, lines } };
}

/** The dated-actions settings of a file source's mapping, checked (a mapping that does not compile is reported by the reader). */
function datesOf(mapping: unknown): (DatesSettings & { leadDays: number | null }) | undefined {
  const dates = compiledOrUndefined(mapping)?.dates;
  if (!dates) return undefined;
  const checked = checkDatesSettings(dates);
  return checked.ok ? checked.value : undefined;
}

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
const CARRIES_USER = new Set<SyncAction>(['create', 'update', 'reactivate']);

/**
 * A plan built as its changes come, in plan order: its hash, counts, sample, problems and the
 * phases' slices (spooled on local disk until the hash is known), never the whole plan in memory —
 * unless `keepChanges` (a plan written out for review, a trace of one user).
 */
class PlanBuilder {
  readonly counts = emptyCounts();
  readonly sample: SyncPlanSample[] = [];
  readonly problems: ClassifyProblem[] = [];
  problemCount = 0;
  /** Removals the orphan policy turned into `out-of-scope`. */
  heldBack = 0;
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
      this.problemCount++;
      if (this.problems.length < this.#maxReported) this.problems.push(item.problem);
      return;
    }
    let change = item.change;
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
    const managers = source.managers ? await managerPlanOf(source.managers, store) : undefined;
    return {
      planHash,
      slices,
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
  if (change.action === 'deactivate') return { active: resource.active ?? true };
  if (change.action === 'update' || change.action === 'reactivate')
    return pickAttributes(resource, touchedAttributes(change.changes ?? []));
  return undefined;
}

/** What a change wrote, for its journal: the source's values of the attributes it touched, as its operations set them. */
function journalEntryOf(change: StoredChange, appliedAt: string, createdId?: string): JournalEntry | undefined {
  const base = { ...(change.userName ? { userName: change.userName } : {}), appliedAt };
  switch (change.action) {
    case 'create': {
      const id = createdId ?? change.id;
      return {
        ...(id ? { id } : {}),
        ...base,
        operation: 'create',
        before: {},
        after: { active: change.user?.active ?? true },
      };
    }
    case 'deactivate':
      return {
        id: change.id,
        ...base,
        operation: 'deactivate',
        before: change.before ?? { active: true },
        after: { active: false },
      };
    case 'delete':
      return { id: change.id, ...base, operation: 'delete', before: {}, after: {} };
    case 'update':
    case 'reactivate': {
      const after = writtenValues(change.changes ?? [], change.user ?? {});
      const before = change.before ?? Object.fromEntries(Object.keys(after).map((k) => [k, null]));
      return { id: change.id, ...base, operation: change.action, before, after };
    }
    default:
      return undefined;
  }
}

/** One planned write, made so that doing it again after a crash changes nothing twice. */
async function applyChange(
  client: ScimClient,
  dialect: TenantDialect,
  input: SliceTarget,
  change: StoredChange,
  resumed: boolean,
  tally: SliceTally,
): Promise<string | undefined> {
  const path = `${input.endpoint}/${encodeURIComponent(change.id ?? '')}`;
  /** PATCH with the planned operations, or, without PATCH (announced or learnt), PUT of the current resource overlaid with `desired`. */
  const patchOrPut = (ops: PatchOperation[], desired: Record<string, unknown>) =>
    patchOrPutVia(
      dialect,
      input.patchSupported,
      () => {
        tally.requests++;
        return client.patch(path, patchRequest(ops));
      },
      async () => {
        tally.requests += 2;
        const current = await client.get<Record<string, unknown>>(path);
        const put = mergedForPut(desired, current.body, removedBy(ops));
        await client.put(path, put, current.etag ? { ifMatch: current.etag } : {});
      },
    );
  switch (change.action) {
    case 'create': {
      tally.requests++;
      try {
        const created = await client.post<{ id?: unknown }>(input.endpoint, change.user);
        if (typeof created.body?.id === 'string') return created.body.id;
      } catch (err) {
        // A create that an earlier attempt made (answer lost before the heartbeat): verified, not repeated.
        if (
          !(
            err instanceof ScimHttpError &&
            err.status === 409 &&
            resumed &&
            (await exists(client, input.endpoint, change.userName, tally))
          )
        )
          throw err;
        tally.alreadyApplied++;
      }
      return;
    }
    case 'update':
      await patchOrPut(change.changes ?? [], change.user ?? {});
      return;
    case 'reactivate':
      await patchOrPut(change.changes ?? [], { ...change.user, active: true });
      return;
    case 'deactivate': {
      if (resumed) {
        tally.requests++;
        const current = await client.get<{ active?: unknown }>(path, { query: { attributes: 'active' } });
        if (current.body?.active === false) {
          tally.alreadyApplied++;
          return;
        }
      }
      await patchOrPut([{ op: 'replace', path: 'active', value: false }], { active: false });
      return;
    }
    case 'delete':
      tally.requests++;
      try {
        await client.delete(path);
      } catch (err) {
        if (!(err instanceof ScimHttpError && err.status === 404)) throw err;
        tally.alreadyApplied++; // gone already
      }
      return;
    default:
      return;
  }
}

async function exists(
  client: ScimClient,
  endpoint: string,
  userName: string | undefined,
  tally: SliceTally,
): Promise<boolean> {
  if (!userName) return false;
  tally.requests++;
  const found = await client.get<{ Resources?: Array<{ userName?: unknown }> }>(endpoint, {
    query: { filter: `userName eq ${filterString(userName)}`, attributes: 'userName' },
  });
  return (
    (found.body?.Resources ?? []).filter((r) => String(r.userName ?? '').toLowerCase() === userName.toLowerCase())
      .length === 1
  );
}

/** Who a failure is about: the provider's userName, and the source's too when the write renames (`ana@old → ana@new`). */
function failedUserName(change: StoredChange): string | undefined {
  const wanted = typeof change.user?.userName === 'string' ? change.user.userName : undefined;
  if (wanted === undefined || change.userName === undefined) return change.userName ?? wanted;
  return wanted.toLowerCase() === change.userName.toLowerCase() ? change.userName : `${change.userName} → ${wanted}`;
}

/**
 * Applies changes [from, to) of one phase. Heartbeats its position: a retry after a crash resumes
 * there, and checks what may already have been done instead of repeating it.
 */
export async function applySyncSlice(
  deps: ActivityDeps,
  input: ApplySliceInput | ApplyPlanFileSliceInput,
): Promise<SliceTally> {
  const context = Context.current();
  const phase =
    'slice' in input
      ? await readPlanSlice<StoredChange>(
          input.slice,
          input,
          `slice ${input.from}… of the ${input.phase} of sync plan ${input.planHash.slice(0, 12)}`,
        )
      : // A run planned by an earlier build reads its whole plan file (history-compat: sync-plan-file).
        readPlanFile<StoredChange>(input.planFile, input.planHash, 'the sync plan')
          .filter((c) => input.actions.includes(c.action))
          .slice(input.from, input.to);
  const resumedFrom = context.info.heartbeatDetails as
    | { next: number; tally: SliceTally; failedAt?: number[] }
    | undefined;
  const tally: SliceTally = resumedFrom?.tally ?? {
    done: countActions([]),
    failed: 0,
    failures: [],
    alreadyApplied: 0,
    requests: 0,
  };
  // Heartbeats are throttled, so a retry may find writes past the recorded position already made:
  // every change of a retried attempt is checked (or idempotent) rather than blindly repeated.
  const resumed = context.info.attempt > 1;
  if (input.trace) tally.http ??= [];
  const client =
    input.trace && tally.http
      ? tracing(scimClientFor(deps, input.tenant), tally.http)
      : scimClientFor(deps, input.tenant);
  // The journal: changes an earlier attempt made (up to its recorded position, less its failures) are
  // recorded again from the plan (a create's id is then found again by userName when undone).
  const failedAt = resumedFrom?.failedAt ?? [];
  const resumedAt = new Date().toISOString();
  const journal: JournalEntry[] = [];
  for (let i = 0; i < (resumedFrom?.next ?? 0); i++) {
    const entry = failedAt.includes(i) ? undefined : journalEntryOf(phase[i], resumedAt);
    if (entry) journal.push(entry);
  }
  for (let i = resumedFrom?.next ?? 0; i < phase.length; i++) {
    const change = phase[i];
    try {
      const createdId = await applyChange(client, dialectFor(deps, input.tenant), input, change, resumed, tally);
      tally.done[change.action]++;
      const entry = journalEntryOf(change, new Date().toISOString(), createdId);
      if (entry) journal.push(entry);
    } catch (err) {
      // 429, 5xx and network errors fail the activity: it is retried (until the run's deadline) from here.
      if (isTransientFailure(err)) throw err;
      const status = err instanceof ScimHttpError ? err.status : undefined;
      tally.failed++;
      failedAt.push(i);
      if (tally.failures.length < input.maxReported) {
        tally.failures.push({
          action: change.action,
          userName: failedUserName(change),
          id: change.id,
          ...(status ? { status } : {}),
          detail: (err as Error).message,
        });
      }
    }
    // A copy: the SDK sends the latest details later, and the tally must match `next` exactly.
    context.heartbeat({ next: i + 1, tally: structuredClone(tally), failedAt: [...failedAt] });
  }
  // A run planned by an earlier build (its plan in a file) keeps no journal.
  if ('slice' in input && journal.length > 0) {
    tally.journal = await storeSliceJournal(input.slice, {
      tenant: input.tenant,
      endpoint: input.endpoint,
      planHash: input.planHash,
      phase: input.phase,
      from: input.from,
      entries: journal,
    });
  }
  return tally;
}

export function createSyncActivities(deps: ActivityDeps) {
  return {
    /** Reads the source and every provider user, classifies them, stores the plan's slices in the claim store. */
    planSync: (input: SyncPlanInput) => asActivity(() => planSync(deps, input)),
    /** Applies one slice of one phase of a stored plan. */
    applySyncSlice: (input: ApplySliceInput | ApplyPlanFileSliceInput) => asActivity(() => applySyncSlice(deps, input)),
  };
}
