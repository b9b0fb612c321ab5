import { ApplicationFailure, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { Activities } from '../../activities';
import type {
  AssignmentFailure,
  AssignmentKind,
  AssignmentPhase,
  AssignmentPlanSummary,
  AssignmentSourceSpec,
} from '../../activities/assignments';
import type { PlanOut } from '../../activities/sync-review';
import { FailureType } from '../../core/failures';
import type { AssignmentAction } from '../../scim/assignments';
import {
  DEFAULT_DELETION_THRESHOLD,
  DEFAULT_QUARANTINE,
  exceedsThreshold,
  shouldQuarantine,
} from '../../scim/reconcile';
import { providerCallFor } from '../activity-options';
import { ReportRecorder, reportTotals } from '../report';
import { DeletionApproval, type DeletionDecision } from '../sync/deletion-approval';
import type { SyncRunOptions } from '../sync/run-options';

export interface SyncAssignmentsInput extends SyncRunOptions {
  tenant: string;
  /** The employees' assignments: a CSV / JSON / NDJSON file the worker reads, and its columns. */
  source: AssignmentSourceSpec;
  /** What this run manages. Default both. */
  manage?: AssignmentKind[];
  /** The skills this run manages (added, changed, removed). Default: every skill named in the source. */
  skills?: string[];
  /** Changes per apply activity. Default 500. */
  changesPerActivity?: number;
  /** Agents per skill upsert request. Default 100. */
  agentsPerRequest?: number;
  /** Also write the whole plan (CSV or JSON) to this path on the worker's file system, for review. */
  planOut?: PlanOut;
}

export type SyncAssignmentsOutcome =
  | 'succeeded'
  | 'partial'
  | 'dry-run'
  | 'rejected'
  | 'approval-timeout'
  | 'unsupported'
  | 'quarantined';

export type AssignmentPlanShown = Omit<Extract<AssignmentPlanSummary, { planHash: string }>, 'slices'>;

export interface SyncAssignmentsResult {
  tenant: string;
  outcome: SyncAssignmentsOutcome;
  plan?: AssignmentPlanShown;
  /** Changes made, per action. */
  applied: Record<AssignmentAction, number>;
  /** Removals found already made (the agent no longer held the skill). */
  alreadyApplied: number;
  failed: number;
  failures: AssignmentFailure[];
  requests: number;
  threshold?: { exceeded: boolean; reason?: string; removals: number; managed: number };
  deletionDecision?: DeletionDecision;
  note?: string;
}

export interface SyncAssignmentsProgress {
  phase: 'planning' | 'writing' | 'awaitingApproval' | 'removing' | 'completed' | 'failed';
  planHash?: string;
  planned?: AssignmentPlanShown['counts'];
  applied: Record<AssignmentAction, number>;
  failed: number;
  awaitingApproval?: { removals: number; reason?: string; planHash: string };
}

export const syncAssignmentsProgressQuery = defineQuery<SyncAssignmentsProgress>('progress');

const noChanges = (): Record<AssignmentAction, number> => ({
  'set-team': 0,
  'add-skill': 0,
  'set-proficiency': 0,
  'remove-skill': 0,
});

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, FailureType.InvalidSyncInput);

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw invalid(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

// The SyncRunOptions checks are syncUsers' own; they move to the shared sync-run validation once it exists.
function checkInput(input: SyncAssignmentsInput): void {
  if (!input.tenant) throw invalid('tenant is required');
  if (!input.source?.path) throw invalid('source.path is required (the assignments file the worker reads)');
  for (const column of ['keyColumn', 'skillsColumn', 'teamColumn'] as const) {
    const value = input.source[column];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === ''))
      throw invalid(`source.${column} must be a column name, got ${JSON.stringify(value)}`);
  }
  if (input.source.format !== undefined && !['csv', 'json', 'ndjson'].includes(input.source.format))
    throw invalid(`source.format must be csv, json or ndjson, got ${String(input.source.format)}`);
  const manage = input.manage ?? ['skills', 'team'];
  if (!Array.isArray(manage) || manage.length === 0 || manage.some((m) => m !== 'skills' && m !== 'team'))
    throw invalid(`manage must list skills and/or team, got ${JSON.stringify(input.manage)}`);
  if (input.skills !== undefined && (!Array.isArray(input.skills) || input.skills.some((s) => typeof s !== 'string')))
    throw invalid('skills must be a list of skill names');
  if (input.planOut !== undefined && !input.planOut.path) throw invalid('planOut.path is required');
  const share = input.deletionThreshold?.maxShare;
  if (share !== undefined && !(share >= 0 && share <= 1))
    throw invalid(`deletionThreshold.maxShare must be between 0 and 1, got ${String(share)}`);
  for (const name of ['approvalTimeout', 'runDeadline'] as const) {
    const value = input[name];
    if (value === undefined) continue;
    let ms = NaN;
    try {
      ms = msToNumber(value as Duration);
    } catch {
      // reported below
    }
    if (!(ms > 0))
      throw invalid(`${name} must be a duration such as "24 hours" or "90 minutes", got ${JSON.stringify(value)}`);
  }
  const rate = input.quarantine?.maxFailureRate;
  if (rate !== undefined && !(rate >= 0 && rate <= 1))
    throw invalid(`quarantine.maxFailureRate must be between 0 and 1, got ${String(rate)}`);
}

/**
 * Skills and team assignments of CXone employees, reconciled like syncUsers:
 *
 *   planAssignmentSync (activity: read the source's key, skills and team columns; list the
 *     tenant's skills and the agents of the managed ones; look each employee up through SCIM for
 *     its agentId and team; search the teams named; plan only the differences; the plan is stored
 *     in the claim store, history holds its SHA-256 and the slices' references)
 *     ├─ no skills or teams API (404/405/501) ─▶ `unsupported`, with a note
 *     ├─ dryRun ─▶ report the plan, write nothing
 *     ─▶ team changes, skill adds and proficiency changes in slices (applyAssignmentChanges)
 *          └─ failure rate over the quarantine rule ─▶ stop writing: `quarantined`
 *     ─▶ skill removals above the deletion threshold ─▶ `awaitingApproval` until the update
 *          approveDeletions({planHash}) (hash must match), rejectDeletions, or the approval timeout
 *     ─▶ skill removals in slices ─▶ report
 */
export async function syncAssignments(input: SyncAssignmentsInput): Promise<SyncAssignmentsResult> {
  const report = new ReportRecorder<SyncAssignmentsInput, SyncAssignmentsResult>(input.tenant, input);
  const progress: SyncAssignmentsProgress = { phase: 'planning', applied: noChanges(), failed: 0 };
  setHandler(syncAssignmentsProgressQuery, () => progress);
  const approval = new DeletionApproval();
  report.useTotals(() => {
    const succeeded = Object.values(progress.applied).reduce((n, c) => n + c, 0);
    return reportTotals(succeeded, progress.failed, []);
  });
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
  input: SyncAssignmentsInput,
  report: ReportRecorder<SyncAssignmentsInput, SyncAssignmentsResult>,
  progress: SyncAssignmentsProgress,
  approval: DeletionApproval,
): Promise<SyncAssignmentsResult> {
  const maxReported = positive(input.maxReported, 'maxReported', 100);
  const perActivity = positive(input.changesPerActivity, 'changesPerActivity', 500);
  const agentsPerRequest = positive(input.agentsPerRequest, 'agentsPerRequest', 100);
  // Transient failures (429, 5xx, outages) are retried until the run's deadline, never by a count:
  // each request within an activity attempt, and each activity by Temporal.
  const retryUntil = Date.now() + msToNumber((input.runDeadline ?? '6 hours') as Duration);
  const { planAssignmentSync, applyAssignmentChanges } = proxyActivities<Activities>(
    providerCallFor((input.runDeadline ?? '6 hours') as Duration, {
      startToCloseTimeout: '30 minutes',
      heartbeatTimeout: '2 minutes',
    }),
  );
  const result: SyncAssignmentsResult = {
    tenant: input.tenant,
    outcome: 'succeeded',
    applied: progress.applied,
    alreadyApplied: 0,
    failed: 0,
    failures: [],
    requests: 0,
  };
  const summary = await report.step(
    'plan: read the source, the managed skills and their agents, the employees and the teams',
    () =>
      planAssignmentSync({
        tenant: input.tenant,
        source: input.source,
        manage: input.manage ?? ['skills', 'team'],
        ...(input.skills ? { skills: input.skills } : {}),
        maxReported,
        changesPerActivity: perActivity,
        ...(input.planOut ? { planOut: input.planOut } : {}),
        retryUntil,
      }),
    (p) =>
      p.unsupported !== undefined
        ? { detail: p.unsupported }
        : {
            payloadSha256: p.planHash,
            detail: `${p.records} records (${p.problemCount} errors), ${p.managedSkills.length} managed skills with ${p.managedMemberships} agents: ${p.counts.teamChanges} team changes, ${p.counts.skillAdds} skill adds, ${p.counts.proficiencyChanges} proficiency changes, ${p.counts.skillRemovals} skill removals, ${p.counts.unchanged} unchanged`,
          },
  );
  result.requests += summary.requests;
  if (summary.unsupported !== undefined) {
    report.skip('apply plan', summary.unsupported);
    return { ...result, outcome: 'unsupported', note: summary.unsupported };
  }
  const { slices, ...shown } = summary;
  result.plan = shown;
  progress.planHash = summary.planHash;
  progress.planned = summary.counts;
  if (summary.removalsHeld) result.note = summary.removalsHeld;
  if (summary.records - summary.problemCount === 0 && summary.removals > 0)
    throw ApplicationFailure.nonRetryable(
      `the source has no valid record (${summary.records} records, ${summary.problemCount} errors): refusing to remove ${summary.removals} skill assignments`,
      FailureType.EmptySource,
    );
  if (input.dryRun) {
    report.skip('apply plan', `dry run: plan ${summary.planHash}`);
    return { ...result, outcome: 'dry-run' };
  }

  const quarantine = { ...DEFAULT_QUARANTINE, ...input.quarantine };
  const written = () => Object.values(result.applied).reduce((n, c) => n + c, 0);
  const quarantined = () => shouldQuarantine(written() + result.failed, result.failed, quarantine);
  const apply = async (phase: AssignmentPhase) => {
    for (let index = 0; index < slices[phase].length && !quarantined(); index++) {
      const tally = await applyAssignmentChanges({
        tenant: input.tenant,
        planHash: summary.planHash,
        phase,
        slice: slices[phase][index],
        from: index * perActivity,
        maxReported,
        agentsPerRequest,
        retryUntil,
      });
      for (const action of Object.keys(tally.done) as AssignmentAction[]) result.applied[action] += tally.done[action];
      result.alreadyApplied += tally.alreadyApplied;
      result.failed += tally.failed;
      result.requests += tally.requests;
      result.failures.push(...tally.failures.slice(0, Math.max(0, maxReported - result.failures.length)));
      progress.failed = result.failed;
    }
  };
  progress.phase = 'writing';
  if (summary.writes > 0)
    await report.step(
      `apply ${summary.writes} team changes, skill adds and proficiency changes`,
      () => apply('writes'),
      () => ({ detail: describe(result.applied) }),
    );
  if (quarantined()) return stopped(result, report);

  const removals = summary.removals;
  if (removals === 0) return finish(result);
  const threshold = { ...DEFAULT_DELETION_THRESHOLD, ...input.deletionThreshold };
  const check = exceedsThreshold(removals, summary.managedMemberships, threshold);
  result.threshold = { ...check, removals, managed: summary.managedMemberships };
  if (check.exceeded) {
    progress.phase = 'awaitingApproval';
    progress.awaitingApproval = {
      removals,
      ...(check.reason ? { reason: check.reason } : {}),
      planHash: summary.planHash,
    };
    const timeout = (input.approvalTimeout ?? '24 hours') as Duration;
    result.deletionDecision = await report.step(
      `await approval of ${removals} skill removals (${check.reason})`,
      () => approval.decide(summary.planHash, timeout),
      (d) => ({ detail: d.decision === 'timed-out' ? `no decision within ${timeout}` : d.decision }),
    );
    progress.awaitingApproval = undefined;
    if (result.deletionDecision.decision !== 'approved') {
      report.skip('apply skill removals', `not approved: ${result.deletionDecision.decision}`);
      return {
        ...finish(result),
        outcome: result.deletionDecision.decision === 'rejected' ? 'rejected' : 'approval-timeout',
      };
    }
  }
  progress.phase = 'removing';
  await report.step(
    `apply ${removals} skill removals`,
    () => apply('removals'),
    () => ({ detail: describe(result.applied) }),
  );
  return quarantined() ? stopped(result, report) : finish(result);
}

function describe(applied: Record<AssignmentAction, number>): string {
  return (
    (Object.entries(applied) as Array<[AssignmentAction, number]>)
      .filter(([, n]) => n > 0)
      .map(([action, n]) => `${n} ${action}`)
      .join(', ') || 'nothing'
  );
}

function stopped(
  result: SyncAssignmentsResult,
  report: ReportRecorder<SyncAssignmentsInput, SyncAssignmentsResult>,
): SyncAssignmentsResult {
  report.skip('remaining changes', `quarantined: ${result.failed} failures`);
  return { ...result, outcome: 'quarantined', note: `stopped writing: ${result.failed} failures (see failures)` };
}

/** Partial when a write failed or a record was in error (nothing was written for it). */
function finish(result: SyncAssignmentsResult): SyncAssignmentsResult {
  return { ...result, outcome: result.failed > 0 || (result.plan?.problemCount ?? 0) > 0 ? 'partial' : 'succeeded' };
}
