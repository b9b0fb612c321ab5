// The register of history compatibility: every piece of code kept so that runs started by an
// earlier build (and their recorded histories) still finish, with what it belongs to, where it
// lives, the pinned histories (test/histories/pinned) that need it, and when it may go.
// test/history-compat.test.ts holds the register to the tree: every shim names pinned histories
// that exist, every pinned history is claimed by a shim, every `patched()` call is made here, and
// every `history-compat: <id>` mark in src/ names a shim of this register.
//
// Add a shim: an entry below; its workflow-side code is called through this module (a patch via
// patchedSince, an old input or activity result shape via a function here); code elsewhere (e.g.
// activities) carries a `// history-compat: <id>` comment; record the old run's histories into
// test/histories/pinned and list them. Remove one: once `removeWhen` holds, delete its entry,
// its code and its pinned histories together (a patch goes through deprecatePatch first).
import { patched } from '@temporalio/workflow';
import type { WriteCapabilities } from '../scim/user-match';
import type { BatchOptions } from './provision-users/totals';

export interface HistoryShim {
  /** What runs of the earlier build lack or do differently. */
  what: string;
  /** The `patched()` id, or the change (commit) before which runs took the old path. */
  since: { patch: string } | { commit: string; change: string };
  /** Where its code lives: a file under src/ and a name in it. */
  code: Array<{ file: string; symbol: string }>;
  /** The histories under test/histories/pinned/ that replay through it (file names). */
  pinned: string[];
  /** When it may be removed. */
  removeWhen: string;
}

const NO_OPEN_RUN = (type: string, before: string) =>
  `no ${type} run started before ${before} is open: \`temporal workflow list --query 'WorkflowType="${type}" AND ExecutionStatus="Running"'\` lists none started before that deploy`;

const BEFORE_PLAN_PAGES = ['sync', 'continue-as-new-run1', 'continue-as-new-run2'];

const BEFORE_SPREAD_WORK = ['413-split', 'async', 'continue-as-new-run1', 'continue-as-new-run2', 'sync'];

export const HISTORY_SHIMS = {
  'provision-spread-work': {
    what: 'provisionUsers discovered one document after another and gave every batch chunksPerBatch chunks; per-resource slices were not spread over the lanes',
    since: { patch: 'provision-spread-work' },
    code: [{ file: 'src/workflows/provision-users/workflow.ts', symbol: "patchedSince('provision-spread-work')" }],
    pinned: BEFORE_SPREAD_WORK.map((name) => `provisionUsers-${name}-before-spread-work.json`),
    removeWhen: `${NO_OPEN_RUN('provisionUsers', 'the patch')}; then deprecatePatch('provision-spread-work') with the old branch gone, and the deprecatePatch call itself once no run of that build is open`,
  },
  'provision-plan-pages': {
    what: "provisionUsers got every chunk descriptor of the plan in the planning result and carried all those not yet handed out in its continuation; since the patch a file source's plan comes as a first page plus stored pages, read one at a time",
    since: { patch: 'provision-plan-pages' },
    code: [
      { file: 'src/workflows/provision-users/workflow.ts', symbol: "patchedSince('provision-plan-pages')" },
      { file: 'src/activities/provisioning.ts', symbol: 'input.chunksPerPage' },
    ],
    pinned: BEFORE_PLAN_PAGES.map((name) => `provisionUsers-${name}-before-plan-pages.json`),
    removeWhen: `${NO_OPEN_RUN('provisionUsers', 'the patch')}; then deprecatePatch('provision-plan-pages') with the unpaged branch gone (the planner then always pages a file source's plan)`,
  },
  'batch-without-deadline': {
    what: 'provisionUsers batches (and continuations) carry no mode, capabilities or retry deadline: they wrote Bulk only and gave up after maxOperationAttempts sends',
    since: { commit: '9124cb6', change: 'per-resource writes; retryable failures retried until a per-run deadline' },
    code: [
      { file: 'src/workflows/history-compat.ts', symbol: 'legacyBatchOptions' },
      { file: 'src/workflows/history-compat.ts', symbol: 'legacyRunModel' },
      { file: 'src/workflows/provision-users/chunk-queue.ts', symbol: 'maxOperationAttempts' },
      { file: 'src/workflows/provision-users/totals.ts', symbol: 'maxOperationAttempts' },
      { file: 'src/workflows/provision-users/contract.ts', symbol: 'runModeOf' },
    ],
    pinned: [
      ...BEFORE_SPREAD_WORK.map((name) => `provisionUsersBatch-${name}-before-spread-work.json`),
      'provisionUsers-continue-as-new-run2-before-spread-work.json',
    ],
    removeWhen: `${NO_OPEN_RUN('provisionUsers', 'commit 9124cb6')}, nor a provisionUsersBatch run`,
  },
  'chunk-without-claim': {
    what: 'provisionUsers chunks planned without a claim: their users are read again from the whole source file (refused if it changed)',
    since: { commit: '37510c5', change: 'chunk users stored as claim checks' },
    code: [{ file: 'src/activities/provisioning.ts', symbol: 'sourceUsers' }],
    pinned: ['provisionUsers-sync-before-spread-work.json', 'provisionUsersBatch-sync-before-spread-work.json'],
    removeWhen: NO_OPEN_RUN('provisionUsers', 'commit 37510c5'),
  },
  'sync-plan-file': {
    what: 'syncUsers / syncGroups plans without slices: the whole plan is a file on the worker that planned it (`planFile`), applied by index range',
    since: { commit: '76c0bef', change: 'sync plans stored in the claim store, one object per apply slice' },
    code: [
      { file: 'src/workflows/history-compat.ts', symbol: 'legacyPlanFile' },
      { file: 'src/workflows/sync/sync-users.ts', symbol: 'legacyPlanFile' },
      { file: 'src/workflows/sync/sync-groups.ts', symbol: 'legacyPlanFile' },
      { file: 'src/activities/sync-apply.ts', symbol: 'readPlanFile' },
      { file: 'src/activities/provider/group-writes.ts', symbol: 'readPlanFile' },
      { file: 'src/activities/claims/plan-claims.ts', symbol: 'readPlanFile' },
    ],
    pinned: ['syncGroups-apply-plan-file.json', 'syncUsers-approved-plan-file.json'],
    removeWhen: `${NO_OPEN_RUN('syncUsers', 'commit 76c0bef')}, nor a syncGroups run (a run awaiting approval may be open up to its approvalTimeout)`,
  },
  'user-lifecycle-idp-local-activity': {
    what: 'userLifecycle called the IdP through (remote) activity tasks; since the patch it calls it from a local activity, decided once per run',
    since: { patch: 'user-lifecycle-idp-local-activity' },
    code: [
      { file: 'src/workflows/user-lifecycle/workflow.ts', symbol: "patchedSince('user-lifecycle-idp-local-activity')" },
    ],
    pinned: [
      'userLifecycle-continue-as-new-run1-before-idp-local-activity.json',
      'userLifecycle-continue-as-new-run2-before-idp-local-activity.json',
    ],
    removeWhen: `${NO_OPEN_RUN('userLifecycle', 'the patch')} (a userLifecycle run never ends, but continues as new: every run started after the deploy takes the new path); then deprecatePatch('user-lifecycle-idp-local-activity')`,
  },
  'sync-dated-plans': {
    what: 'syncUsers runs started before dated joiners and leavers sent no plans to datedUserActions after planning',
    since: { patch: 'sync-dated-plans' },
    code: [{ file: 'src/workflows/sync/sync-users.ts', symbol: "patchedSince('sync-dated-plans')" }],
    pinned: ['syncUsers-approved-before-dated-plans.json'],
    removeWhen: `${NO_OPEN_RUN('syncUsers', 'the patch')}; then deprecatePatch('sync-dated-plans') with the old branch gone, and the deprecatePatch call itself once no run of that build is open`,
  },
  'provision-manager-links': {
    what: 'provisionUsers runs started before manager references ended after the last batch; since the patch a run whose plan holds manager links to users it created links them in a last pass (linkManagers)',
    since: { patch: 'provision-manager-links' },
    code: [{ file: 'src/workflows/provision-users/workflow.ts', symbol: "patchedSince('provision-manager-links')" }],
    pinned: ['provisionUsers-sync-before-manager-links.json'],
    removeWhen: `${NO_OPEN_RUN('provisionUsers', 'the patch')}; then deprecatePatch('provision-manager-links') with the old branch gone, and the deprecatePatch call itself once no run of that build is open`,
  },
  'sync-manager-links': {
    what: 'syncUsers runs started before manager references ended after their writes (or removals) without linking anyone; since the patch a run whose plan holds manager links to users it created links them after the writes (linkManagers)',
    since: { patch: 'sync-manager-links' },
    code: [{ file: 'src/workflows/sync/sync-users.ts', symbol: "patchedSince('sync-manager-links')" }],
    pinned: ['syncUsers-approved-before-manager-links.json'],
    removeWhen: `${NO_OPEN_RUN('syncUsers', 'the patch')}; then deprecatePatch('sync-manager-links') with the old branch gone, and the deprecatePatch call itself once no run of that build is open`,
  },
} satisfies Record<string, HistoryShim>;

export type ShimId = keyof typeof HISTORY_SHIMS;
type PatchShimId = { [K in ShimId]: (typeof HISTORY_SHIMS)[K]['since'] extends { patch: string } ? K : never }[ShimId];

/** `patched()` of the shim's patch id: false while replaying a run started before it. */
export function patchedSince(id: PatchShimId): boolean {
  return patched(HISTORY_SHIMS[id].since.patch);
}

/**
 * What a provisionUsers run carries of how it writes, on continue-as-new (Continuation['model'] in
 * provision-users/contract.ts): `mode`, `capabilities` and `deadline` are absent in runs started
 * before per-resource writes (batch-without-deadline).
 */
export interface CarriedRunModel {
  endpoint: string;
  patchSupported: boolean;
  mode?: 'bulk' | 'per-resource';
  capabilities?: WriteCapabilities;
  deadline?: number;
}

/** batch-without-deadline: a batch started before per-resource writes runs as Bulk, with the default 6 h from its start. */
export function legacyBatchOptions(options: BatchOptions, startedAt: number): BatchOptions {
  if (options.deadline !== undefined) return options;
  return {
    ...options,
    mode: 'bulk',
    capabilities: bulkOnly(options.patchSupported),
    recordsInFlight: 1,
    deadline: startedAt + LEGACY_DEADLINE_MS,
  };
}

/** The retry deadline a batch of an earlier version gets (it had none): the default 6 hours from its start. */
const LEGACY_DEADLINE_MS = 6 * 3_600_000;

/** batch-without-deadline: a continuation from before per-resource writes wrote Bulk; its deadline starts now. */
export function legacyRunModel(model: CarriedRunModel, deadline: () => number): Required<CarriedRunModel> {
  return {
    ...model,
    mode: runModeOf(model),
    capabilities: model.capabilities ?? bulkOnly(model.patchSupported),
    deadline: model.deadline ?? deadline(),
  };
}

/** batch-without-deadline: how a run writes (runs from before per-resource writes wrote Bulk). */
export function runModeOf(model: CarriedRunModel): 'bulk' | 'per-resource' {
  return model.mode ?? 'bulk';
}

function bulkOnly(patch: boolean): WriteCapabilities {
  return { bulk: true, patch, filter: true, etag: false };
}

/**
 * sync-plan-file: a sync plan as returned by planSync / planGroupSync, split into the plan without
 * `planFile` and the `planFile` of an earlier build's plan (undefined for a plan with slices).
 */
export function legacyPlanFile<Plan extends object>(plan: Plan): [plan: Plan, planFile: string | undefined] {
  const { planFile, ...current } = plan as Plan & { planFile?: string; slices?: unknown };
  return [current as Plan, current.slices === undefined ? (planFile ?? '') : undefined];
}
