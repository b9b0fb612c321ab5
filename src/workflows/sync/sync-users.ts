import { ApplicationFailure, defineQuery, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { PlanSource } from '../../activities/provisioning';
import type { SourceFormat } from '../../activities/sources/user-source';
import type { PlanOut, SliceTally, SyncFailure, SyncPhase, SyncPlanSummary, UserTrace } from '../../activities/sync';
import type { ManagerPlan } from '../../activities/manager-refs';
import type { LinkManagersResult } from '../../activities/manager-links';
import type { ManagerLinks } from '../provision-users/contract';
import type { ClaimRef } from '../../core/claim-ref';
import { FailureType } from '../../core/failures';
import { compileMapping } from '../../mapping/mapping';
import {
  countActions,
  exceedsThreshold,
  REMOVAL_ACTIONS,
  shouldQuarantine,
  WRITE_ACTIONS,
  type ActionCounts,
  type MatchKey,
  type SyncAction,
  type SyncScope,
} from '../../scim/reconcile';
import type { OrphanOption } from '../../scim/adoption';
import type { User } from '../../scim/codecs';
import { PROVIDER_CALL } from '../activity-options';
import { fileNameOf, withSummary } from '../ui-metadata';
import { legacyPlanFile, patchedSince } from '../history-compat';
import { reportTotals } from '../report';
import type { DeletionDecision } from './deletion-approval';
import type { SyncRunOptions } from './run-options';
import { runSyncJob, syncInputChecks, type SyncJobProgress, type SyncRun, type SyncRunOutcome } from './sync-run';
import { discoverUsers } from '../discover-users';

const { planSync, signalDatedPlans } = proxyActivities<Activities>({
  ...PROVIDER_CALL,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
});

export interface SyncUsersInput extends SyncRunOptions {
  tenant: string;
  /** Inline SCIM Users (small runs), or `source`: a file the worker can read, as for provisionUsers. */
  users?: Array<User | Record<string, unknown>>;
  source?: { path: string; format?: SourceFormat; mapping?: unknown };
  /** How source and provider users are matched. Default `userName` (case-insensitive). */
  matchKey?: MatchKey;
  /** Which provider users this sync manages (may deactivate). Default: all. */
  scope?: SyncScope;
  /** userNames or ids never touched. */
  protectedAccounts?: string[];
  /** Users gone from the source: `deactivate` (default, `active: false`) or `delete`. */
  deprovision?: 'deactivate' | 'delete';
  /** Provision on demand: sync only the source user with this userName. */
  user?: string;
  /** Changes per activity. Default 200. */
  sliceSize?: number;
  /** Slices applied at once. Default 4. */
  maxSlicesInFlight?: number;
  /** Also write the full plan (CSV or JSON) to this path on the worker's file system, for review. */
  planOut?: PlanOut;
  /**
   * Provider users in no source record: `auto` (default) treats them as leavers once the tenant was
   * adopted (`adoptUsers` recorded it) and as out of scope, with a warning, before; `leavers`; `out-of-scope`.
   */
  orphans?: OrphanOption;
}

export type SyncOutcome = SyncRunOutcome;

export interface SyncUsersResult {
  tenant: string;
  outcome: SyncOutcome;
  plan: Omit<SyncPlanSummary, 'slices'>;
  /** Changes made, per action. */
  applied: ActionCounts;
  failed: number;
  failures: SyncFailure[];
  /** Writes an interrupted attempt had made already (found on resume, not repeated). */
  alreadyApplied: number;
  requests: number;
  threshold?: { exceeded: boolean; reason?: string; removals: number; managed: number };
  deletionDecision?: DeletionDecision;
  /** Why removals were held back or the run stopped, when they were. */
  note?: string;
  /** With `user`: that user's record, match, action and HTTP requests. */
  trace?: UserTrace;
  /**
   * The latest journals of the writes made (in the claim store; each names the ones before it): what
   * undoRun reverses. At most one per slice in flight, whatever the number of slices.
   */
  journals?: ClaimRef[];
  /** What became of the mapping's manager references (absent without any). */
  managerLinks?: SyncManagerLinks;
}

/** What became of a sync's manager references: as for provisionUsers, and the links left to the pass after the writes. */
export interface SyncManagerLinks extends ManagerLinks {
  /** Records whose manager is a joiner of this sync: linked once the writes created it (`linked`, `unchanged` or a warning). */
  pending: number;
}

export interface SyncProgress extends SyncJobProgress {
  planned?: ActionCounts;
  applied: ActionCounts;
  awaitingApproval?: { removals: number; reason?: string; planHash: string };
}

export const syncProgressQuery = defineQuery<SyncProgress>('progress');

const { invalid } = syncInputChecks;

function checkInput(input: SyncUsersInput): void {
  if ((input.users === undefined) === (input.source === undefined))
    throw invalid('give either users (inline) or source (a file), not both and not neither');
  if (input.source !== undefined && !input.source.path) throw invalid('source.path is required');
  if (input.planOut !== undefined && !input.planOut.path) throw invalid('planOut.path is required');
  if (input.planOut?.format !== undefined && input.planOut.format !== 'csv' && input.planOut.format !== 'json')
    throw invalid(`planOut.format must be csv or json, got ${String(input.planOut.format)}`);
  if (input.source?.mapping !== undefined) {
    const mapping = compileMapping(input.source.mapping);
    if (!mapping.ok) throw invalid(`source.mapping is invalid: ${mapping.problems.join('; ')}`);
  }
  if (input.matchKey !== undefined && input.matchKey !== 'userName' && input.matchKey !== 'externalId')
    throw invalid(`matchKey must be userName or externalId, got ${String(input.matchKey)}`);
  if (input.orphans !== undefined && !['auto', 'leavers', 'out-of-scope'].includes(input.orphans))
    throw invalid(`orphans must be auto, leavers or out-of-scope, got ${String(input.orphans)}`);
  if (input.deprovision !== undefined && input.deprovision !== 'deactivate' && input.deprovision !== 'delete')
    throw invalid(`deprovision must be deactivate or delete, got ${String(input.deprovision)}`);
}

/**
 * Job 3: reconciliation. The source is the truth for the users this sync manages.
 *
 *   discovery GET /ServiceProviderConfig, /ResourceTypes, /Schemas
 *     ─▶ planSync (activity: read + validate the source, list provider users page by page,
 *        classify create / update / reactivate / deactivate / delete / unchanged; the plan is
 *        stored in the claim store one slice per apply activity, history holds its SHA-256 hash
 *        and the slices' references)
 *     ├─ dryRun ─▶ report the plan, write nothing
 *     ─▶ creates, updates, reactivations in slices (applySyncSlice, heartbeating its position)
 *          └─ failure rate over the quarantine rule ─▶ stop writing: `quarantined`
 *     ─▶ removals above the deletion threshold ─▶ `awaitingApproval` until the update
 *          approveDeletions({planHash}) (hash must match), rejectDeletions, or the approval timeout
 *     ─▶ deactivations / deletes in slices ─▶ report
 */
export async function syncUsers(input: SyncUsersInput): Promise<SyncUsersResult> {
  const { users, ...request } = input;
  const progress: SyncProgress = { phase: 'planning', applied: countActions([]), failed: 0 };
  return runSyncJob(input, {
    request: { ...request, ...(users ? { users: `${users.length} inline users` } : {}) },
    progressQuery: syncProgressQuery,
    progress,
    totals: () => {
      const succeeded = Object.values(progress.applied).reduce((n, c) => n + c, 0);
      return reportTotals(succeeded, progress.failed, []);
    },
    check: checkInput,
    run: (run) => syncUsersRun(input, run),
  });
}

async function syncUsersRun(
  input: SyncUsersInput,
  run: SyncRun<SyncUsersResult, SyncProgress>,
): Promise<SyncUsersResult> {
  const { report, progress, settings } = run;
  const { maxReported } = settings;
  const sliceSize = syncInputChecks.positiveInteger(input.sliceSize, 'sliceSize', 200);
  const inFlight = syncInputChecks.positiveInteger(input.maxSlicesInFlight, 'maxSlicesInFlight', 4);
  const discovered = await discoverUsers(report, input.tenant);
  const built = { model: discovered.model };
  const capabilities = discovered.serviceProviderConfig;
  const pageSize = discovered.pageSize(settings.pageSize);

  const source: PlanSource = input.users
    ? { kind: 'inline', users: input.users }
    : { kind: 'file', ...(input.source as NonNullable<SyncUsersInput['source']>) };
  const rules = {
    matchKey: input.matchKey ?? 'userName',
    scope: input.scope ?? {},
    protectedAccounts: input.protectedAccounts ?? [],
    deprovision: input.deprovision ?? 'deactivate',
  } as const;
  const plan = await report.step(
    'plan: read source, list provider users, classify',
    () =>
      planSync.executeWithOptions(
        withSummary(`plan: read ${sourceName(input)}, list provider users page by page, classify`),
        [
          {
            tenant: input.tenant,
            source,
            model: built.model,
            rules,
            pageSize,
            maxReported,
            sliceSize,
            ...(input.user ? { onlyUserName: input.user } : {}),
            ...(input.planOut ? { planOut: input.planOut } : {}),
            ...(input.orphans ? { orphans: input.orphans } : {}),
          },
        ],
      ),
    (p) => ({
      payloadSha256: p.planHash,
      detail: `${p.records} records (${p.invalid} invalid), ${p.providerUsers} provider users in ${p.pages} pages, ${p.managed} managed: ${describeCounts(p.counts)}`,
    }),
  );
  const [current, planFile] = legacyPlanFile(plan);
  const { slices: _slices, datedPlans, trace, managers, ...shown } = current;
  progress.planHash = plan.planHash;
  progress.planned = plan.counts;
  report.details.set(
    'plan',
    `plan ${plan.planHash}: ${describeCounts(plan.counts)}; ${plan.records} source records (${plan.invalid} invalid) from ${sourceName(input)}${plan.sourceSha256 ? ` sha256 ${plan.sourceSha256.slice(0, 12)}` : ''}, ${plan.managed} managed provider users`,
  );
  const result: SyncUsersResult = {
    tenant: input.tenant,
    outcome: 'succeeded',
    plan: shown,
    applied: progress.applied,
    failed: 0,
    failures: [],
    alreadyApplied: 0,
    requests: plan.pages,
    ...(trace ? { trace } : {}),
    ...(plan.orphanWarning ? { note: `${plan.orphansHeldBack} removals held back: ${plan.orphanWarning}` } : {}),
    ...(managers ? { managerLinks: managerLinksOf(managers, undefined, maxReported, report) } : {}),
  };
  const removals = plan.counts.deactivate + plan.counts.delete;
  const validRecords = plan.records - plan.invalid;
  if (!input.user && validRecords === 0 && removals > 0) {
    throw ApplicationFailure.nonRetryable(
      `the source has no valid user (${plan.records} records, ${plan.invalid} invalid): refusing to deprovision ${removals} users`,
      FailureType.EmptySource,
    );
  }
  if (
    !input.user &&
    input.scope &&
    Object.keys(input.scope).length > 0 &&
    plan.managed === 0 &&
    plan.sourceInScope === 0 &&
    plan.providerUsers > 0
  ) {
    throw invalid(
      `the scope ${JSON.stringify(input.scope)} matches none of the provider's ${plan.providerUsers} users and none of the source's: check the scope rule`,
    );
  }
  if (settings.dryRun) return run.dryRun(result, plan.planHash);
  if (patchedSince('sync-dated-plans') && datedPlans && plan.dated) {
    const { plannedAt } = plan.dated;
    await report.step(
      'schedule dated joiners and leavers (datedUserActions)',
      () =>
        signalDatedPlans({
          tenant: input.tenant,
          plans: datedPlans,
          plannedAt,
          endpoint: built.model.endpoint,
          clearOthers: !input.user,
        }),
      (s) => ({ detail: `${s.scheduled} users scheduled, ${s.cleared} cleared` }),
    );
  }

  const apply = applier(
    input,
    run,
    { ...plan, planFile },
    built.model.endpoint,
    capabilities.patch?.supported === true,
    { sliceSize, inFlight },
    result,
  );
  progress.phase = 'writing';
  const writes = WRITE_ACTIONS.reduce((n, a) => n + plan.counts[a], 0);
  if (writes > 0) {
    const stopped = await report.step(
      `apply ${writes} creates, updates and reactivations`,
      () => apply('writes', writes),
      () => ({ detail: describeCounts(result.applied) }),
    );
    if (stopped) return run.quarantined(result);
  }
  // Second pass: users whose manager this sync created, linked now that it exists (history-compat: sync-manager-links).
  const links = managers?.claim;
  if (managers && links && patchedSince('sync-manager-links')) {
    const { linkManagers } = run.applyActivities({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds' });
    const etag = (capabilities as { etag?: { supported?: unknown } }).etag?.supported === true;
    const pass = await report.step(
      'link managers created in this sync',
      () =>
        linkManagers.executeWithOptions(
          withSummary(`link ${managers.pending} users to managers created in this sync`),
          [
            {
              tenant: input.tenant,
              endpoint: built.model.endpoint,
              patchSupported: capabilities.patch?.supported === true,
              etag,
              links,
              maxReported,
            },
          ],
        ),
      (r) => ({
        detail: `${managers.pending} pending: ${r.linked} linked, ${r.unchanged} already linked, ${r.warned} not linked`,
      }),
    );
    result.managerLinks = managerLinksOf(managers, pass, maxReported, report);
  }
  if (removals === 0) return run.finish(result);
  if (!input.user && plan.problemCount > 0) {
    report.skip(
      'apply removals',
      `held back: ${plan.problemCount} source records could not be matched safely (duplicate or missing keys)`,
    );
    return {
      ...run.finish(result),
      outcome: 'partial',
      note: `removals held back: the source has ${plan.problemCount} records with a duplicate, missing or ambiguous ${rules.matchKey}; fix the source and run again`,
    };
  }

  const check = exceedsThreshold(removals, plan.managed, settings.deletionThreshold);
  result.threshold = { ...check, removals, managed: plan.managed };
  const refused = await run.approveRemovals(result, check, plan.planHash, {
    removals: `${removals} removals`,
    awaiting: { removals },
  });
  if (refused) return refused;
  progress.phase = 'removing';
  const stopped = await report.step(
    `apply ${removals} ${rules.deprovision === 'delete' ? 'deletes' : 'deactivations'}`,
    () => apply('removals', removals),
    () => ({ detail: describeCounts(result.applied) }),
  );
  return stopped ? run.quarantined(result) : run.finish(result);
}

/**
 * What became of the plan's manager references, with the pass after the writes if it ran (else its
 * links are still pending); the report's details say how many users have no manager.
 */
function managerLinksOf(
  managers: ManagerPlan,
  pass: LinkManagersResult | undefined,
  maxReported: number,
  report: SyncRun<SyncUsersResult, SyncProgress>['report'],
): SyncManagerLinks {
  const warned = managers.warned + (pass?.warned ?? 0);
  const warnings = [...managers.warnings, ...(pass?.warnings ?? [])]
    .sort((a, b) => a.record - b.record)
    .slice(0, maxReported);
  if (warned > 0) report.details.set('managers', `${warned} users synced without their manager (see managerLinks)`);
  return {
    resolvedWhenPlanned: managers.resolved,
    pending: managers.pending,
    linked: pass?.linked ?? 0,
    unchanged: pass?.unchanged ?? 0,
    warned,
    warnings,
    warningsOmitted: warned - warnings.length,
  };
}

/** The source as details name it: its file name, or the number of inline users. */
function sourceName(input: SyncUsersInput): string {
  return input.source ? fileNameOf(input.source.path) : `${input.users?.length ?? 0} inline users`;
}

function describeCounts(counts: ActionCounts): string {
  return (
    (Object.entries(counts) as Array<[SyncAction, number]>)
      .filter(([, n]) => n > 0)
      .map(([action, n]) => `${n} ${action}`)
      .join(', ') || 'nothing'
  );
}

/** Applies a phase of the plan slice by slice (as the planner stored it), a few at once; true when quarantine stopped it. */
function applier(
  input: SyncUsersInput,
  run: SyncRun<SyncUsersResult, SyncProgress>,
  plan: SyncPlanSummary & { planFile: string | undefined },
  endpoint: string,
  patchSupported: boolean,
  limits: { sliceSize: number; inFlight: number },
  result: SyncUsersResult,
) {
  const { progress, settings } = run;
  const { maxReported, quarantine } = settings;
  const { applySyncSlice } = run.applyActivities({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds' });
  const { planFile } = plan;
  // The run's latest journals: each slice's journal names those before it, so the result holds at most
  // one per slice in flight, whatever the number of slices (undo follows the chain).
  const heads: ClaimRef[] = [];
  return async (phase: SyncPhase, total: number): Promise<boolean> => {
    const indexed = plan.sliceIndex?.[phase];
    const count =
      planFile !== undefined ? Math.ceil(total / limits.sliceSize) : (indexed?.count ?? plan.slices[phase].length);
    let next = 0;
    let stopped = false;
    const worker = async () => {
      while (!stopped && next < count) {
        const index = next++;
        const from = index * limits.sliceSize;
        const part =
          planFile === undefined
            ? { phase, slice: indexed ? { index: indexed.index, position: index } : plan.slices[phase][index] }
            : {
                planFile,
                actions: [...(phase === 'writes' ? WRITE_ACTIONS : REMOVAL_ACTIONS)],
                to: Math.min(total, from + limits.sliceSize),
              };
        const slice = `apply ${phase} slice ${index + 1} of ${count} (≤ ${limits.sliceSize} changes), plan ${plan.planHash.slice(0, 12)}`;
        const previous = heads.splice(0);
        const tally: SliceTally = await applySyncSlice.executeWithOptions(withSummary(slice), [
          {
            ...(previous.length > 0 ? { previousJournals: previous } : {}),
            tenant: input.tenant,
            planHash: plan.planHash,
            ...part,
            from,
            endpoint,
            patchSupported,
            maxReported,
            ...(result.trace ? { trace: true } : {}),
          },
        ]);
        // A slice that wrote nothing stored no journal: the ones it was handed stay the latest.
        heads.push(...(tally.journal ? [tally.journal] : previous));
        if (heads.length > 0) result.journals = [...heads];
        if (result.trace && tally.http) result.trace.http = [...(result.trace.http ?? []), ...tally.http];
        for (const action of Object.keys(tally.done) as SyncAction[]) result.applied[action] += tally.done[action];
        result.failed += tally.failed;
        progress.failed = result.failed;
        result.alreadyApplied += tally.alreadyApplied;
        result.requests += tally.requests;
        result.failures.push(...tally.failures.slice(0, Math.max(0, maxReported - result.failures.length)));
        const writes = Object.values(result.applied).reduce((n, c) => n + c, 0) + result.failed;
        run.report.details.set(
          'progress',
          `${phase}: ${describeCounts(result.applied)} applied, ${result.failed} failed (${index + 1} of ${count} slices sent)`,
        );
        if (shouldQuarantine(writes, result.failed, quarantine)) stopped = true;
      }
    };
    await Promise.all(Array.from({ length: limits.inFlight }, worker));
    return stopped;
  };
}
