import { ApplicationFailure, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../../activities';
import type {
  GroupSourceSpec,
  InlineGroup,
  GroupsColumnSpec,
  GroupsFileSpec,
} from '../../activities/sources/group-source';
import type { GroupFailure, GroupPlanSummary, GroupTally, MembershipView } from '../../activities/groups';
import { FailureType } from '../../core/failures';
import type { GroupMatchKey, GroupScope, MemberKey } from '../../scim/group-reconcile';
import {
  DEFAULT_DELETION_THRESHOLD,
  DEFAULT_QUARANTINE,
  exceedsThreshold,
  shouldQuarantine,
} from '../../scim/reconcile';
import { resourceTypeEndpoint } from '../../scim/schema-model';
import { PROVIDER_CALL, providerCallFor } from '../activity-options';
import type { SyncRunOptions } from './run-options';
import { ReportRecorder } from '../report';
import { DeletionApproval, type DeletionDecision } from './deletion-approval';

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

export type SyncGroupsOutcome =
  | 'succeeded'
  | 'partial'
  | 'dry-run'
  | 'rejected'
  | 'approval-timeout'
  | 'unsupported'
  | 'quarantined';

export interface SyncGroupsResult {
  tenant: string;
  outcome: SyncGroupsOutcome;
  plan?: Omit<GroupPlanSummary, 'slices'>;
  applied: Omit<GroupTally, 'failed' | 'failures' | 'requests'>;
  failed: number;
  failures: GroupFailure[];
  requests: number;
  threshold?: { exceeded: boolean; reason?: string; groups: number; memberships: number };
  deletionDecision?: DeletionDecision;
  note?: string;
}

export interface SyncGroupsProgress {
  phase: 'planning' | 'writing' | 'awaitingApproval' | 'removing' | 'completed' | 'failed';
  planHash?: string;
  failed: number;
  awaitingApproval?: { reason?: string; planHash: string };
}

export const syncGroupsProgressQuery = defineQuery<SyncGroupsProgress>('progress');

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, FailureType.InvalidSyncInput);

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw invalid(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function checkInput(input: SyncGroupsInput): void {
  if (!input.tenant) throw invalid('tenant is required');
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
  const report = new ReportRecorder<Record<string, unknown>, SyncGroupsResult>(input.tenant, {
    ...request,
    ...(groups ? { groups: `${groups.length} inline groups` } : {}),
  });
  const progress: SyncGroupsProgress = { phase: 'planning', failed: 0 };
  setHandler(syncGroupsProgressQuery, () => progress);
  const approval = new DeletionApproval();
  try {
    checkInput(input);
    const result = await run(input, report, progress, approval);
    progress.phase = 'completed';
    report.succeed(result, result.outcome);
    return result;
  } catch (err) {
    progress.phase = 'failed';
    report.fail(err);
    throw err;
  }
}

async function run(
  input: SyncGroupsInput,
  report: ReportRecorder<Record<string, unknown>, SyncGroupsResult>,
  progress: SyncGroupsProgress,
  approval: DeletionApproval,
): Promise<SyncGroupsResult> {
  const maxReported = positive(input.maxReported, 'maxReported', 100);
  const memberSliceSize = positive(input.memberSliceSize, 'memberSliceSize', 1000);
  const perActivity = positive(input.groupsPerActivity, 'groupsPerActivity', 50);
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
    () => discoverServiceProviderConfig(input.tenant),
    (d) => ({ httpStatus: d.httpStatus, payloadSha256: d.payloadSha256 }),
  );
  const types = await report.step(
    'discover ResourceTypes',
    () => discoverResourceTypes(input.tenant),
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
  const pageSize = Math.min(
    positive(input.pageSize, 'pageSize', 500),
    Number.isInteger(maxResults) && maxResults > 0 ? maxResults : Infinity,
  );
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
      planGroupSync({
        tenant: input.tenant,
        source,
        rules,
        usersEndpoint,
        groupsEndpoint,
        pageSize,
        maxReported,
        membershipView: input.membershipView ?? 'auto',
        groupsPerActivity: perActivity,
      }),
    (p) => ({
      payloadSha256: p.planHash,
      detail: `${p.sourceGroups} source groups (${p.problemCount} problems), ${p.providerGroups} provider groups, ${p.providerUsers} users; ${p.counts.create} create, ${p.counts.update} update, ${p.counts.empty} empty, ${p.counts.delete} delete; ${p.adds} member adds, ${p.removals.memberships} member removals`,
    }),
  );
  const { slices: _slices, planFile: _file, ...shown } = plan as GroupPlanSummary & { planFile?: string };
  // A plan made by a build from before the claim store has no slices, only a file on its worker.
  const stored = plan.slices as GroupPlanSummary['slices'] | undefined;
  result.plan = shown;
  result.requests += plan.requests;
  progress.planHash = plan.planHash;
  if (input.dryRun) {
    report.skip('apply plan', `dry run: plan ${plan.planHash}`);
    return { ...result, outcome: 'dry-run' };
  }

  // Transient failures (429, 5xx, outages) are retried until the run's deadline, never by a count.
  const { applyGroupChanges } = proxyActivities<Activities>(
    providerCallFor(input.runDeadline, { startToCloseTimeout: '30 minutes', heartbeatTimeout: '1 minute' }),
  );
  const quarantine = { ...DEFAULT_QUARANTINE, ...input.quarantine };
  const quarantined = () =>
    shouldQuarantine(applied.membersAdded + applied.membersRemoved + result.failed, result.failed, quarantine);
  const apply = async (phase: 'writes' | 'removals', total: number) => {
    for (let from = 0, index = 0; from < total && !quarantined(); from += perActivity, index++) {
      const part = stored
        ? { slice: stored[phase][index] }
        : { planFile: (plan as { planFile?: string }).planFile, to: Math.min(total, from + perActivity) };
      const tally = await applyGroupChanges({
        tenant: input.tenant,
        planHash: plan.planHash,
        phase,
        ...part,
        from,
        groupsEndpoint,
        patchSupported: capabilities.patch?.supported === true,
        memberSliceSize,
        maxReported,
      });
      for (const key of Object.keys(applied) as Array<keyof typeof applied>) applied[key] += tally[key];
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
  if (quarantined()) return stopped(result, report);

  const removalGroups = plan.removalGroups;
  if (removalGroups === 0) return finish(result);
  const threshold = { ...DEFAULT_DELETION_THRESHOLD, ...input.deletionThreshold };
  const byGroups = exceedsThreshold(plan.removals.groups, plan.managedGroups, threshold);
  const byMembers = exceedsThreshold(plan.removals.memberships, plan.managedMemberships, threshold);
  const check = byGroups.exceeded ? byGroups : byMembers;
  result.threshold = {
    exceeded: check.exceeded,
    ...(check.reason ? { reason: check.reason } : {}),
    groups: plan.removals.groups,
    memberships: plan.removals.memberships,
  };
  if (check.exceeded) {
    progress.phase = 'awaitingApproval';
    progress.awaitingApproval = { ...(check.reason ? { reason: check.reason } : {}), planHash: plan.planHash };
    const timeout = (input.approvalTimeout ?? '24 hours') as Duration;
    result.deletionDecision = await report.step(
      `await approval of group removals (${check.reason})`,
      () => approval.decide(plan.planHash, timeout),
      (d) => ({ detail: d.decision === 'timed-out' ? `no decision within ${timeout}` : d.decision }),
    );
    progress.awaitingApproval = undefined;
    if (result.deletionDecision.decision !== 'approved') {
      report.skip('apply removals', `not approved: ${result.deletionDecision.decision}`);
      return {
        ...finish(result),
        outcome: result.deletionDecision.decision === 'rejected' ? 'rejected' : 'approval-timeout',
      };
    }
  }
  progress.phase = 'removing';
  await report.step(
    `apply removals in ${removalGroups} groups`,
    () => apply('removals', removalGroups),
    () => ({ detail: `${applied.membersRemoved} members removed, ${applied.deleted} groups deleted` }),
  );
  return quarantined() ? stopped(result, report) : finish(result);
}

function stopped(
  result: SyncGroupsResult,
  report: ReportRecorder<Record<string, unknown>, SyncGroupsResult>,
): SyncGroupsResult {
  report.skip('remaining changes', `quarantined: ${result.failed} failures`);
  return { ...result, outcome: 'quarantined', note: `stopped writing: ${result.failed} failures (see failures)` };
}

function finish(result: SyncGroupsResult): SyncGroupsResult {
  return { ...result, outcome: result.failed > 0 || (result.plan?.problemCount ?? 0) > 0 ? 'partial' : 'succeeded' };
}
