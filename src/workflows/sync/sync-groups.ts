import { defineQuery, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type {
  GroupSourceSpec,
  InlineGroup,
  GroupsColumnSpec,
  GroupsFileSpec,
} from '../../activities/sources/group-source';
import type { GroupFailure, GroupPlanSummary, GroupTally, MembershipView } from '../../activities/groups';
import type { ClaimRef } from '../../core/claim-ref';
import type { GroupMatchKey, GroupScope, MemberKey } from '../../scim/group-reconcile';
import { exceedsThreshold, shouldQuarantine } from '../../scim/reconcile';
import { resourceTypeEndpoint } from '../../scim/schema-model';
import { PROVIDER_CALL } from '../activity-options';
import { legacyPlanFile } from '../history-compat';
import type { DeletionDecision } from './deletion-approval';
import type { SyncRunOptions } from './run-options';
import { runSyncJob, syncInputChecks, type SyncJobProgress, type SyncRun, type SyncRunOutcome } from './sync-run';
import { withSummary } from '../ui-metadata';

const { discoverServiceProviderConfig, discoverResourceTypes } = proxyActivities<Activities>(PROVIDER_CALL);
const { planGroupSync } = proxyActivities<Activities>({
  ...PROVIDER_CALL,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
});

export interface SyncGroupsInput extends SyncRunOptions {
  tenant: string;
  /** A `groups` column of the user CSV. */
  groupsColumn?: GroupsColumnSpec;
  /** A separate groups file (CSV / JSON / NDJSON: displayName, externalId, members). */
  groupsFile?: GroupsFileSpec;
  /** Inline groups (small runs). */
  groups?: InlineGroup[];
  /** How source and provider groups match. Default `displayName` (case-insensitive). */
  matchKey?: GroupMatchKey;
  /** How members name users. Default `userName` (case-insensitive). */
  memberKey?: MemberKey;
  /** Which provider groups this sync manages. Default: all. */
  scope?: GroupScope;
  /** displayNames or ids never touched. */
  protectedGroups?: string[];
  /** Groups gone from the source: `empty` (remove their memberships; default) or `delete`. */
  deprovision?: 'empty' | 'delete';
  /** Members per PATCH request. Default 1000. */
  memberSliceSize?: number;
  /** Groups per activity. Default 50. */
  groupsPerActivity?: number;
  /** Current memberships from the users' `groups` (auto when the provider fills it) or one read per group. */
  membershipView?: MembershipView;
}

export type SyncGroupsOutcome = SyncRunOutcome | 'unsupported';

export interface SyncGroupsResult {
  tenant: string;
  outcome: SyncGroupsOutcome;
  plan?: Omit<GroupPlanSummary, 'slices'>;
  applied: Omit<GroupTally, 'failed' | 'failures' | 'requests' | 'journal'>;
  failed: number;
  failures: GroupFailure[];
  requests: number;
  /** The journals of the applied slices (what `cxone-scim undo` reads): one per slice that changed something. */
  journals?: ClaimRef[];
  threshold?: { exceeded: boolean; reason?: string; groups: number; memberships: number };
  deletionDecision?: DeletionDecision;
  note?: string;
}

export type SyncGroupsProgress = SyncJobProgress;

export const syncGroupsProgressQuery = defineQuery<SyncGroupsProgress>('progress');

const { invalid } = syncInputChecks;

function checkInput(input: SyncGroupsInput): void {
  if (!input.groupsColumn && !input.groupsFile && !input.groups)
    throw invalid('give the groups: groupsColumn (a column of the user CSV), groupsFile, and/or groups (inline)');
  if (input.matchKey !== undefined && input.matchKey !== 'displayName' && input.matchKey !== 'externalId')
    throw invalid(`matchKey must be displayName or externalId, got ${String(input.matchKey)}`);
  if (input.memberKey !== undefined && input.memberKey !== 'userName' && input.memberKey !== 'externalId')
    throw invalid(`memberKey must be userName or externalId, got ${String(input.memberKey)}`);
  if (input.deprovision !== undefined && input.deprovision !== 'empty' && input.deprovision !== 'delete')
    throw invalid(`deprovision must be empty or delete, got ${String(input.deprovision)}`);
  if (input.membershipView !== undefined && !['auto', 'userGroups', 'groupMembers'].includes(input.membershipView))
    throw invalid(`membershipView must be auto, userGroups or groupMembers, got ${String(input.membershipView)}`);
}

/**
 * Group reconciliation: the source's groups and memberships are the truth for the groups this
 * sync manages. discovery ─▶ planGroupSync (plan stored in the claim store, one object per apply
 * slice; its SHA-256 and the slices' references in history) ─▶ dry run, or creates / renames /
 * member adds in slices ─▶ removals (above the threshold: approveDeletions)
 * ─▶ each group re-read once after its changes: what the provider did not apply is a failure.
 */
export async function syncGroups(input: SyncGroupsInput): Promise<SyncGroupsResult> {
  const { groups, ...request } = input;
  return runSyncJob(input, {
    request: { ...request, ...(groups ? { groups: `${groups.length} inline groups` } : {}) },
    progressQuery: syncGroupsProgressQuery,
    progress: { phase: 'planning', failed: 0 } as SyncGroupsProgress,
    check: checkInput,
    run: (run) => syncGroupsRun(input, run),
  });
}

async function syncGroupsRun(
  input: SyncGroupsInput,
  run: SyncRun<SyncGroupsResult, SyncGroupsProgress>,
): Promise<SyncGroupsResult> {
  const { report, progress, settings } = run;
  const { maxReported } = settings;
  const memberSliceSize = syncInputChecks.positiveInteger(input.memberSliceSize, 'memberSliceSize', 1000);
  const perActivity = syncInputChecks.positiveInteger(input.groupsPerActivity, 'groupsPerActivity', 50);
  const applied: SyncGroupsResult['applied'] = {
    groups: 0,
    created: 0,
    renamed: 0,
    deleted: 0,
    membersAdded: 0,
    membersRemoved: 0,
  };
  const result: SyncGroupsResult = {
    tenant: input.tenant,
    outcome: 'succeeded',
    applied,
    failed: 0,
    failures: [],
    requests: 0,
  };
  const spc = await report.step(
    'discover ServiceProviderConfig',
    () => discoverServiceProviderConfig.executeWithOptions(withSummary('GET /ServiceProviderConfig'), [input.tenant]),
    (d) => ({ httpStatus: d.httpStatus, payloadSha256: d.payloadSha256 }),
  );
  const types = await report.step(
    'discover ResourceTypes',
    () => discoverResourceTypes.executeWithOptions(withSummary('GET /ResourceTypes'), [input.tenant]),
    (d) => ({ httpStatus: d.httpStatus }),
  );
  result.requests += 2;
  const groupsEndpoint = resourceTypeEndpoint(types.body, 'Group');
  if (!groupsEndpoint) {
    report.skip('sync groups', 'the provider lists no Group resource in /ResourceTypes');
    return {
      ...result,
      outcome: 'unsupported',
      note: 'skipped: the provider lists no Group resource type in /ResourceTypes (CXone documents no SCIM groups)',
    };
  }
  const usersEndpoint = resourceTypeEndpoint(types.body, 'User') ?? '/Users';
  const capabilities = spc.body as { patch?: { supported?: unknown }; filter?: { maxResults?: unknown } };
  const maxResults = Number(capabilities.filter?.maxResults);
  const pageSize = Math.min(settings.pageSize, Number.isInteger(maxResults) && maxResults > 0 ? maxResults : Infinity);
  const source: GroupSourceSpec = {
    ...(input.groupsColumn ? { groupsColumn: input.groupsColumn } : {}),
    ...(input.groupsFile ? { groupsFile: input.groupsFile } : {}),
    ...(input.groups ? { groups: input.groups } : {}),
  };
  const rules = {
    matchKey: input.matchKey ?? 'displayName',
    memberKey: input.memberKey ?? 'userName',
    scope: input.scope ?? {},
    protectedGroups: input.protectedGroups ?? [],
    deprovision: input.deprovision ?? 'empty',
  } as const;
  const plan = await report.step(
    'plan: read groups, list provider users and groups, diff memberships',
    () =>
      planGroupSync.executeWithOptions(
        withSummary('plan: read the groups, list provider users and groups, diff memberships'),
        [
          {
            tenant: input.tenant,
            source,
            rules,
            usersEndpoint,
            groupsEndpoint,
            pageSize,
            maxReported,
            membershipView: input.membershipView ?? 'auto',
            groupsPerActivity: perActivity,
          },
        ],
      ),
    (p) => ({
      payloadSha256: p.planHash,
      detail: `${p.sourceGroups} source groups (${p.problemCount} problems), ${p.providerGroups} provider groups, ${p.providerUsers} users; ${p.counts.create} create, ${p.counts.update} update, ${p.counts.empty} empty, ${p.counts.delete} delete; ${p.adds} member adds, ${p.removals.memberships} member removals`,
    }),
  );
  const [current, planFile] = legacyPlanFile(plan);
  const { slices: _slices, ...shown } = current;
  result.plan = shown;
  result.requests += plan.requests;
  progress.planHash = plan.planHash;
  report.details.set(
    'plan',
    `plan ${plan.planHash}: ${plan.counts.create} create, ${plan.counts.update} update, ${plan.counts.empty} empty, ${plan.counts.delete} delete; ${plan.adds} member adds, ${plan.removals.memberships} member removals`,
  );
  if (settings.dryRun) return run.dryRun(result, plan.planHash);

  const { applyGroupChanges } = run.applyActivities({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '1 minute',
  });
  const quarantined = () =>
    shouldQuarantine(applied.membersAdded + applied.membersRemoved + result.failed, result.failed, settings.quarantine);
  const apply = async (phase: 'writes' | 'removals', total: number) => {
    for (let from = 0, index = 0; from < total && !quarantined(); from += perActivity, index++) {
      const part =
        planFile === undefined
          ? { slice: plan.slices[phase][index] }
          : { planFile, to: Math.min(total, from + perActivity) };
      const tally = await applyGroupChanges.executeWithOptions(
        withSummary(
          `apply ${phase}: groups ${from + 1}–${Math.min(total, from + perActivity)} of ${total}, plan ${plan.planHash.slice(0, 12)}`,
        ),
        [
          {
            tenant: input.tenant,
            planHash: plan.planHash,
            phase,
            ...part,
            from,
            groupsEndpoint,
            patchSupported: capabilities.patch?.supported === true,
            memberSliceSize,
            maxReported,
          },
        ],
      );
      for (const key of Object.keys(applied) as Array<keyof typeof applied>) applied[key] += tally[key];
      if (tally.journal) result.journals = [...(result.journals ?? []), tally.journal];
      result.failed += tally.failed;
      result.requests += tally.requests;
      result.failures.push(...tally.failures.slice(0, Math.max(0, maxReported - result.failures.length)));
      progress.failed = result.failed;
    }
  };
  progress.phase = 'writing';
  const writes = plan.writeGroups;
  if (writes > 0)
    await report.step(
      `apply ${writes} group creates and updates`,
      () => apply('writes', writes),
      () => ({ detail: `${applied.created} created, ${applied.membersAdded} members added` }),
    );
  if (quarantined()) return run.quarantined(result);

  const removalGroups = plan.removalGroups;
  if (removalGroups === 0) return run.finish(result, plan.problemCount);
  const byGroups = exceedsThreshold(plan.removals.groups, plan.managedGroups, settings.deletionThreshold);
  const byMembers = exceedsThreshold(plan.removals.memberships, plan.managedMemberships, settings.deletionThreshold);
  const check = byGroups.exceeded ? byGroups : byMembers;
  result.threshold = {
    exceeded: check.exceeded,
    ...(check.reason ? { reason: check.reason } : {}),
    groups: plan.removals.groups,
    memberships: plan.removals.memberships,
  };
  const refused = await run.approveRemovals(result, check, plan.planHash, {
    removals: `${plan.removals.groups} group removals and ${plan.removals.memberships} membership removals`,
  });
  if (refused) return refused;
  progress.phase = 'removing';
  await report.step(
    `apply removals in ${removalGroups} groups`,
    () => apply('removals', removalGroups),
    () => ({ detail: `${applied.membersRemoved} members removed, ${applied.deleted} groups deleted` }),
  );
  return quarantined() ? run.quarantined(result) : run.finish(result, plan.problemCount);
}
